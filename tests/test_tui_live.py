"""The monitor's headless core against real servers (PG 18 and 15)."""

from __future__ import annotations

import contextlib
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from pgtune_hx.db import Guard, connect
from pgtune_hx.errors import InsufficientPrivilege
from pgtune_hx.tui.detail import explain, session_detail, signal_backend
from pgtune_hx.tui.live import CORE_SECTIONS, LOCK_SECTIONS, STATEMENT_SECTIONS, LiveCollector
from pgtune_hx.tui.locktree import walk
from pgtune_hx.tui.model import ActivityFilter, RefreshModel, View, arrange
from tests.helpers.locks import BlockedStatement, LockHolder
from tests.helpers.roles import monitor_only_role
from tests.helpers.servers import TestDatabase

GUARD = Guard()


def refresh(
    collector: LiveCollector, model: RefreshModel, extra: frozenset[str] = frozenset()
) -> View:
    return model.update(collector.collect(CORE_SECTIONS | extra))


@contextlib.contextmanager
def monitor(dsn: str) -> Iterator[tuple[LiveCollector, RefreshModel]]:
    with connect(dsn, GUARD) as conn:
        yield LiveCollector(conn), RefreshModel()


def _table(db: TestDatabase) -> None:
    db.execute("create table t (id int primary key, v int)")
    db.execute("insert into t select g, g from generate_series(1, 1000) g")


def test_lock_chain_has_the_right_root_and_queue_waiters(db: TestDatabase) -> None:
    _table(db)
    with (
        LockHolder(db.dsn, "update t set v = 0 where id = 1", application_name="root") as holder,
        BlockedStatement(db.dsn, "update t set v = 2 where id = 1") as row_waiter,
    ):
        row_waiter.wait_until_blocked()
        with BlockedStatement(db.dsn, "alter table t add column w int") as locker:
            locker.wait_until_blocked()
            with BlockedStatement(db.dsn, "select count(*) from t") as reader:
                reader.wait_until_blocked()
                with monitor(db.dsn) as (collector, model):
                    view = refresh(collector, model, LOCK_SECTIONS)
                holder.conn.rollback()  # type: ignore[union-attr]
    assert [root.pid for root in view.lock_forest] == [holder.pid]
    root = view.lock_forest[0]
    assert root.waiting_behind == 3
    nodes = {node.pid: node for node in walk(view.lock_forest)}
    # the SELECT waits behind the queued ACCESS EXCLUSIVE request, not behind the root
    assert nodes[reader.pid].parent == locker.pid
    assert nodes[locker.pid].parent == holder.pid
    assert "AccessExclusiveLock on public.t" in view.awaited[locker.pid]
    assert view.awaited[row_waiter.pid].startswith("ShareLock on transaction")
    session = view.session(reader.pid)
    assert session is not None and session.waiting_on_lock
    assert view.overview.lock_waiting >= 3
    assert row_waiter.error is None and reader.error is None


def test_rates_are_measured_and_a_stats_reset_gives_na_for_one_refresh(db: TestDatabase) -> None:
    with monitor(db.dsn) as (collector, model), db.admin() as admin:
        first = refresh(collector, model)
        for _ in range(50):
            admin.execute("select 1")
        # a backend flushes its counters when idle, at most once a second (15+)
        admin.execute("select pg_stat_force_next_flush()")
        time.sleep(0.3)
        view = refresh(collector, model)
        # the interval is the server clock between the two captures, not the nominal one
        assert view.interval_s == (view.captured - first.captured).total_seconds()
        assert view.interval_s >= 0.3
        assert view.overview.tps is not None and view.overview.tps > 0
        assert view.overview.wal_bytes_s is not None and view.overview.wal_bytes_s >= 0
        admin.execute("select pg_stat_reset()")
        time.sleep(0.05)
        after = refresh(collector, model)
        assert after.overview.tps is None
        assert any("reset" in note for note in after.overview.notes)
        time.sleep(0.3)
        again = refresh(collector, model)
        assert again.overview.tps is not None and again.overview.tps >= 0


