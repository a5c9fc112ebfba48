"""diff: rates over the measured interval, and no negative rate across a reset."""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from pgtune_hx.collect.diff import diff
from pgtune_hx.collect.model import Snapshot
from pgtune_hx.collect.snapshot import collect_snapshot
from pgtune_hx.db import connect
from pgtune_hx.embedded import EmbeddedServer
from pgtune_hx.errors import UsageError
from tests.helpers.locks import BlockedStatement
from tests.helpers.servers import TestDatabase
from tests.helpers.stats import flush


def _snap(dsn: str) -> Snapshot:
    with connect(dsn) as conn:
        return collect_snapshot(conn)


def _work(db: TestDatabase, calls: int = 40) -> None:
    with db.admin() as conn:
        conn.execute("create table if not exists events (id serial primary key, kind int)")
        for i in range(calls):
            conn.execute("insert into events (kind) values (%s)", [i % 3])
        conn.execute("update events set kind = kind + 1 where kind = 0")
        conn.execute("select count(*) from events").fetchone()
        flush(conn)


def test_rates_and_top_movers(db: TestDatabase) -> None:
    _work(db, 1)
    first = _snap(db.dsn)
    _work(db, 40)
    time.sleep(0.2)
    second = _snap(db.dsn)

    result = diff(first, second, top=50)
    assert result.interval_s == (second.captured - first.captured).total_seconds() > 0
    assert not result.restarted and result.events == []

    inserts = [
        r
        for r in result.statements.rows
        if r["datname"] == db.name and "insert into events" in r["query"]
    ]
    assert len(inserts) == 1
    assert inserts[0]["calls"] == 40
    assert inserts[0]["calls_per_s"] == pytest.approx(40 / result.interval_s)
    assert inserts[0]["mean_exec_ms"] == pytest.approx(inserts[0]["total_exec_time"] / 40)

    tables = {r["relname"]: r for r in result.tables.rows}
    assert tables["events"]["n_tup_ins"] == 40
    assert tables["events"]["tuples_written_per_s"] > 0
    assert tables["events"]["n_dead_tup_change"] >= 1  # the update left dead versions

    mine = next(r for r in result.databases.rows if r["datname"] == db.name)
    assert mine["na"] is None
    commits = mine["counters"]["xact_commit"]
    assert commits["delta"] >= 40
    assert commits["per_s"] == pytest.approx(commits["delta"] / result.interval_s)
    assert (result.rates["wal"]["wal_generated_bytes"].delta or 0) > 0
    assert (result.rates["xid"]["xids_consumed"].delta or 0) >= 40


def test_stats_reset_is_reported_not_negative(db: TestDatabase) -> None:
    _work(db, 30)
    first = _snap(db.dsn)
    with db.admin() as conn:
        conn.execute("select pg_stat_reset()")  # this database's counters
        conn.execute("select pg_stat_statements_reset()")
        conn.execute("select pg_stat_reset_shared('bgwriter')")
    _work(db, 5)
    second = _snap(db.dsn)

    result = diff(first, second)
    scopes = {e.scope for e in result.events if e.kind == "reset"}
    assert {f"database:{db.name}", "statements", "bgwriter"} <= scopes
    mine = next(r for r in result.databases.rows if r["datname"] == db.name)
    assert "reset at" in mine["na"]
    assert all(c["delta"] is None for c in mine["counters"].values())
    assert not result.tables.valid and "reset at" in (result.tables.na or "")
    assert not result.statements.valid and "pg_stat_statements reset" in (
        result.statements.na or ""
    )
    assert all(c.delta is None for c in result.rates["bgwriter"].values())
    # nothing in the whole diff went negative
    data = result.to_dict()
    for family in data["rates"].values():
        assert all(c["delta"] is None or c["delta"] >= 0 for c in family.values())
    for row in data["databases"]["rows"]:
        assert all(c["delta"] is None or c["delta"] >= 0 for c in row["counters"].values())


def test_order_and_identity_are_checked(db: TestDatabase, pg15_server: EmbeddedServer) -> None:
    first = _snap(db.dsn)
    second = _snap(db.dsn)
    with pytest.raises(UsageError, match="not newer than A"):
        diff(second, first)
    other = _snap(pg15_server.dsn()) if db.major != 15 else None
    if other is not None:
        with pytest.raises(UsageError, match="different"):
            diff(first, other)


