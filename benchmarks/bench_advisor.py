"""Benchmark: does the index advisor find the missing indexes, and only them?

Run: .venv/bin/python benchmarks/bench_advisor.py [--orders 200000] [--calls 20] [--repeat 3]
     [--quick]

1. A throw-away embedded PostgreSQL 18 (or ``--dsn`` with ``--allow-writes``)
   gets a shop schema with skewed data: a power-law of orders per customer,
   20 regions, rare statuses, 1% unshipped orders, rare jsonb promotions.
2. A workload of six statements, each missing one index of a different kind:
   two columns + ORDER BY, three columns + ORDER BY, a partial index
   (``shipped_at IS NULL``), an expression index (``lower(email)``), a join
   key (``order_items.order_id``) and a jsonb containment lookup (GIN).
3. It runs ``--repeat`` passes of ``--calls`` executions of each statement with
   skewed parameters and measures them; pg_stat_statements records them.
4. The advisor reads pg_stat_statements (real indexes built in a rolled-back
   transaction: the embedded server has no HypoPG); the result is checked
   against the planted indexes: every one found, nothing else suggested. The
   estimate method (read-only, no HypoPG) is run too, for comparison.
5. The suggestions are applied (CREATE INDEX CONCURRENTLY), the tables
   ANALYZEd, and the workload measured again. Target: 10x faster.

Everything goes to benchmarks/results/advisor.json (benchmarks/README.md conventions).
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from _common import machine, quick_results, write_result

from pgtune_hx.advise import workload as wl
from pgtune_hx.advise.advisor import Methods, advise, methods_for
from pgtune_hx.advise.apply import apply
from pgtune_hx.advise.catalog import Catalog
from pgtune_hx.advise.model import Advice, Suggestion
from pgtune_hx.db import Guard, connect, display_dsn
from pgtune_hx.embedded import EmbeddedServer

TARGET_SPEEDUP = 10.0
DBNAME = "bench_advisor"

SCHEMA = [
    "create table customers (id int primary key, email text not null, region text not null,"
    " created_at timestamptz not null)",
    "create table orders (id int primary key, customer_id int not null, region_id int not null,"
    " status text not null, created_at timestamptz not null, shipped_at timestamptz,"
    " total numeric(10,2) not null, data jsonb not null)",
    "create table order_items (id bigint primary key, order_id int not null, sku text not null,"
    " qty int not null)",
]


def data_sql(orders: int, customers: int, buyers: int) -> list[tuple[str, tuple[Any, ...]]]:
    return [
        ("select setseed(0.42)", ()),
        (
            "insert into customers select g, 'Customer' || g || '@Example.com',"
            " (array['eu','eu','eu','us','us','apac','latam','mea'])[1 + g %% 8],"
            " '2020-01-01'::timestamptz + g * interval '1 hour'"
            " from generate_series(1, %s) g",
            (customers,),
        ),
        (
            # customer_id: a power law over the active buyers (a few place most orders,
            # 100 orders each on average at the defaults); status: 93%
            # done, 6.5% pending, 0.5% failed; the newest 1% not shipped yet; promotions rare
            "insert into orders select g,"
            " 1 + floor(%s * power(random(), 3))::int,"  # active buyers
            " 1 + (g * 7) %% 20,"
            " case when random() < 0.005 then 'failed' when random() < 0.07 then 'pending'"
            "      else 'done' end,"
            " '2023-01-01'::timestamptz + g * interval '3 minutes',"
            " case when g > %s then null"
            "      else '2023-01-03'::timestamptz + g * interval '3 minutes' end,"
            " round((random() * 500)::numeric, 2),"
            " jsonb_build_object('channel', (array['web','app','store'])[1 + g %% 3],"
            "   'promo', case when random() < 0.002 then 'SPRING24'"
            "                 when random() < 0.05 then 'WELCOME' end,"
            "   'items', 1 + g %% 4)"
            " from generate_series(1, %s) g",
            (buyers, int(orders * 0.99), orders),
        ),
        (
            "insert into order_items select g, 1 + (g - 1) / 2, 'SKU-' || (g * 13) %% 5000,"
            " 1 + g %% 5 from generate_series(1, %s) g",
            (orders * 2,),
        ),
    ]


@dataclass(frozen=True)
class Statement:
    name: str
    sql: str
    params: Callable[[random.Random], tuple[Any, ...]]
    planted: str  # the index it misses, as a description


def workload(orders: int, customers: int, buyers: int) -> list[Statement]:
    def skewed_customer(rng: random.Random) -> int:
        return 1 + int(buyers * rng.random() ** 3)

    return [
        Statement(
            "two columns + order by",
            "SELECT id, total, created_at FROM orders WHERE customer_id = %s"
            " ORDER BY created_at DESC LIMIT 20",
            lambda rng: (skewed_customer(rng),),
            "orders (customer_id, created_at)",
        ),
        Statement(
            "three columns + order by",
            "SELECT id, total, created_at FROM orders WHERE region_id = %s AND status = %s"
            " ORDER BY created_at DESC LIMIT 20",
            lambda rng: (rng.randint(1, 20), rng.choice(["pending", "failed"])),
            "orders (region_id, status, created_at)",
        ),
        Statement(
            "partial",
            "SELECT id, customer_id, created_at FROM orders WHERE shipped_at IS NULL"
            " ORDER BY created_at LIMIT 50",
            lambda rng: (),
            "orders (created_at) WHERE shipped_at IS NULL",
        ),
        Statement(
            "expression",
            "SELECT id, region FROM customers WHERE lower(email) = %s",
            lambda rng: (f"customer{rng.randint(1, customers)}@example.com",),
            "customers ((lower(email)))",
        ),
        Statement(
            "join key",
            "SELECT o.id, o.total, i.sku, i.qty FROM orders o"
            " JOIN order_items i ON i.order_id = o.id WHERE o.id = ANY(%s)",
            lambda rng: ([rng.randint(1, orders) for _ in range(5)],),
            "order_items (order_id)",
        ),
        Statement(
            "jsonb lookup",
            "SELECT id, total FROM orders WHERE data @> %s::jsonb",
            lambda rng: ('{"promo": "SPRING24"}',),
            "orders USING gin (data jsonb_path_ops)",
        ),
    ]


# what each planted index must look like: table, leading keys (any order within
# a set of equality columns), where, method
PLANTED: dict[str, dict[str, Any]] = {
    "two columns + order by": {"table": "orders", "keys": [{"customer_id"}, {"created_at"}]},
    "three columns + order by": {
        "table": "orders",
        "keys": [{"region_id", "status"}, {"region_id", "status"}, {"created_at"}],
    },
    "partial": {"table": "orders", "keys": [{"created_at"}], "where": "shipped_at IS NULL"},
    "expression": {"table": "customers", "keys": [{"lower(email)"}]},
    "join key": {"table": "order_items", "keys": [{"order_id"}]},
    "jsonb lookup": {"table": "orders", "keys": [{"data"}], "method": "gin"},
}


def matches(s: Suggestion, want: dict[str, Any]) -> bool:
    if s.index.table != want["table"] or s.index.method != want.get("method", "btree"):
        return False
    if s.index.where != want.get("where"):
        return False
    keys = [k.identity for k in s.index.keys]
    wanted = want["keys"]
    if len(keys) != len(wanted):
        return False
    return all(k in allowed for k, allowed in zip(keys, wanted, strict=True))


def check(advice: Advice) -> dict[str, Any]:
    found = {}
    useless = []
    for s in advice.suggestions:
        hit = [name for name, want in PLANTED.items() if matches(s, want)]
        if hit:
            found[hit[0]] = s.create_sql
        else:
            useless.append(s.create_sql)
    missing = [name for name in PLANTED if name not in found]
    return {
        "found": found,
        "missing": missing,
        "useless": useless,
        "all_found": not missing,
        "none_useless": not useless,
    }


def run_pass(dsn: str, statements: list[Statement], calls: int, seed: int) -> dict[str, float]:
    """Execute every statement ``calls`` times; milliseconds per statement."""
    rng = random.Random(seed)
    times: dict[str, float] = {}
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("set statement_timeout = '60s'")
        for st in statements:
            start = time.perf_counter()
            for _ in range(calls):
                conn.execute(st.sql.encode(), st.params(rng)).fetchall()
            times[st.name] = (time.perf_counter() - start) * 1000
    return times


def measure(dsn: str, statements: list[Statement], calls: int, repeat: int) -> dict[str, Any]:
    passes = [run_pass(dsn, statements, calls, seed=1000 + i) for i in range(repeat)]
    totals = [sum(p.values()) for p in passes]
    per_statement = {
        st.name: round(statistics.median(p[st.name] for p in passes) / calls, 3)
        for st in statements
    }
    return {
        "passes_total_ms": [round(t, 1) for t in totals],
        "median_total_ms": round(statistics.median(totals), 1),
        "per_statement_mean_ms": per_statement,
    }


def run_advisor(dsn: str, *, writes: bool) -> tuple[Advice, float]:
    guard = Guard(read_only=not writes, statement_timeout_ms=120_000, lock_timeout_ms=5_000)
    start = time.perf_counter()
    with connect(dsn, guard) as conn:
        catalog = Catalog(conn)
        load = wl.from_statements(conn, catalog)
        found = methods_for(conn, allow_writes=writes)
        methods = Methods(found.hypopg, writes, found.trigram, found.notes)
        advice = advise(conn, catalog, load, methods)
    return advice, time.perf_counter() - start


def describe(advice: Advice, seconds: float) -> dict[str, Any]:
    payload = advice.to_dict()
    payload["seconds"] = round(seconds, 2)
    return payload


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dsn", help="a server to use instead of a throw-away embedded one")
    parser.add_argument("--allow-writes", action="store_true", help="needed with --dsn")
    parser.add_argument("--orders", type=int, default=200_000)
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--buyers", type=int, default=2_000, help="customers who order")
    parser.add_argument("--calls", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="small data, one pass")
    args = parser.parse_args()
    if args.quick:
        quick_results()
        args.orders, args.buyers, args.calls, args.repeat = 100_000, 1_000, 3, 1
    if args.dsn and not args.allow_writes:
        parser.error(f"the benchmark creates a database on {display_dsn(args.dsn)}: --allow-writes")

    server = None
    base = None
    if args.dsn:
        admin_dsn = args.dsn
    else:
        base = Path(tempfile.mkdtemp(prefix="pgtune_hx-bench-advisor-"))
        base.chmod(0o755)
        server = EmbeddedServer(base)
        server.start()
        admin_dsn = server.dsn()
    try:
        payload = bench(admin_dsn, args)
    finally:
        if server is not None:
            server.stop(mode="fast")
        if base is not None:
            shutil.rmtree(base, ignore_errors=True)
    planted = payload["planted_check"]
    summary = {
        "speedup": payload["speedup"],
        "planted_found": len(planted["found"]),
        "useless": len(planted["useless"]),
        "before_ms": payload["before"]["median_total_ms"],
        "after_ms": payload["after"]["median_total_ms"],
        "advisor_s": payload["advisor"]["seconds"],
    }
    target = {
        "speedup": {"min": TARGET_SPEEDUP},
        "planted_found": {"min": len(PLANTED)},
        "useless": {"max": 0},
    }
    path = write_result("advisor", summary, target=target, **payload)
    print(f"{path}: {summary}")  # targets are checked by run_all.py (--strict)


def bench(admin_dsn: str, args: argparse.Namespace) -> dict[str, Any]:
    load_before = os.getloadavg()
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(f"drop database if exists {DBNAME} with (force)")
        conn.execute(f"create database {DBNAME}")
        version = conn.execute("show server_version").fetchone()
    params = psycopg.conninfo.conninfo_to_dict(admin_dsn)
    params["dbname"] = DBNAME
    dsn = psycopg.conninfo.make_conninfo("", **params)

    start = time.perf_counter()
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("create extension if not exists pg_stat_statements")
        for statement in SCHEMA:
            conn.execute(statement.encode())
        for statement, values in data_sql(args.orders, args.customers, args.buyers):
            conn.execute(statement.encode(), values)
        conn.execute("vacuum analyze")
        sizes = conn.execute(
            "select relname, pg_total_relation_size(oid) as bytes, reltuples::int8 as rows"
            " from pg_class where relname in ('customers', 'orders', 'order_items')"
        ).fetchall()
    build_s = time.perf_counter() - start

    statements = workload(args.orders, args.customers, args.buyers)
    run_pass(dsn, statements, 2, seed=1)  # warm the cache
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("select pg_stat_statements_reset()")
        conn.execute("select pg_stat_reset()")
    before = measure(dsn, statements, args.calls, args.repeat)

    estimate, estimate_s = run_advisor(dsn, writes=False)
    advice, advice_s = run_advisor(dsn, writes=True)
    planted = check(advice)

    with connect(
        dsn, Guard(read_only=False, statement_timeout_ms=600_000, lock_timeout_ms=5_000)
    ) as conn:
        start = time.perf_counter()
        applied = apply(conn, list(advice.suggestions))
        apply_s = time.perf_counter() - start
        conn.execute("analyze")
    after = measure(dsn, statements, args.calls, args.repeat)
    speedup = before["median_total_ms"] / max(after["median_total_ms"], 1e-6)

    return {
        "benchmark": "index advisor: planted missing indexes",
        "server_version": version[0] if version else None,
        "data": {
            "orders": args.orders,
            "customers": args.customers,
            "buyers": args.buyers,
            "order_items": args.orders * 2,
            "tables": {r[0]: {"bytes": r[1], "rows": r[2]} for r in sizes},
            "build_s": round(build_s, 1),
        },
        "workload": [{"name": s.name, "sql": s.sql, "missing": s.planted} for s in statements],
        "calls_per_statement_per_pass": args.calls,
        "passes": args.repeat,
        "before": before,
        "advisor": describe(advice, advice_s),
        "advisor_estimate_only": {
            **describe(estimate, estimate_s),
            "planted_check": check(estimate),
        },
        "planted_check": planted,
        "applied": [a.to_dict() for a in applied],
        "apply_s": round(apply_s, 2),
        "after": after,
        "speedup": round(speedup, 1),
        "target_speedup": TARGET_SPEEDUP,
        "target_met": speedup >= TARGET_SPEEDUP
        and planted["all_found"]
        and planted["none_useless"],
        "machine": machine(
            load_before,
            note="absolute times vary with the machine; the before/after ratio is the figure",
        ),
    }


if __name__ == "__main__":
    main()
