"""Server-wide sections against real activity: database counters, sequences near
exhaustion, WAL, background processes, I/O, extensions, configuration files."""

from __future__ import annotations

from pgtune_hx.collect.snapshot import collect_snapshot
from pgtune_hx.db import connect
from tests.helpers.servers import TestDatabase
from tests.helpers.stats import flush


def test_database_wal_background_and_extensions(db: TestDatabase) -> None:
    with db.admin() as conn:
        conn.execute("create table w (id int, pad text)")
        conn.execute("insert into w select g, repeat('x', 200) from generate_series(1, 3000) g")
        conn.execute("set work_mem = '64kB'")
        conn.execute("select * from w order by pad desc, id").fetchall()  # spills to disk
        conn.execute("begin")
        conn.execute("insert into w values (0)")
        conn.execute("rollback")
        flush(conn)
    with connect(db.dsn) as conn:
        snap = collect_snapshot(conn)

    databases = {r["datname"]: r for r in snap.rows("database")}
    mine = databases[db.name]
    assert mine["is_current"] is True
    assert mine["xact_commit"] > 0
    assert mine["xact_rollback"] >= 1
    assert mine["temp_files"] >= 1 and mine["temp_bytes"] > 0  # the sort spilled
    assert mine["size_bytes"] > 3000 * 200
    assert mine["xid_age"] > 0
    assert 0 < mine["cache_hit_ratio"] <= 1
    assert None in databases  # the shared-catalog row (datid 0)
    assert snap.server["stats_reset"].keys() >= {"statements", "bgwriter", "checkpointer"}

    wal = snap.rows("wal")[0]
    assert wal["wal_lsn_bytes"] > 0
    if db.major >= 14:
        assert wal["wal_bytes"] > 3000 * 200
    checkpointer = snap.rows("checkpointer")[0]
    assert {"num_timed", "num_requested", "write_time", "buffers_written"} <= set(checkpointer)
    bgwriter = snap.rows("bgwriter")[0]
    assert "buffers_clean" in bgwriter
    assert ("buffers_backend" in bgwriter) == (db.major < 17)
    if db.major >= 16:
        io = snap.rows("io")
        assert any(r["backend_type"] == "client backend" and r["object"] == "relation" for r in io)
    archiver = snap.rows("archiver")[0]
    assert archiver["archive_mode"] == "off" and archiver["failing"] is False
    assert snap.rows("replication") == [] and snap.rows("replication_slots") == []
    assert "safe_wal_size" in snap.section("replication_slots").columns

    extensions = {r["extname"]: r for r in snap.rows("extensions")}
    assert extensions["pg_stat_statements"]["schema"] == "public"
    assert extensions["plpgsql"]["update_available"] is False
    files = snap.rows("file_settings")
    assert any(r["name"] == "shared_preload_libraries" for r in files)
    assert all(r["error"] is None for r in files)


def test_sequences_near_exhaustion_count_the_column_type(db: TestDatabase) -> None:
    with db.admin() as conn:
        conn.execute("create table small (id serial primary key)")  # integer sequence
        conn.execute("select setval('small_id_seq', 2147483647 - 1000)")
        # a bigint sequence feeding an integer column: exhausted at 2^31-1, not 2^63-1
        conn.execute("create sequence wide as bigint")
        conn.execute("create table legacy (id integer default nextval('wide'))")
        conn.execute("alter sequence wide owned by legacy.id")
        conn.execute("select setval('wide', 2000000000)")
        conn.execute("create sequence down increment by -1 minvalue -100 maxvalue -1 start -1")
        conn.execute("select setval('down', -90)")
        conn.execute("create sequence fresh")
    with connect(db.dsn) as conn:
        snap = collect_snapshot(conn, ["sequences"])
    sequences = {r["sequencename"]: r for r in snap.rows("sequences")}

    small = sequences["small_id_seq"]
    assert small["data_type"] == "integer" and small["owned_by"] == "public.small.id"
    assert small["remaining"] == 1000
    assert small["used_ratio"] > 0.999

    wide = sequences["wide"]
    assert wide["data_type"] == "bigint" and wide["column_type"] == "integer"
    assert wide["usable_limit"] == 2147483647
    assert wide["remaining"] == 2147483647 - 2000000000
    assert 0.93 < wide["used_ratio"] < 0.94

    down = sequences["down"]
    assert down["remaining"] == 10
    assert 0.89 < down["used_ratio"] < 0.91
    assert sequences["fresh"]["last_value"] is None  # never called: nothing used
    assert snap.section("sequences").skipped == []
