"""Server rules on the shared test servers (PostgreSQL 18 and 15): real sessions,
real locks, a real deadlock, real CHECKPOINT commands.

Activity is cluster-wide: assertions look at the sessions this test made.
"""

from __future__ import annotations

import threading
import time
from contextlib import ExitStack
from typing import Any

import psycopg
import pytest

from pgtune_hx.analyze.findings import Finding
from tests.helpers.analysis import flush_stats, run_rule, snapshot, work
from tests.helpers.locks import BlockedStatement, LockHolder
from tests.helpers.servers import TestDatabase


def _mine(findings: list[Finding], db: TestDatabase, key: str = "datname") -> list[Finding]:
    return [f for f in findings if f.evidence.get(key) == db.name]


# -- server.long_transaction --------------------------------------------------------------


def test_long_running_statement_holds_the_xmin_horizon(db: TestDatabase) -> None:
    with BlockedStatement(db.dsn, "select pg_sleep(30)", application_name="long-one") as long:
        time.sleep(1.5)
        found = run_rule(snapshot(db.dsn), "server.long_transaction", max_xact_age_s=1.0)
        with psycopg.connect(db.dsn, autocommit=True) as conn:
            conn.execute("select pg_cancel_backend(%s)", [long.pid])
    [finding] = [f for f in found if f.object == f"pid {long.pid}"]
    assert finding.evidence["application_name"] == "long-one"
    assert finding.evidence["xact_age_s"] >= 1.5
    assert finding.evidence["holds_xmin"] is True
    assert finding.evidence["backend_xmin"] is not None
    assert finding.fix is not None
    assert finding.fix.startswith(f"SELECT pg_cancel_backend({long.pid});")


def test_short_transactions_are_not_long(db: TestDatabase) -> None:
    with BlockedStatement(db.dsn, "select pg_sleep(0.2)"):
        found = run_rule(snapshot(db.dsn), "server.long_transaction", max_xact_age_s=1.0)
    assert _mine(found, db) == []


# -- server.idle_in_transaction -----------------------------------------------------------


def test_idle_in_transaction_session(db: TestDatabase) -> None:
    with LockHolder(db.dsn, "select txid_current()", application_name="forgot-commit") as h:
        time.sleep(1.2)
        found = run_rule(snapshot(db.dsn), "server.idle_in_transaction", max_idle_s=1.0)
    [finding] = [f for f in found if f.object == f"pid {h.pid}"]
    assert finding.evidence["state"] == "idle in transaction"
    assert finding.evidence["application_name"] == "forgot-commit"
    assert finding.evidence["state_age_s"] >= 1.2
    assert finding.fix is not None
    assert finding.fix.startswith(f"SELECT pg_terminate_backend({h.pid});")
    assert "idle_in_transaction_session_timeout" in finding.fix


def test_idle_session_outside_a_transaction_is_fine(db: TestDatabase) -> None:
    with psycopg.connect(db.dsn, autocommit=True) as conn:
        conn.execute("select 1")
        time.sleep(1.2)
        found = run_rule(snapshot(db.dsn), "server.idle_in_transaction", max_idle_s=1.0)
    assert _mine(found, db) == []


# -- server.lock_waits ---------------------------------------------------------------


def test_lock_chain_reports_its_root_blocker(db: TestDatabase) -> None:
    work(db.dsn, "create table t (id int primary key)", "insert into t values (1)")
    with (
        LockHolder(db.dsn, "select * from t") as root,
        BlockedStatement(db.dsn, "alter table t add column note text") as first,
    ):
        first.wait_until_blocked()
        with BlockedStatement(db.dsn, "select count(*) from t") as second:
            # the classic chain: a reader queued behind DDL that waits for an idle
            # transaction
            second.wait_until_blocked()
            found = run_rule(snapshot(db.dsn), "server.lock_waits")
            with psycopg.connect(db.dsn, autocommit=True) as conn:
                conn.execute("select pg_terminate_backend(%s)", [root.pid])
    [finding] = [f for f in found if f.object == f"pid {root.pid}"]
    assert finding.evidence["root_blocker"]["pid"] == root.pid
    assert finding.evidence["root_blocker"]["state"] == "idle in transaction"
    waiting = {w["pid"]: w for w in finding.evidence["waiting"]}
    assert set(waiting) == {first.pid, second.pid}
    assert waiting[second.pid]["depth"] == 2  # root -> first -> second
    assert finding.evidence["blocked_count"] == 2
    assert finding.fix is not None
    assert f"pg_terminate_backend({root.pid})" in finding.fix
    # the waiters are not roots: no finding names them
    assert not [f for f in found if f.object in (f"pid {first.pid}", f"pid {second.pid}")]


def test_no_lock_waits_no_finding(db: TestDatabase) -> None:
    work(db.dsn, "create table t (id int primary key)")
    with LockHolder(db.dsn, "select * from t"):
        found = run_rule(snapshot(db.dsn), "server.lock_waits")
    assert [f for f in found if f.evidence["root_blocker"].get("datname") == db.name] == []


# -- server.deadlocks --------------------------------------------------------------------