def test_statements_carry_texts_and_per_second_rates(db: TestDatabase) -> None:
    _table(db)
    marker = f"tui_{uuid.uuid4().hex[:8]}"
    query = f"select v as {marker} from t where id = $1"
    with monitor(db.dsn) as (collector, model), db.admin() as admin:
        for i in range(5):
            admin.execute(f"select v as {marker} from t where id = %s", [i])
        refresh(collector, model, STATEMENT_SECTIONS)
        for i in range(20):
            admin.execute(f"select v as {marker} from t where id = %s", [i])
        time.sleep(0.2)
        view = refresh(collector, model, STATEMENT_SECTIONS)
    assert view.statements is not None and view.statements.error is None
    mine = [r for r in view.statements.rows if r.query == query]
    assert len(mine) == 1
    row = mine[0]
    assert row.calls == 25
    assert row.datname == db.name
    assert row.calls_s is not None and view.statements.interval_s is not None
    assert row.calls_s == pytest.approx(20 / view.statements.interval_s)
    # the connected database's statements by default, every database's on request
    assert {r.datname for r in view.statements.rows} == {db.name}
    with connect(db.dsn, GUARD) as conn:
        everywhere = LiveCollector(conn)
        everywhere.all_databases = True
        rows = everywhere.collect(STATEMENT_SECTIONS).rows("statements")
    assert {r["datname"] for r in rows} - {db.name}


def test_statements_entry_reset_gives_na_not_negative(db: TestDatabase) -> None:
    marker = f"tui_{uuid.uuid4().hex[:8]}"
    with monitor(db.dsn) as (collector, model), db.admin() as admin:
        for _ in range(10):
            admin.execute(f"select 1 as {marker}")
        refresh(collector, model, STATEMENT_SECTIONS)
        dbid = admin.execute("select oid from pg_database where datname = current_database()")
        oid = dbid.fetchone()["oid"]  # type: ignore[index]
        admin.execute("select pg_stat_statements_reset(0, %s::oid, 0)", [oid])
        admin.execute(f"select 1 as {marker}")
        view = refresh(collector, model, STATEMENT_SECTIONS)
    assert view.statements is not None
    mine = [r for r in view.statements.rows if r.query == f"select $1 as {marker}"]
    assert mine and mine[0].calls == 1
    assert mine[0].calls_s is None


@pytest.fixture
def monitor_role(db: TestDatabase) -> Iterator[str]:
    with monitor_only_role(db) as role:
        yield role


def test_pg_monitor_role_sees_everything_but_cannot_signal(
    db: TestDatabase, monitor_role: str
) -> None:
    _table(db)
    dsn = f"{db.dsn} user={monitor_role}"
    with (
        LockHolder(db.dsn, "lock table t in access exclusive mode") as holder,
        BlockedStatement(db.dsn, "select count(*) from t") as waiter,
    ):
        waiter.wait_until_blocked()
        with monitor(dsn) as (collector, model):
            view = refresh(collector, model, STATEMENT_SECTIONS)
        with pytest.raises(InsufficientPrivilege, match="pg_signal_backend"):
            signal_backend(dsn, GUARD, holder.pid, None, "terminate")
        holder.conn.rollback()  # type: ignore[union-attr]
    assert not view.can_signal
    reasons = {lim.panel: lim.reason for lim in view.limitations}
    assert "lacks pg_signal_backend" in reasons["Locks"]
    assert "Activity" not in reasons  # pg_monitor reads every session
    assert [root.pid for root in view.lock_forest] == [holder.pid]
    session = view.session(waiter.pid)
    assert session is not None and session.query == "select count(*) from t"
    assert view.statements is not None and view.statements.error is None


