"""Workload rules on real statements, on PostgreSQL 18 and 15.

pg_stat_statements is cluster-wide and the test servers are shared by the
whole session, so these tests analyze the interval between two snapshots
(``since``): only what the test ran in between counts, which is exactly how
`pgtune-hx analyze --interval` works.
"""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest
from psycopg import sql

from tests.helpers.analysis import in_database, run_rule, snapshot, work
from tests.helpers.servers import TestDatabase

SPILL = "select g, md5(g::text) as h from generate_series(1, 100000) g order by h"


@pytest.fixture
def app(db: TestDatabase) -> Iterator[str]:
    """A role of this test's own: its statements are told apart from the snapshots'."""
    role = f"{db.name}_app"
    with db.admin() as conn:
        conn.execute(sql.SQL("create role {}").format(sql.Identifier(role)))
        conn.execute(
            sql.SQL("grant select on all tables in schema public to {}").format(
                sql.Identifier(role)
            )
        )
    yield role
    with db.admin() as conn:
        conn.execute(sql.SQL("drop owned by {}").format(sql.Identifier(role)))
        conn.execute(sql.SQL("drop role {}").format(sql.Identifier(role)))


def test_statement_taking_most_of_the_time(db: TestDatabase, app: str) -> None:
    before = snapshot(db.dsn)
    work(db.dsn, *["select pg_sleep(0.3)"] * 3, "select 1", role=app)
    after = snapshot(db.dsn)
    found = in_database(
        run_rule(after, "workload.top_total_time", before, min_total_ms=500), db.name, app
    )
    [finding] = [f for f in found if "pg_sleep" in f.evidence["query"]]
    assert finding.evidence["calls"] == 3
    assert finding.evidence["total_exec_time_ms"] >= 900
    assert finding.evidence["share_of_total_time"] > 0.5
    assert finding.evidence["interval_s"] > 0
    assert finding.object == f"queryid {finding.evidence['queryid']}"


def test_no_statement_stands_out_in_a_light_interval(db: TestDatabase, app: str) -> None:
    before = snapshot(db.dsn)
    work(db.dsn, *["select 1"] * 20, "select count(*) from pg_class", role=app)
    after = snapshot(db.dsn)
    found = run_rule(after, "workload.top_total_time", before, min_total_ms=500)
    assert in_database(found, db.name, app) == []


def test_slow_statement_on_average(db: TestDatabase, app: str) -> None:
    before = snapshot(db.dsn)
    work(db.dsn, *["select pg_sleep(0.06)"] * 10, role=app)
    after = snapshot(db.dsn)
    [finding] = in_database(
        run_rule(after, "workload.slow_mean_time", before, min_mean_ms=50, min_calls=10),
        db.name,
        app,
    )
    assert finding.evidence["calls"] == 10
    assert finding.evidence["mean_exec_time_ms"] >= 60


def test_fast_statements_are_not_slow(db: TestDatabase, app: str) -> None:
    before = snapshot(db.dsn)
    work(db.dsn, *["select 1"] * 12, role=app)
    after = snapshot(db.dsn)
    found = run_rule(after, "workload.slow_mean_time", before, min_mean_ms=50, min_calls=10)
    assert in_database(found, db.name, app) == []


def test_statement_spilling_to_temp_files(db: TestDatabase, app: str) -> None:
    before = snapshot(db.dsn)
    work(db.dsn, SPILL, SPILL, role=app, work_mem="64kB")
    after = snapshot(db.dsn)
    [finding] = in_database(
        run_rule(after, "workload.temp_spill", before, min_temp_bytes=1024 * 1024), db.name, app
    )
    written = finding.evidence["temp_bytes_written"]
    assert written >= 2 * 1024 * 1024
    assert finding.evidence["temp_bytes_per_call"] == written // 2
    assert finding.evidence["work_mem_bytes"] == 4 * 1024 * 1024  # the server's setting
    assert finding.evidence["database_temp_files"] >= 2
    assert finding.fix is not None
    assert finding.fix.startswith(f"ALTER ROLE {app} SET work_mem = '")
    # the suggestion holds twice the spill per call, in whole MB
    mb = int(finding.fix.split("'")[1].removesuffix("MB"))
    assert mb * 1024 * 1024 >= 2 * finding.evidence["temp_bytes_per_call"]