def _deadlock(db: TestDatabase) -> None:
    """Two sessions update two rows in opposite orders: the server aborts one."""
    work(
        db.dsn, "create table t (id int primary key, v int)", "insert into t values (1, 0), (2, 0)"
    )
    errors: list[BaseException] = []
    barrier = threading.Barrier(2)

    def session(first: int, second: int) -> None:
        with psycopg.connect(db.dsn) as conn:
            try:
                conn.execute("update t set v = v + 1 where id = %s", [first])
                barrier.wait(10)
                conn.execute("update t set v = v + 1 where id = %s", [second])
                conn.commit()
            except psycopg.errors.DeadlockDetected as exc:
                errors.append(exc)
                conn.rollback()
            conn.autocommit = True
            flush_stats(conn)

    threads = [threading.Thread(target=session, args=args) for args in ((1, 2), (2, 1))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(errors) == 1, errors


def test_real_deadlock_is_reported(db: TestDatabase) -> None:
    _deadlock(db)
    found = run_rule(snapshot(db.dsn), "server.deadlocks")
    [finding] = _mine(found, db)
    assert finding.evidence["deadlocks"] == 1
    assert finding.object == f"database {db.name}"


def test_deadlock_before_the_interval_is_not_reported_again(db: TestDatabase) -> None:
    _deadlock(db)
    before = snapshot(db.dsn)
    work(db.dsn, "update t set v = 0")
    after = snapshot(db.dsn)
    assert _mine(run_rule(after, "server.deadlocks", before), db) == []
    # while the cumulative counters still show it
    assert _mine(run_rule(after, "server.deadlocks"), db)


def test_database_without_deadlocks(db: TestDatabase) -> None:
    work(db.dsn, "create table t (id int)", "insert into t values (1)")
    assert _mine(run_rule(snapshot(db.dsn), "server.deadlocks"), db) == []


# -- server.idle_connections -------------------------------------------------------------


def _idle_sessions(db: TestDatabase, n: int, stack: ExitStack) -> None:
    for _ in range(n):
        conn = stack.enter_context(
            psycopg.connect(db.dsn, autocommit=True, application_name="idle-app")
        )
        conn.execute("select 1")


def test_many_idle_connections(db: TestDatabase) -> None:
    with ExitStack() as stack:
        _idle_sessions(db, 12, stack)
        found = run_rule(snapshot(db.dsn), "server.idle_connections", min_idle=10)
    [finding] = found
    assert finding.evidence["idle_connections"] >= 12
    by_client: dict[str, Any] = finding.evidence["idle_by_client"]
    assert by_client[f"postgres@{db.name} idle-app"] == 12
    assert finding.fix is not None and "PgBouncer" in finding.fix


def test_few_idle_connections(db: TestDatabase) -> None:
    with ExitStack() as stack:
        _idle_sessions(db, 2, stack)
        found = run_rule(snapshot(db.dsn), "server.idle_connections", min_idle=10)
    assert found == []


# -- server.checkpoints_requested ---------------------------------------------------------


def test_checkpoint_commands_are_requested_checkpoints(db: TestDatabase) -> None:
    work(db.dsn, "create table t (id int, v text)")
    before = snapshot(db.dsn)
    for i in range(12):
        work(db.dsn, f"insert into t select g, md5(g::text) from generate_series(1, {500 + i}) g")
        work(db.dsn, "checkpoint")
    after = snapshot(db.dsn)
    [finding] = run_rule(after, "server.checkpoints_requested", before)
    assert finding.evidence["checkpoints_requested"] >= 12
    assert finding.evidence["checkpoints_requested"] > finding.evidence["checkpoints_timed"]
    assert finding.evidence["source"] == (
        "pg_stat_checkpointer" if db.major >= 17 else "pg_stat_bgwriter"
    )
    assert finding.evidence["wal_rate_window"] == "interval"
    assert finding.evidence["wal_bytes_per_s"] > 0
    assert finding.evidence["max_wal_size_bytes"] == 1024**3


def test_interval_without_checkpoint_requests(db: TestDatabase) -> None:
    before = snapshot(db.dsn)
    work(db.dsn, "create table t as select g from generate_series(1, 1000) g")
    after = snapshot(db.dsn)
    assert run_rule(after, "server.checkpoints_requested", before) == []


# -- server.archiving_off, server.durability_off, server.pending_restart,
#    server.config_errors, server.replication_slot: the negative side on a default server


def test_archiving_is_off_on_a_default_server(db: TestDatabase) -> None:
    [finding] = run_rule(snapshot(db.dsn), "server.archiving_off")
    assert finding.evidence["archive_mode"] == "off"
    assert finding.fix is not None and finding.fix.startswith("archive_mode = on")


@pytest.mark.parametrize(
    "rule_id",
    [
        "server.durability_off",
        "server.pending_restart",
        "server.config_errors",
        "server.archiver_failing",
        "server.replication_slot",
        "server.connection_saturation",
    ],
)
def test_default_server_has_no_configuration_findings(db: TestDatabase, rule_id: str) -> None:
    assert run_rule(snapshot(db.dsn), rule_id) == []
