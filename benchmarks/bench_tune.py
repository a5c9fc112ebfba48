#!/usr/bin/env python3
"""Defaults vs PGTune vs pgtune_hx, in one run with alternating order.

    .venv/bin/python benchmarks/bench_tune.py [--seconds 15] [--rounds 2]

On a throwaway embedded PostgreSQL 18 it loads a pgbench database and an
analytic table, then for each configuration (a) the defaults (initdb plus the
embedded server's own file), (b) PGTune's formulas for the same declared
hardware (benchmarks/pgtune_reference.py), (c) pgtune_hx's live recommendation
(with the evidence of a warm-up run), it applies the settings with ALTER SYSTEM,
restarts, and measures:

- an analytic workload that spills at the default work_mem: a hash aggregate,
  a median (full sort), a hash join with a large build side, a count(distinct)
  and a window function, each timed on a warm cache, plus the temp bytes written;
- pgbench (TPC-B like, prepared) for --seconds.

Rounds alternate the order (a b c, then c b a, ...) so drift on a shared
machine does not favour one configuration. Results, the settings each
configuration used and the machine's load go to benchmarks/results/tune.json.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import psutil
import psycopg
from psycopg import sql
from psycopg.rows import dict_row

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.pgtune_reference import pgtune
from pgtune_hx import tune
from pgtune_hx.db import connect
from pgtune_hx.embedded import EmbeddedServer
from pgtune_hx.tune.model import Storage, Workload
from pgtune_hx.tune.sizes import GB

RESULTS = Path(__file__).resolve().parent / "results" / "tune.json"
DB = "bench"
# The hardware both tuners are told about: a slice of this shared machine.
DECLARED = {
    "memory_bytes": 4 * GB,
    "cpus": 2,
    "storage": "ssd",
    "workload": "mixed",
    "connections": 20,
}
ANALYTIC = {
    "hash_aggregate": "select count(*) from (select g, count(*), sum(v) from facts group by g) s",
    "median_sort": "select percentile_cont(0.5) within group (order by v) from facts",
    "hash_join": "select count(*), sum(f.v) from facts f join dim d on d.k = f.k "
    "where d.tag <> 'zz'",
    "count_distinct": "select count(distinct pad) from facts",
    "window": "select sum(r) from (select row_number() over (partition by g order by v) as r "
    "from facts) s",
}
SETUP = [
    "create table facts as select g::bigint as id, (g::bigint * 7919) % 600000 as k, "
    "(g::bigint * 104729) % 300000 as g, random() as v, md5(g::text) as pad "
    "from generate_series(1, {rows}) g",
    "create table dim as select k, md5(k::text) as tag, k % 100 as bucket "
    "from generate_series(0, 599999) k",
    "vacuum analyze facts",
    "vacuum analyze dim",
]


def admin(server: EmbeddedServer, dbname: str = DB) -> psycopg.Connection[dict[str, Any]]:
    return psycopg.connect(server.dsn(dbname), autocommit=True, row_factory=dict_row)


def pg_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("PG")}


def load(server: EmbeddedServer, scale: int, rows: int) -> None:
    with admin(server, "postgres") as conn:
        conn.execute(sql.SQL("create database {}").format(sql.Identifier(DB)))
    subprocess.run(
        [str(server.bin("pgbench")), "-i", "-q", "-s", str(scale), "-d", server.dsn(DB)],
        check=True,
        capture_output=True,
        env=pg_env(),
        timeout=900,
    )
    with admin(server) as conn:
        conn.execute("create extension if not exists pg_stat_statements")
        for statement in SETUP:
            conn.execute(statement.format(rows=rows).encode())


def apply_config(server: EmbeddedServer, settings: dict[str, str]) -> dict[str, str]:
    """Reset, set, restart; returns the values in force for the names set."""
    with admin(server, "postgres") as conn:
        conn.execute("alter system reset all")
        for name, value in settings.items():
            conn.execute(
                sql.SQL("alter system set {} = {}").format(sql.Identifier(name), sql.Literal(value))
            )
    server.restart()
    with admin(server, "postgres") as conn:
        rows = conn.execute(
            "select name, current_setting(name) as value from unnest(%s::text[]) as name",
            ([*settings, "work_mem", "shared_buffers", "max_parallel_workers_per_gather"],),
        ).fetchall()
        errors = conn.execute(
            "select name, error from pg_file_settings where error is not null"
        ).fetchall()
    if errors:
        raise SystemExit(f"configuration did not load: {errors}")
    return {r["name"]: r["value"] for r in rows}


def temp_bytes(conn: psycopg.Connection[dict[str, Any]]) -> int:
    conn.execute("select pg_stat_clear_snapshot()")
    row = conn.execute(
        "select temp_bytes from pg_stat_database where datname = current_database()"
    ).fetchone()
    return int(row["temp_bytes"]) if row else 0


def run_analytic(server: EmbeddedServer) -> dict[str, Any]:
    timings: dict[str, float] = {}
    with admin(server) as conn:
        for query in ANALYTIC.values():  # warm the cache under this configuration
            conn.execute(query.encode())
        conn.execute("select pg_stat_force_next_flush()")
        before = temp_bytes(conn)
        for name, query in ANALYTIC.items():
            started = time.perf_counter()
            conn.execute(query.encode()).fetchall()
            timings[name] = time.perf_counter() - started
        conn.execute("select pg_stat_force_next_flush()")
    with admin(server) as conn:
        spilled = temp_bytes(conn) - before
    return {
        "seconds": {k: round(v, 4) for k, v in timings.items()},
        "total_s": round(sum(timings.values()), 4),
        "temp_bytes": spilled,
    }


def run_pgbench(server: EmbeddedServer, seconds: int, clients: int) -> dict[str, Any]:
    result = subprocess.run(
        [
            str(server.bin("pgbench")),
            "-M",
            "prepared",
            "-c",
            str(clients),
            "-j",
            "2",
            "-T",
            str(seconds),
            "-d",
            server.dsn(DB),
        ],
        check=True,
        capture_output=True,
        text=True,
        env=pg_env(),
        timeout=seconds + 120,
    )
    tps = re.search(r"tps = ([\d.]+) \(without initial connection time\)", result.stdout)
    latency = re.search(r"latency average = ([\d.]+) ms", result.stdout)
    if not tps or not latency:
        raise SystemExit(f"cannot read pgbench output:\n{result.stdout}")
    return {"tps": float(tps.group(1)), "latency_ms": float(latency.group(1))}


def ours(server: EmbeddedServer) -> tuple[dict[str, str], dict[str, Any]]:
    request = tune.Request(
        memory=int(DECLARED["memory_bytes"]),
        cpus=int(DECLARED["cpus"]),
        storage=Storage(str(DECLARED["storage"])),
        workload=Workload(str(DECLARED["workload"])),
        max_connections=int(DECLARED["connections"]),
    )
    with connect(server.dsn(DB)) as conn:
        rec = tune.live(conn, request)
    settings = {c.name: c.recommended for c in rec.changes}
    detail = {
        "evidence": [e.to_dict() for e in rec.evidence],
        "budget": rec.budget.to_dict(),
        "evidence_changed": [c.name for c in rec.changes if c.source == "evidence"],
    }
    return settings, detail


def accepted(server: EmbeddedServer, settings: dict[str, str]) -> tuple[dict[str, str], list[str]]:
    """Drop what this build refuses (PGTune's lz4 on a server built without it)."""
    kept, dropped = {}, []
    with admin(server, "postgres") as conn:
        enums = {
            r["name"]: r["enumvals"]
            for r in conn.execute(
                "select name, enumvals from pg_settings where vartype = 'enum'"
            ).fetchall()
        }
    for name, value in settings.items():
        if name in enums and value not in enums[name]:
            dropped.append(f"{name}={value} (not accepted by this build)")
            continue
        kept[name] = value
    return kept, dropped


def ratio(a: float, b: float) -> float | None:
    return round(a / b, 3) if b else None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=15, help="pgbench seconds per run")
    parser.add_argument("--rounds", type=int, default=2, help="alternating rounds")
    parser.add_argument("--scale", type=int, default=10, help="pgbench scale")
    parser.add_argument("--rows", type=int, default=1_000_000, help="analytic table rows")
    parser.add_argument("--clients", type=int, default=4, help="pgbench clients")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()

    base = Path(tempfile.mkdtemp(prefix="pgtune_hx-bench-tune-"))
    base.chmod(0o755)
    server = EmbeddedServer(base)
    started = time.time()
    load_before = os.getloadavg()
    try:
        server.start()
        print("loading data ...", file=sys.stderr)
        load(server, args.scale, args.rows)
        print("warm-up under the defaults (gives the tuner its evidence) ...", file=sys.stderr)
        run_analytic(server)
        our_settings, our_detail = ours(server)
        pgtune_all = pgtune(
            memory_bytes=int(DECLARED["memory_bytes"]),
            cpus=int(DECLARED["cpus"]),
            storage=str(DECLARED["storage"]),
            workload=str(DECLARED["workload"]),
            connections=int(DECLARED["connections"]),
            major=server.binaries.major(),
        )
        pgtune_settings, pgtune_dropped = accepted(server, pgtune_all)
        configs = {"defaults": {}, "pgtune": pgtune_settings, "pgtune_hx": our_settings}
        names = list(configs)
        runs: list[dict[str, Any]] = []
        in_force: dict[str, dict[str, str]] = {}
        for round_no in range(args.rounds):
            order = names if round_no % 2 == 0 else list(reversed(names))
            for name in order:
                print(f"round {round_no + 1}: {name}", file=sys.stderr)
                in_force[name] = apply_config(server, configs[name])
                analytic = run_analytic(server)
                bench = run_pgbench(server, args.seconds, args.clients)
                runs.append(
                    {
                        "round": round_no + 1,
                        "config": name,
                        "analytic": analytic,
                        "pgbench": bench,
                        "loadavg_1m": round(os.getloadavg()[0], 2),
                    }
                )
        summary: dict[str, Any] = {}
        for name in names:
            mine = [r for r in runs if r["config"] == name]
            summary[name] = {
                "analytic_total_s_median": round(
                    statistics.median(r["analytic"]["total_s"] for r in mine), 4
                ),
                "analytic_per_query_s_median": {
                    q: round(statistics.median(r["analytic"]["seconds"][q] for r in mine), 4)
                    for q in ANALYTIC
                },
                "temp_bytes_median": int(
                    statistics.median(r["analytic"]["temp_bytes"] for r in mine)
                ),
                "pgbench_tps_median": round(
                    statistics.median(r["pgbench"]["tps"] for r in mine), 1
                ),
                "pgbench_latency_ms_median": round(
                    statistics.median(r["pgbench"]["latency_ms"] for r in mine), 3
                ),
            }

        def ratios(a: str, b: str) -> dict[str, Any]:
            # > 1 means a is faster than b (time ratio b/a, tps ratio a/b)
            return {
                "analytic_speedup": ratio(
                    summary[b]["analytic_total_s_median"], summary[a]["analytic_total_s_median"]
                ),
                "analytic_speedup_per_query": {
                    q: ratio(
                        summary[b]["analytic_per_query_s_median"][q],
                        summary[a]["analytic_per_query_s_median"][q],
                    )
                    for q in ANALYTIC
                },
                "pgbench_tps_ratio": ratio(
                    summary[a]["pgbench_tps_median"], summary[b]["pgbench_tps_median"]
                ),
            }

        result = {
            "benchmark": "tune",
            "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "command": " ".join(["benchmarks/bench_tune.py", *sys.argv[1:]]),
            "server": server.binaries.version(),
            "machine": {
                "cpus": psutil.cpu_count(),
                "memory_bytes": psutil.virtual_memory().total,
                "shared": True,
                "note": "2 cores shared with other jobs running at the same time; numbers are "
                "noisy and only ratios within this run mean anything",
                "loadavg_before": [round(x, 2) for x in load_before],
                "loadavg_after": [round(x, 2) for x in os.getloadavg()],
            },
            "declared_hardware": DECLARED,
            "parameters": {
                "seconds": args.seconds,
                "rounds": args.rounds,
                "scale": args.scale,
                "rows": args.rows,
                "clients": args.clients,
                "analytic_queries": ANALYTIC,
            },
            "configs": {
                "defaults": {},
                "pgtune": pgtune_settings,
                "pgtune_dropped": pgtune_dropped,
                "pgtune_hx": our_settings,
            },
            "pgtune_hx_detail": our_detail,
            "in_force": in_force,
            "runs": runs,
            "summary": summary,
            "ratios": {
                "pgtune_vs_defaults": ratios("pgtune", "defaults"),
                "pgtune_hx_vs_defaults": ratios("pgtune_hx", "defaults"),
                "pgtune_hx_vs_pgtune": ratios("pgtune_hx", "pgtune"),
            },
            "elapsed_s": round(time.time() - started, 1),
        }
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=2) + "\n")
        print(json.dumps({"summary": summary, "ratios": result["ratios"]}, indent=2))
    finally:
        server.stop(mode="immediate")
        shutil.rmtree(base, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