def test_cancel_ends_the_statement_and_terminate_ends_the_session(db: TestDatabase) -> None:
    with BlockedStatement(db.dsn, "select pg_sleep(30)") as sleeper:
        deadline = time.monotonic() + 10
        with psycopg.connect(db.dsn, autocommit=True) as conn:
            while time.monotonic() < deadline:
                row = conn.execute(
                    "select backend_start::text, state from pg_stat_activity where pid = %s",
                    [sleeper.pid],
                ).fetchone()
                if row and row[1] == "active":
                    break
                time.sleep(0.02)
        assert row is not None
        stale = signal_backend(db.dsn, GUARD, sleeper.pid, "2000-01-01 00:00:00+00", "cancel")
        assert not stale.done and "another session" in stale.message
        result = signal_backend(db.dsn, GUARD, sleeper.pid, row[0], "cancel")
        assert result.done
        assert sleeper.done.wait(10)
    assert isinstance(sleeper.error, psycopg.errors.QueryCanceled)
    with LockHolder(db.dsn, "select 1") as holder, psycopg.connect(db.dsn, autocommit=True) as conn:
        start = conn.execute(
            "select backend_start::text from pg_stat_activity where pid = %s", [holder.pid]
        ).fetchone()
        assert start is not None
        assert signal_backend(db.dsn, GUARD, holder.pid, start[0], "terminate").done
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            gone = conn.execute(
                "select count(*) from pg_stat_activity where pid = %s", [holder.pid]
            ).fetchone()
            if gone and gone[0] == 0:
                break
            time.sleep(0.05)
        assert gone is not None and gone[0] == 0


def test_session_detail_shows_awaited_lock_statement_and_plan(db: TestDatabase) -> None:
    _table(db)
    with LockHolder(db.dsn, "select * from t where id = 5 for update") as _holder:
        with BlockedStatement(db.dsn, "update t set v = v + 1 where id = 5") as waiter:
            waiter.wait_until_blocked()
            detail = session_detail(
                db.dsn,
                GUARD,
                pid=waiter.pid,
                datname=db.name,
                datid=None,
                query_id=None,
                query="update t set v = v + 1 where id = 5",
            )
            _holder.conn.rollback()  # type: ignore[union-attr]
    awaited = [lock for lock in detail.locks if not lock["granted"]]
    assert awaited and awaited[0]["locktype"] == "transactionid"
    assert any(lock.get("relname") == "t" for lock in detail.locks)
    assert detail.plan is not None and detail.plan.error is None
    assert detail.plan.text is not None and "Update on t" in detail.plan.text
    assert detail.plan.method == "EXPLAIN"


def test_generic_plan_for_normalized_text_with_plan_findings(db: TestDatabase) -> None:
    _table(db)
    db.execute("insert into t select g, g % 7 from generate_series(1001, 20000) g")
    db.execute("analyze t")
    with connect(db.dsn, GUARD) as conn:
        plan = explain(conn, "select * from t where id = $1")
        scan = explain(conn, "select * from t where v = 3")
        utility = explain(conn, "vacuum t")
        broken = explain(conn, "select * from t where")
    assert plan.error is None and plan.text is not None
    assert "Index Scan using t_pkey on t" in plan.text
    assert "Index Cond: (id = $1)" in plan.text
    if db.major >= 16:
        assert plan.method == "EXPLAIN (GENERIC_PLAN)"
    else:
        assert plan.method.startswith("generic plan of a PREPAREd statement")
    assert scan.text is not None and scan.text.startswith("Seq Scan on t")
    assert "Filter: (v = 3)" in scan.text
    assert utility.error is not None and "can be explained" in utility.error
    assert broken.error is not None


def test_explain_analyze_runs_selects_only_and_finds_the_selective_seq_scan(
    db: TestDatabase,
) -> None:
    db.execute("create table big (id int, v int)")
    db.execute("insert into big select g, g % 1000 from generate_series(1, 30000) g")
    db.execute("analyze big")
    with connect(db.dsn, GUARD) as conn:
        plan = explain(conn, "select * from big where v = 7", analyze=True)
        refused = explain(conn, "delete from big where v = 7", analyze=True)
    assert plan.error is None and plan.text is not None
    assert plan.method.startswith("EXPLAIN (ANALYZE")
    assert "actual time=" in plan.text and "rows=30 loops=1" in plan.text
    found = [f for f in plan.findings if f.code == "selective-seq-scan"]
    assert found and "30,000 rows to return 30" in found[0].message
    assert refused.error is not None and "may write" in refused.error
    assert db.execute("select count(*) as n from big where v = 7")[0]["n"] == 30