def test_enough_work_mem_means_no_spill(db: TestDatabase, app: str) -> None:
    before = snapshot(db.dsn)
    work(db.dsn, SPILL, SPILL, role=app, work_mem="64MB")
    after = snapshot(db.dsn)
    found = run_rule(after, "workload.temp_spill", before, min_temp_bytes=1024 * 1024)
    assert in_database(found, db.name, app) == []


def test_statement_reading_the_most_blocks(db: TestDatabase, app: str) -> None:
    before = snapshot(db.dsn)
    work(db.dsn, SPILL, role=app, work_mem="64kB")  # the sort reads its temporary files back
    work(db.dsn, "select count(*) from pg_class", role=app)
    after = snapshot(db.dsn)
    found = in_database(run_rule(after, "workload.top_io", before, min_blocks=100), db.name, app)
    [finding] = found
    assert "generate_series" in finding.evidence["query"]
    assert finding.evidence["blocks_read"] >= 100
    assert finding.evidence["bytes_read"] == finding.evidence["blocks_read"] * 8192


def test_cached_statements_cause_no_io_finding(db: TestDatabase, app: str) -> None:
    work(db.dsn, "create table t as select g as id from generate_series(1, 2000) g")
    work(db.dsn, f"grant select on t to {app}")
    work(db.dsn, "select count(*) from t", role=app)
    before = snapshot(db.dsn)
    work(db.dsn, *["select count(*) from t"] * 5, role=app)
    after = snapshot(db.dsn)
    found = run_rule(after, "workload.top_io", before, min_blocks=100)
    assert in_database(found, db.name, app) == []


def _jit_available(db: TestDatabase) -> bool:
    with psycopg.connect(db.dsn) as conn:
        row = conn.execute("select pg_jit_available()").fetchone()
    return bool(row and row[0])


JIT_ALWAYS = {
    "jit": "on",
    "jit_above_cost": "0",
    "jit_inline_above_cost": "0",
    "jit_optimize_above_cost": "0",
}
SHORT = "select sum(g) from generate_series(1, 500) g where g % 3 = 0"


def test_jit_compiling_short_statements(db: TestDatabase, app: str) -> None:
    if not _jit_available(db):
        pytest.skip(f"this PostgreSQL {db.major} build has no LLVM JIT (pg_jit_available())")
    before = snapshot(db.dsn)
    work(db.dsn, *[SHORT] * 5, role=app, **JIT_ALWAYS)
    after = snapshot(db.dsn)
    found = in_database(run_rule(after, "workload.jit_overhead", before), db.name, app)
    # with jit_above_cost = 0 every statement of that session compiles, SHORT among them
    [finding] = [f for f in found if "generate_series" in f.evidence["query"]]
    assert finding.evidence["calls"] == 5
    assert finding.evidence["jit_functions"] > 0
    assert finding.evidence["jit_share_of_exec_time"] >= 0.2
    assert finding.fix is not None and "SET jit = off" in finding.fix


def test_no_jit_overhead_without_jit(db: TestDatabase, app: str) -> None:
    before = snapshot(db.dsn)
    work(db.dsn, *[SHORT] * 5, role=app, jit="off")
    after = snapshot(db.dsn)
    assert in_database(run_rule(after, "workload.jit_overhead", before), db.name, app) == []


def test_cached_reads_keep_the_hit_ratio_high(db: TestDatabase) -> None:
    work(db.dsn, "create table t as select g as id from generate_series(1, 5000) g")
    work(db.dsn, "select count(*) from t")
    before = snapshot(db.dsn)
    work(db.dsn, *["select count(*) from t"] * 10)
    after = snapshot(db.dsn)
    current = next(r for r in after.rows("database") if r["datname"] == db.name)
    assert current["blks_hit"] > 0
    assert run_rule(after, "workload.cache_hit_ratio", before, min_reads=0) == []