@pytest.fixture(scope="module")
def throwaway() -> Iterator[EmbeddedServer]:
    """A server of its own to restart (and crash) without disturbing the others,
    with prepared transactions enabled."""
    # not under pytest's tmp_path: the server's OS user must be able to reach it
    base = Path(tempfile.mkdtemp(prefix="pgtune_hx-test-restart-"))
    base.chmod(0o755)
    server = EmbeddedServer(base, settings={"max_prepared_transactions": "4"})
    server.start()
    try:
        yield server
    finally:
        server.stop(mode="immediate")
        shutil.rmtree(base, ignore_errors=True)


def _busy(server: EmbeddedServer, rows: int) -> None:
    import psycopg

    with psycopg.connect(server.dsn(), autocommit=True) as conn:
        conn.execute("create extension if not exists pg_stat_statements")
        conn.execute("create table if not exists r (id int)")
        for i in range(rows):
            conn.execute("insert into r values (%s)", [i])
        conn.execute("select pg_stat_force_next_flush()")
        conn.execute("select 1")


def test_clean_restart_keeps_counters(throwaway: EmbeddedServer) -> None:
    _busy(throwaway, 10)
    first = _snap(throwaway.dsn())
    throwaway.stop(mode="fast")
    throwaway.start()
    _busy(throwaway, 20)
    second = _snap(throwaway.dsn())

    result = diff(first, second)
    assert result.restarted and not result.stats_discarded
    assert [e.kind for e in result.events] == ["restart"]
    postgres = next(r for r in result.databases.rows if r["datname"] == "postgres")
    assert postgres["na"] is None
    assert postgres["counters"]["xact_commit"]["delta"] >= 20
    assert next(r for r in result.tables.rows if r["relname"] == "r")["n_tup_ins"] == 20


def test_crash_restart_discards_counters(throwaway: EmbeddedServer) -> None:
    _busy(throwaway, 10)
    first = _snap(throwaway.dsn())
    throwaway.stop(mode="immediate")  # crash recovery at the next start drops the stats
    throwaway.start()
    _busy(throwaway, 5)
    second = _snap(throwaway.dsn())

    result = diff(first, second)
    assert result.restarted and result.stats_discarded
    assert {e.kind for e in result.events} >= {"restart", "stats_discarded"}
    assert all(r["na"] == "statistics discarded at restart" for r in result.databases.rows)
    assert not result.tables.valid
    for family in ("bgwriter", "checkpointer"):
        assert all(c.delta is None for c in result.rates[family].values())
    # WAL position and XIDs survive any restart
    assert (result.rates["wal"]["wal_generated_bytes"].delta or 0) > 0
    assert (result.rates["xid"]["xids_consumed"].delta or 0) >= 5


def test_different_server_same_version(throwaway: EmbeddedServer, db18: TestDatabase) -> None:
    with pytest.raises(UsageError, match="different servers"):
        diff(_snap(db18.dsn), _snap(throwaway.dsn()))


def test_prepared_transaction_is_a_root_blocker(throwaway: EmbeddedServer) -> None:
    """A prepared transaction keeps its locks with no backend: pg_blocking_pids says 0."""
    import psycopg

    with psycopg.connect(throwaway.dsn(), autocommit=True) as conn:
        conn.execute("create table if not exists pt (id int)")
        conn.execute("begin")
        conn.execute("lock table pt in access exclusive mode")
        conn.execute("prepare transaction 'stuck'")
    try:
        with BlockedStatement(throwaway.dsn(), "select count(*) from pt") as waiter:
            waiter.wait_until_blocked()
            with connect(throwaway.dsn()) as conn:
                snap = collect_snapshot(conn, ["activity", "blocking", "prepared_xacts", "tables"])
            with psycopg.connect(throwaway.dsn(), autocommit=True) as conn:
                conn.execute("rollback prepared 'stuck'")
    finally:
        with psycopg.connect(throwaway.dsn(), autocommit=True) as conn:
            if conn.execute("select 1 from pg_prepared_xacts where gid = 'stuck'").fetchone():
                conn.execute("rollback prepared 'stuck'")

    graph = {r["pid"]: r for r in snap.rows("blocking")}
    assert graph[0]["kind"] == "prepared transaction" and graph[0]["is_root"]
    assert graph[waiter.pid]["root_pids"] == [0]
    prepared = snap.rows("prepared_xacts")
    assert [p["gid"] for p in prepared] == ["stuck"]
    assert prepared[0]["age_s"] >= 0 and prepared[0]["xid_age"] >= 0
    # the table the prepared transaction locked is measured from the catalog, not waited on
    table = next(r for r in snap.rows("tables") if r["relname"] == "pt")
    assert table["size_source"] == "catalog"
    assert "held by a prepared transaction" in snap.section("tables").skipped[0]