def test_session_detail_finds_its_statement_by_query_id(db: TestDatabase) -> None:
    marker = f"tui_{uuid.uuid4().hex[:8]}"
    db.execute(f"select pg_sleep(0.01) as {marker}")
    with BlockedStatement(db.dsn, f"select pg_sleep(30.0) as {marker}") as sleeper:
        with monitor(db.dsn) as (collector, model):
            deadline = time.monotonic() + 10
            session = None
            while time.monotonic() < deadline and (session is None or session.query_id is None):
                session = refresh(collector, model).session(sleeper.pid)
                time.sleep(0.05)
        assert session is not None and session.query_id is not None
        detail = session_detail(
            db.dsn,
            GUARD,
            pid=session.pid,
            datname=session.datname,
            datid=session.datid,
            query_id=session.query_id,
            query=session.query,
        )
        with psycopg.connect(db.dsn, autocommit=True) as conn:
            conn.execute("select pg_cancel_backend(%s)", [sleeper.pid])
    assert detail.errors == {}
    assert [r["query"] for r in detail.statements] == [f"select pg_sleep($1) as {marker}"]
    assert detail.statements[0]["calls"] >= 1
    assert detail.plan is not None and detail.plan.text is not None
    assert detail.plan.text.startswith("Result")


def test_session_detail_shows_the_progress_of_create_index(db: TestDatabase) -> None:
    _table(db)
    # CREATE INDEX CONCURRENTLY waits for the open writer: its progress row says so
    with LockHolder(db.dsn, "update t set v = v where id = 1") as holder:
        with BlockedStatement(db.dsn, "create index concurrently t_v on t (v)") as builder:
            builder.wait_until_blocked()
            detail = session_detail(
                db.dsn,
                GUARD,
                pid=builder.pid,
                datname=db.name,
                datid=None,
                query_id=None,
                query="create index concurrently t_v on t (v)",
            )
            holder.conn.rollback()  # type: ignore[union-attr]
    views = [view for view, _ in detail.progress]
    assert views == ["create_index"]
    row = detail.progress[0][1]
    assert row["command"] == "CREATE INDEX CONCURRENTLY"
    assert str(row["phase"]).startswith("waiting for")
    assert detail.plan is not None and detail.plan.error is not None  # DDL has no plan


def test_parallel_workers_sit_under_their_leader(db: TestDatabase) -> None:
    db.execute("create table par as select g as id from generate_series(1, 5000) g")
    db.execute("analyze par")
    parallel = (
        "set max_parallel_workers_per_gather = 2; set parallel_setup_cost = 0; "
        "set parallel_tuple_cost = 0; set min_parallel_table_scan_size = 0"
    )
    with psycopg.connect(db.dsn, autocommit=True) as leader_conn:
        leader_conn.execute(parallel)
        leader = leader_conn.info.backend_pid
        done = threading.Event()

        def run() -> None:
            with contextlib.suppress(psycopg.errors.QueryCanceled):
                leader_conn.execute("select count(*) from par where pg_sleep(0.002) is not null")
            done.set()

        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        try:
            with psycopg.connect(db.dsn, autocommit=True) as conn:
                deadline = time.monotonic() + 10
                workers: list[Any] = []
                while time.monotonic() < deadline and len(workers) < 2:
                    workers = conn.execute(
                        "select pid from pg_stat_activity where leader_pid = %s and pid <> %s",
                        [leader, leader],
                    ).fetchall()
                    time.sleep(0.02)
                assert len(workers) == 2, "no parallel workers started"
                with monitor(db.dsn) as (collector, model):
                    view = refresh(collector, model)
                conn.execute("select pg_cancel_backend(%s)", [leader])
        finally:
            assert done.wait(30)
            thread.join(5)
    arranged = arrange(view.sessions, ActivityFilter())
    pids = [row.pid for row, _ in arranged]
    at = pids.index(leader)
    under = arranged[at + 1 : at + 3]
    assert sorted(row.pid for row, _ in under) == sorted(w[0] for w in workers)
    assert all(depth == 1 and row.leader_pid == leader for row, depth in under)
    assert arranged[at][1] == 0


def test_a_refresh_on_a_broken_session_raises_connection_lost(db: TestDatabase) -> None:
    from pgtune_hx.tui.live import ConnectionLost

    with connect(db.dsn, GUARD) as conn:
        collector = LiveCollector(conn)
        pid = conn.info.backend_pid
        with psycopg.connect(db.dsn, autocommit=True) as admin:
            admin.execute("select pg_terminate_backend(%s)", [pid])
        with pytest.raises(ConnectionLost):
            collector.collect(CORE_SECTIONS)
