"""A snapshot never waits on a lock: objects under ACCESS EXCLUSIVE are skipped
(catalog figures instead of measurements) and everything else is collected."""

from __future__ import annotations

import psycopg

from pgtune_hx.collect.runner import Context, with_lock_retries
from pgtune_hx.collect.snapshot import collect_snapshot
from pgtune_hx.db import connect, probe
from tests.helpers.locks import BlockedStatement, LockHolder
from tests.helpers.servers import TestDatabase
from tests.helpers.stats import flush


def _setup(db: TestDatabase) -> None:
    """Two tables whose catalog figures went stale (four times the rows of their last
    ANALYZE): a snapshot measures such tables with the size functions."""
    with db.admin() as conn:
        for name in ("busy", "calm"):
            conn.execute(f"create table {name} (id serial primary key, v text)")
            conn.execute(f"create index {name}_v on {name} (lower(v)) where id > 10")
            conn.execute(f"insert into {name} (v) select 'x' || g from generate_series(1, 500) g")
            conn.execute(f"analyze {name}")
            conn.execute(f"insert into {name} (v) select 'y' || g from generate_series(1, 1500) g")
        flush(conn)
        conn.execute("create sequence tickets")


def _allowed_errors(db: TestDatabase) -> set[str]:
    return set() if db.major >= 16 else {"io"}


def test_access_exclusive_table_is_skipped_not_waited_for(db: TestDatabase) -> None:
    _setup(db)
    with LockHolder(
        db.dsn,
        "begin",
        "lock table busy in access exclusive mode",
        "alter sequence tickets restart with 5",
    ) as holder:
        with connect(db.dsn) as conn:
            snap = collect_snapshot(conn)

    assert set(snap.errors()) == _allowed_errors(db)
    tables = {r["relname"]: r for r in snap.rows("tables")}
    assert tables["busy"]["size_stale"] and tables["calm"]["size_stale"]
    assert tables["busy"]["size_source"] == "catalog"  # stale, but locked: not measured
    assert tables["busy"]["table_bytes"] == tables["busy"]["relpages"] * 8192
    assert tables["busy"]["n_tup_ins"] == 2000  # statistics need no lock
    assert tables["calm"]["size_source"] == "exact"
    assert tables["calm"]["table_bytes"] > tables["calm"]["relpages"] * 8192
    skipped = snap.section("tables").skipped
    assert len(skipped) == 1
    assert skipped[0].startswith("public.busy: size not read")
    assert f"AccessExclusiveLock held by pid {holder.pid}" in skipped[0]

    indexes = {r["indexrelname"]: r for r in snap.rows("indexes")}
    for name in ("busy_pkey", "busy_v"):
        assert indexes[name]["indexdef"] is None
        assert indexes[name]["indexdef_source"] == "none"
        assert indexes[name]["size_source"] == "catalog"
    assert indexes["busy_pkey"]["columns"] == ["id"]  # from pg_attribute
    assert indexes["busy_v"]["columns"] == [None]  # an expression: unknown without the def
    assert indexes["calm_v"]["expressions"] == ["lower(v)"]
    assert indexes["calm_v"]["indexdef"].startswith("CREATE INDEX calm_v")
    assert indexes["calm_v"]["indexdef_source"] == "pg_get_indexdef"
    assert indexes["calm_pkey"]["indexdef_source"] == "catalog"
    assert sorted(s.split(":")[0] for s in snap.section("indexes").skipped) == [
        "public.busy_pkey",
        "public.busy_v",
    ]

    sequences = {r["sequencename"]: r for r in snap.rows("sequences")}
    assert sequences["tickets"]["last_value"] is None
    assert sequences["tickets"]["locked"] is True
    assert sequences["calm_id_seq"]["last_value"] == 2000
    assert [s.split(":")[0] for s in snap.section("sequences").skipped] == ["public.tickets"]
    locks = [lk for lk in snap.rows("locks") if lk["pid"] == holder.pid]
    assert {"AccessExclusiveLock", "ShareRowExclusiveLock"} <= {lk["mode"] for lk in locks}


def test_awaited_access_exclusive_is_skipped_too(db: TestDatabase) -> None:
    """A waiting ACCESS EXCLUSIVE request makes every new reader queue behind it."""
    _setup(db)
    with LockHolder(db.dsn, "begin", "select count(*) from busy") as holder:
        with BlockedStatement(db.dsn, "alter table busy add column w int") as alter:
            alter.wait_until_blocked()
            with connect(db.dsn) as conn:
                snap = collect_snapshot(conn, ["tables", "indexes"])
            assert holder.conn is not None
            holder.conn.rollback()
    assert snap.errors() == {}
    tables = {r["relname"]: r for r in snap.rows("tables")}
    assert tables["busy"]["size_source"] == "catalog"
    assert tables["calm"]["size_source"] == "exact"
    assert f"awaited by pid {alter.pid}" in snap.section("tables").skipped[0]


def test_lock_taken_after_the_look_is_retried(db: TestDatabase) -> None:
    """The lock list can be stale; lock_timeout fires and a fresh look avoids the lock."""
    _setup(db)
    with LockHolder(db.dsn, "begin", "lock table busy in access exclusive mode"):
        with connect(db.dsn) as conn:
            ctx = Context(conn, probe(conn))
            looks: list[bool] = []

            def stale_then_fresh(refresh: bool) -> list[int]:
                looks.append(refresh)
                return ctx.exclusive_oids(refresh=True) if refresh else []

            with conn.transaction():
                result, exact = with_lock_retries(
                    ctx, "tables", stale_then_fresh, {"measure_min_tuples": 1000}
                )
    assert looks == [False, True]  # first try waited 100 ms and gave up; second avoided it
    assert exact
    sources = {r["relname"]: r["size_source"] for r in result.rows}
    assert sources == {"busy": "catalog", "calm": "exact"}


def test_lock_timeout_without_the_guard_would_have_waited(db: TestDatabase) -> None:
    """The premise: pg_total_relation_size really waits on an ACCESS EXCLUSIVE lock."""
    _setup(db)
    with LockHolder(db.dsn, "begin", "lock table busy in access exclusive mode"):
        with connect(db.dsn) as conn:
            try:
                conn.execute("select pg_total_relation_size('busy'::regclass)")
            except psycopg.errors.LockNotAvailable:
                waited = True
            else:
                waited = False
    assert waited
