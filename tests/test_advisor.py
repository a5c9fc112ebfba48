"""The index advisor on real servers: every candidate kind, every verification method.

PG 18 runs without HypoPG: candidates are verified with real indexes built
in a rolled-back transaction (``--allow-writes``) and with the pg_stats
estimate. PG 15 uses HypoPG (what-if plans in the read-only session) where
installed; GIN, which HypoPG cannot simulate, falls back to the estimate.
The data has a realistic skew and enough rows that the planner prefers an
index; one shared database per server keeps the module fast.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import psycopg
import pytest

from pgtune_hx.advise import workload as wl
from pgtune_hx.advise.advisor import Methods, advise, methods_for
from pgtune_hx.advise.catalog import Catalog
from pgtune_hx.advise.model import Advice, Suggestion
from pgtune_hx.advise.select import SelectionRules
from pgtune_hx.db import Guard, connect
from pgtune_hx.embedded import EmbeddedServer
from tests.helpers.servers import PgTarget

SETUP = [
    "create extension if not exists pg_trgm",
    """create table customers (
         id int primary key, email text not null, region text not null,
         created_at timestamptz not null, deleted_at timestamptz)""",
    """insert into customers
       select g, 'user' || g || '@example.com', (array['eu', 'us', 'apac'])[g % 3 + 1],
              '2023-01-01'::timestamptz + g * interval '13 minutes',
              case when g % 20 = 0 then '2024-06-01'::timestamptz end
         from generate_series(1, 20000) g""",
    """create table orders (
         id int primary key, customer_id int not null, region_id int not null,
         status text not null, created_at timestamptz not null, total numeric not null,
         note text not null, data jsonb not null)""",
    # status: 90% done, 9.5% pending, 0.5% failed; customers follow a skewed (80/20) pattern
    """insert into orders
       select g,
              case when g % 5 = 0 then (g * 7919) % 20000 + 1 else (g * 31) % 4000 + 1 end,
              g % 10,
              case when g % 200 = 0 then 'failed' when g % 10 = 0 then 'pending' else 'done' end,
              '2024-01-01'::timestamptz + ((g::bigint * 104729) % 60000) * interval '7 minutes',
              (g % 1000) / 10.0, md5(g::text),
              jsonb_build_object('kind', (array['a', 'b', 'c', 'd'])[g % 4 + 1], 'n', g % 500,
                                 'tags', jsonb_build_array(g % 7, g % 11))
         from generate_series(1, 60000) g""",
    "create table tiny (id int primary key, v int, label text)",
    "insert into tiny select g, g % 50, 'x' || g from generate_series(1, 500) g",
    "vacuum analyze",
]


@dataclass(frozen=True)
class Shop:
    target: PgTarget
    dsn: str
    hypopg: bool

    @property
    def major(self) -> int:
        return self.target.major


def _shop(server: EmbeddedServer, name: str) -> Iterator[Shop]:
    target = PgTarget(name, server.binaries.major(), server.dsn(), server)
    dbname = f"shop_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(target.admin_dsn, autocommit=True) as conn:
        conn.execute(f'create database "{dbname}"')
    dsn = target.dsn_for(dbname)
    try:
        with psycopg.connect(dsn, autocommit=True) as conn:
            hypopg = False
            available = conn.execute(
                "select 1 from pg_available_extensions where name = 'hypopg'"
            ).fetchone()
            if available:
                conn.execute("create extension hypopg")
                hypopg = True
            for statement in SETUP:
                conn.execute(statement.encode())
        yield Shop(target, dsn, hypopg)
    finally:
        with psycopg.connect(target.admin_dsn, autocommit=True) as conn:
            conn.execute(f'drop database if exists "{dbname}" with (force)')


@pytest.fixture(scope="module")
def shop18(pg18_server: EmbeddedServer) -> Iterator[Shop]:
    yield from _shop(pg18_server, "pg18")


@pytest.fixture(scope="module")
def shop15(pg15_server: EmbeddedServer) -> Iterator[Shop]:
    yield from _shop(pg15_server, "pg15")


MODES = ["pg18-rollback", "pg18-estimate", "pg15-hypopg"]


@pytest.fixture(params=MODES)
def mode(request: pytest.FixtureRequest) -> tuple[Shop, str]:
    name = str(request.param)
    if name.startswith("pg15"):
        shop: Shop = request.getfixturevalue("shop15")
        if not shop.hypopg:
            pytest.skip("HypoPG is not installed for PostgreSQL 15 here")
    else:
        shop = request.getfixturevalue("shop18")
    return shop, name.split("-", 1)[1]


def run(
    shop: Shop, method: str, queries: list[str] | str, rules: SelectionRules | None = None
) -> Advice:
    writes = method == "rollback"
    with connect(shop.dsn, Guard(read_only=not writes, statement_timeout_ms=30_000)) as conn:
        catalog = Catalog(conn)
        if isinstance(queries, str):
            workload = wl.from_query(queries, catalog)
        else:
            workload = wl.Workload(source="test")
            for i, sql in enumerate(queries, 1):
                one = wl.from_query(sql, catalog).queries[0]
                workload.queries.append(
                    type(one)(id=f"q{i}", sql=one.sql, facts=one.facts, weight_ms=100.0)
                )
        found = methods_for(conn, allow_writes=writes)
        methods = Methods(
            hypopg=found.hypopg and method == "hypopg",
            allow_writes=writes,
            trigram=found.trigram,
        )
        return advise(conn, catalog, workload, methods, selection_rules=rules)


def only(advice: Advice, table: str) -> Suggestion:
    found = [s for s in advice.suggestions if s.index.table == table]
    assert len(found) == 1, [s.create_sql for s in advice.suggestions] + [
        f"{r.code}: {r.subject}: {r.reason}" for r in advice.rejected
    ]
    return found[0]


def expected_method(method: str, suggestion: Suggestion) -> str:
    if method == "hypopg" and suggestion.index.method == "gin":
        return "estimate"  # HypoPG cannot simulate GIN
    return {"rollback": "real-index-rollback", "estimate": "estimate", "hypopg": "hypopg"}[method]


def check(suggestion: Suggestion, method: str) -> None:
    assert suggestion.verified_by == expected_method(method, suggestion)
    assert suggestion.queries, "a suggestion names the statements it speeds up"
    for q in suggestion.queries:
        assert q.cost_after < q.cost_before * 0.8
    assert suggestion.create_sql.startswith("CREATE INDEX CONCURRENTLY ")
    assert suggestion.size_bytes > 0


# -- each candidate kind --------------------------------------------------------


def test_multicolumn_equality_then_range(mode: tuple[Shop, str]) -> None:
    shop, method = mode
    advice = run(
        shop,
        method,
        "SELECT id, total FROM orders WHERE region_id = $1 AND created_at >= $2"
        " ORDER BY created_at LIMIT 10",
    )
    s = only(advice, "orders")
    check(s, method)
    assert [k.column for k in s.index.keys][:2] == ["region_id", "created_at"]


def test_three_columns_in_equality_equality_order(mode: tuple[Shop, str]) -> None:
    shop, method = mode
    advice = run(
        shop,
        method,
        "SELECT id, total FROM orders WHERE region_id = $1 AND status = $2"
        " ORDER BY created_at DESC LIMIT 20",
    )
    s = only(advice, "orders")
    check(s, method)
    keys = [k.column for k in s.index.keys]
    assert keys[:3] in (
        ["region_id", "status", "created_at"],
        ["status", "region_id", "created_at"],
    )
    assert s.index.kinds[:2] == ("equality", "order")


def test_desc_and_nulls_only_where_a_backward_scan_cannot_help(mode: tuple[Shop, str]) -> None:
    shop, method = mode
    advice = run(
        shop,
        method,
        "SELECT id FROM orders WHERE region_id BETWEEN $1 AND $2"
        " ORDER BY region_id, created_at DESC LIMIT 10",
    )
    s = only(advice, "orders")
    check(s, method)
    first, second = s.index.keys[:2]
    assert (first.column, first.descending) == ("region_id", False)
    assert (second.column, second.descending) == ("created_at", True)
    assert "created_at DESC" in s.create_sql


def test_include_columns_for_an_index_only_scan(mode: tuple[Shop, str]) -> None:
    shop, method = mode
    advice = run(
        shop, method, "SELECT customer_id, total FROM orders WHERE customer_id BETWEEN $1 AND $2"
    )
    s = only(advice, "orders")
    check(s, method)
    assert [k.column for k in s.index.keys] == ["customer_id"]
    assert s.index.include == ("total",)


def test_partial_index_for_a_rare_status(mode: tuple[Shop, str]) -> None:
    shop, method = mode
    advice = run(
        shop,
        method,
        "SELECT id, created_at FROM orders WHERE status = 'failed'"
        " ORDER BY created_at DESC LIMIT 50",
    )
    s = only(advice, "orders")
    check(s, method)
    assert s.index.where == "status = 'failed'"
    assert [k.column for k in s.index.keys] == ["created_at"]
    assert s.index.kind == "partial"


def test_partial_index_for_is_null(mode: tuple[Shop, str]) -> None:
    shop, method = mode
    advice = run(
        shop,
        method,
        "SELECT id, email FROM customers WHERE deleted_at IS NULL AND created_at >= $1"
        " AND created_at < $2",
    )
    s = only(advice, "customers")
    check(s, method)
    assert s.index.where == "deleted_at IS NULL"
    assert s.index.keys[0].column == "created_at"


def test_expression_index_on_lower(mode: tuple[Shop, str]) -> None:
    shop, method = mode
    advice = run(shop, method, "SELECT id FROM customers WHERE lower(email) = $1")
    s = only(advice, "customers")
    check(s, method)
    assert s.index.keys[0].expression == "lower(email)"
    assert "(lower(email))" in s.create_sql


def test_expression_index_on_json_field(mode: tuple[Shop, str]) -> None:
    shop, method = mode
    advice = run(shop, method, "SELECT id FROM orders WHERE data ->> 'n' = $1")
    s = only(advice, "orders")
    check(s, method)
    assert s.index.keys[0].expression == "data ->> 'n'"


def test_gin_for_jsonb_containment(mode: tuple[Shop, str]) -> None:
    shop, method = mode
    advice = run(shop, method, """SELECT count(*) FROM orders WHERE data @> '{"n": 7}'""")
    s = only(advice, "orders")
    check(s, method)
    assert s.index.method == "gin"
    assert s.index.keys[0].opclass == "jsonb_path_ops"
    assert "USING gin (data jsonb_path_ops)" in s.create_sql


def test_trigram_gin_for_unanchored_like(mode: tuple[Shop, str]) -> None:
    shop, method = mode
    advice = run(shop, method, "SELECT id FROM orders WHERE note LIKE '%abcd%'")
    s = only(advice, "orders")
    check(s, method)
    assert s.index.kind == "gin-trgm"
    assert s.index.keys[0].opclass == "gin_trgm_ops"


def test_join_key_for_the_inner_side(mode: tuple[Shop, str]) -> None:
    shop, method = mode
    advice = run(
        shop,
        method,
        "SELECT o.id, o.total, c.email FROM customers c JOIN orders o ON o.customer_id = c.id"
        " WHERE c.id BETWEEN $1 AND $2",
    )
    s = only(advice, "orders")
    check(s, method)
    assert s.index.keys[0].column == "customer_id"
    assert "join" in s.index.kinds


def test_or_gets_one_index_per_branch(mode: tuple[Shop, str]) -> None:
    shop, method = mode
    advice = run(shop, method, "SELECT id FROM orders WHERE customer_id = $1 OR total = $2")
    tables = sorted((s.index.table, s.index.keys[0].column) for s in advice.suggestions)
    assert tables == [("orders", "customer_id"), ("orders", "total")], advice.rejected
    for s in advice.suggestions:
        check(s, method)
        assert any("OR" in n for n in s.notes)


# -- what is not suggested ------------------------------------------------------


def test_no_index_for_a_tiny_table(mode: tuple[Shop, str]) -> None:
    shop, method = mode
    advice = run(shop, method, "SELECT * FROM tiny WHERE v = $1 ORDER BY label")
    assert advice.suggestions == ()
    assert [r.code for r in advice.rejected] == ["small-table"]


def test_no_index_for_a_query_already_served(mode: tuple[Shop, str]) -> None:
    shop, method = mode
    advice = run(shop, method, "SELECT * FROM orders WHERE id = $1")
    assert advice.suggestions == ()
    assert "covered" in {r.code for r in advice.rejected}


def test_no_index_on_a_low_cardinality_column(mode: tuple[Shop, str]) -> None:
    shop, method = mode
    advice = run(shop, method, "SELECT * FROM customers WHERE region = $1")
    assert advice.suggestions == ()
    assert {r.code for r in advice.rejected} == {"low-cardinality"}


def test_common_constant_is_no_partial_index(mode: tuple[Shop, str]) -> None:
    shop, method = mode
    advice = run(shop, method, "SELECT * FROM orders WHERE status = 'done'")
    assert advice.suggestions == ()


# -- workload level ---------------------------------------------------------------


def test_one_index_serves_many_statements_and_caps_hold(shop18: Shop) -> None:
    queries = [
        "SELECT id FROM orders WHERE customer_id = $1",
        "SELECT sum(total) FROM orders WHERE customer_id = $1 AND status = 'done'",
        "SELECT o.id FROM customers c JOIN orders o ON o.customer_id = c.id WHERE c.id = $1",
        "SELECT id FROM customers WHERE lower(email) = $1",
        "SELECT id, created_at FROM orders WHERE status = 'failed'"
        " ORDER BY created_at DESC LIMIT 5",
    ]
    advice = run(shop18, "rollback", queries)
    by_table = {(s.index.table, s.index.keys[0].identity): s for s in advice.suggestions}
    served = by_table[("orders", "customer_id")]
    assert {q.query_id for q in served.queries} >= {"q1", "q3"}
    assert len(advice.suggestions) >= 3
    capped = run(shop18, "rollback", queries, SelectionRules(max_indexes=1))
    assert len(capped.suggestions) == 1
    assert "count-cap" in {r.code for r in capped.rejected}
    small = run(shop18, "rollback", queries, SelectionRules(max_total_bytes=600_000))
    assert sum(s.size_bytes for s in small.suggestions) <= 600_000
    assert "size-cap" in {r.code for r in small.rejected}


def test_hypopg_works_in_the_read_only_session(shop15: Shop) -> None:
    if not shop15.hypopg:
        pytest.skip("HypoPG is not installed for PostgreSQL 15 here")
    with connect(shop15.dsn) as conn:
        row = conn.execute("show default_transaction_read_only").fetchone()
        assert row is not None and row["default_transaction_read_only"] == "on"
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
            conn.execute("create table nope (i int)")
        made = conn.execute(
            "select indexrelid, indexname from hypopg_create_index('create index on orders (note)')"
        ).fetchone()
        assert made is not None
        plan = conn.execute(
            "explain (format json) select id from orders where note = 'x'"
        ).fetchone()
        assert plan is not None and made["indexname"] in str(plan)
        conn.execute("select hypopg_reset()")
        count = conn.execute("select count(*) as n from pg_class where relname like '%note%'")
        assert count.fetchone() == {"n": 0}  # nothing reached the catalog
