"""activity, blocking and locks against real sessions holding and waiting for real locks."""

from __future__ import annotations

from typing import Any

from pgtune_hx.collect.activity import blocking_graph
from pgtune_hx.collect.snapshot import collect_snapshot
from pgtune_hx.db import connect
from tests.helpers.locks import BlockedStatement, LockHolder
from tests.helpers.servers import TestDatabase


def test_lock_chain_has_its_root(db: TestDatabase) -> None:
    db.execute("create table queue (id int primary key, state text)")
    db.execute("insert into queue values (1, 'new')")
    # holder -> alter (waits for the holder) -> reader (queues behind the alter)
    with LockHolder(db.dsn, "begin", "lock table queue in share mode") as holder:
        with BlockedStatement(db.dsn, "alter table queue add column note text") as alter:
            alter.wait_until_blocked()
            with BlockedStatement(db.dsn, "select count(*) from queue") as reader:
                reader.wait_until_blocked()
                with connect(db.dsn) as conn:
                    snap = collect_snapshot(
                        conn, ["activity", "blocking", "locks", "prepared_xacts"]
                    )
                assert holder.conn is not None
                holder.conn.rollback()  # let the waiters finish before their threads are joined

    graph = {r["pid"]: r for r in snap.rows("blocking")}
    assert set(graph) == {holder.pid, alter.pid, reader.pid}
    root = graph[holder.pid]
    assert root["is_root"] and root["blocked_by"] == []
    assert root["blocks"] == [alter.pid]
    assert root["blocked_count"] == 2  # the alter and, behind it, the reader
    assert graph[alter.pid]["blocked_by"] == [holder.pid]
    assert graph[alter.pid]["depth"] == 1
    assert graph[reader.pid]["blocked_by"] == [alter.pid]
    assert graph[reader.pid]["root_pids"] == [holder.pid]
    assert graph[reader.pid]["depth"] == 2
    assert graph[reader.pid]["query"] == "select count(*) from queue"
    assert not any(r["in_cycle"] for r in graph.values())

    activity = {r["pid"]: r for r in snap.rows("activity")}
    assert activity[holder.pid]["state"] == "idle in transaction"
    assert activity[holder.pid]["xact_age_s"] > 0
    assert activity[alter.pid]["wait_event_type"] == "Lock"
    assert activity[alter.pid]["blocked_by"] == [holder.pid]
    assert activity[holder.pid]["blocked_by"] is None

    locks = snap.rows("locks")
    waiting = [lk for lk in locks if not lk["granted"]]
    assert {lk["pid"] for lk in waiting} == {alter.pid, reader.pid}
    assert all(lk["relation_name"] == "public.queue" for lk in waiting)
    held = [lk for lk in locks if lk["pid"] == holder.pid and lk["locktype"] == "relation"]
    assert [lk["mode"] for lk in held] == ["ShareLock"]
    if db.major >= 14:
        assert all(lk["wait_s"] is not None and lk["wait_s"] >= 0 for lk in waiting)
    assert snap.rows("prepared_xacts") == []
    assert "gid" in snap.section("prepared_xacts").columns


def test_blocking_graph_cycle_and_prepared_root() -> None:
    rows: list[dict[str, Any]] = [
        {"pid": 10, "blocked_by": [0]},  # waits for a prepared transaction
        {"pid": 11, "blocked_by": [10]},
        {"pid": 20, "blocked_by": [21]},  # a deadlock not yet detected
        {"pid": 21, "blocked_by": [20]},
        {"pid": 30, "blocked_by": None},
    ]
    graph = {r["pid"]: r for r in blocking_graph(rows)}
    assert graph[0]["kind"] == "prepared transaction"
    assert graph[0]["is_root"] and graph[0]["blocked_count"] == 2
    assert graph[11]["root_pids"] == [0] and graph[11]["depth"] == 2
    assert graph[20]["in_cycle"] and graph[21]["in_cycle"]
    assert graph[20]["root_pids"] == [] and graph[20]["depth"] is None
    assert 30 not in graph
