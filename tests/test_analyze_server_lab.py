"""Server rules that need a server of their own: tiny shared_buffers with the
background writer off (real backend writes, real cache misses), few
connections (real saturation), archiving on with a failing archive_command,
replication slots, settings changed and broken for real.

One lab server per PostgreSQL version (18 and 15), for this module only.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import psycopg
import pytest

from pgtune_hx.analyze.findings import Severity
from pgtune_hx.embedded import SYSTEM_PG15, EmbeddedServer
from tests.helpers.analysis import run_rule, snapshot, work

LAB_SETTINGS = {
    "shared_buffers": "1MB",
    "bgwriter_lru_maxpages": "0",
    "max_connections": "20",
    "archive_mode": "on",
    "archive_command": "'false'",
    "log_min_messages": "fatal",
}


@pytest.fixture(scope="module", params=["pg18", "pg15"])
def lab(request: pytest.FixtureRequest) -> Iterator[EmbeddedServer]:
    bin_dir = None
    if request.param == "pg15":
        if not (SYSTEM_PG15 / "postgres").exists():
            pytest.skip(f"PostgreSQL 15 binaries not installed at {SYSTEM_PG15}")
        bin_dir = SYSTEM_PG15
    base = Path(tempfile.mkdtemp(prefix=f"pgtune_hx-test-lab-{request.param}-"))
    base.chmod(0o755)
    server = EmbeddedServer(base, bin_dir, settings=LAB_SETTINGS)
    server.start()
    try:
        with psycopg.connect(server.dsn(), autocommit=True) as conn:
            conn.execute("create database lab")
        yield server
    finally:
        server.stop(mode="immediate")
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def dsn(lab: EmbeddedServer) -> str:
    return lab.dsn("lab")


def _admin(dsn: str) -> psycopg.Connection[Any]:
    return psycopg.connect(dsn, autocommit=True)


def _wait_for(dsn: str, sql: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    with _admin(dsn) as conn:
        while time.monotonic() < deadline:
            row = conn.execute(sql.encode()).fetchone()
            if row and row[0]:
                return
            time.sleep(0.1)
    raise TimeoutError(sql)


def _fresh_table(dsn: str) -> None:
    """About 5 MB of rows: five times the lab's shared_buffers."""
    work(
        dsn,
        "drop table if exists big",
        "create table big (id int, pad text) with (autovacuum_enabled = false)",
        "insert into big select g, repeat(md5(g::text), 4) from generate_series(1, 30000) g",
        "vacuum big",
        "checkpoint",
    )


# -- server.backend_writes -----------------------------------------------------------


def test_backends_write_dirty_buffers_themselves(dsn: str) -> None:
    _fresh_table(dsn)
    before = snapshot(dsn)
    work(dsn, "update big set pad = upper(pad)")
    after = snapshot(dsn)
    [finding] = run_rule(after, "server.backend_writes", before, min_writes=100)
    assert finding.evidence["backend_writes"] >= 300  # most of the ~10 MB written
    assert finding.evidence["bgwriter_writes"] == 0  # bgwriter_lru_maxpages = 0
    assert finding.evidence["backend_share"] > 0.5
    assert finding.evidence["source"] == ("pg_stat_io" if after.has("io") else "pg_stat_bgwriter")
    assert finding.evidence["bgwriter_lru_maxpages"] == 0
    assert finding.fix is not None and finding.fix.startswith("bgwriter_lru_maxpages = 100")


def test_reading_clean_buffers_writes_nothing(dsn: str) -> None:
    _fresh_table(dsn)
    before = snapshot(dsn)
    work(dsn, "select count(*) from big", "select count(*) from big")
    after = snapshot(dsn)
    assert run_rule(after, "server.backend_writes", before, min_writes=100) == []


# -- workload.cache_hit_ratio ---------------------------------------------------------


def test_table_larger_than_shared_buffers_lowers_the_hit_ratio(dsn: str) -> None:
    _fresh_table(dsn)
    before = snapshot(dsn)
    work(dsn, *["select count(*) from big where pad like 'x%'"] * 3)
    after = snapshot(dsn)
    [finding] = run_rule(after, "workload.cache_hit_ratio", before, min_reads=500)
    assert finding.evidence["hit_ratio"] < 0.9
    assert finding.evidence["blks_read"] >= 3 * 500
    assert finding.evidence["top_objects"][0]["table"] == "public.big"
    assert finding.evidence["shared_buffers_bytes"] == 1024 * 1024
    # 1 MB of shared_buffers is far below 25% of this machine's memory
    assert finding.fix_kind == "config"
    assert finding.fix is not None and finding.fix.startswith("shared_buffers = '")


# -- server.connection_saturation ------------------------------------------------------


def test_connections_near_max_connections(dsn: str) -> None:
    with ExitStack() as stack:
        for _ in range(14):  # 20 - 3 reserved for superusers = 17 usable
            stack.enter_context(_admin(dsn)).execute("select 1")
        found = run_rule(snapshot(dsn), "server.connection_saturation")
    [finding] = found
    assert finding.evidence["max_connections"] == 20
    assert finding.evidence["usable_connections"] == 17
    assert finding.evidence["client_connections"] >= 14
    assert finding.severity in (Severity.warning, Severity.critical)
    assert finding.evidence["by_state"]["idle"] >= 14


def test_few_connections_are_no_saturation(dsn: str) -> None:
    with _admin(dsn) as conn:
        conn.execute("select 1")
        assert run_rule(snapshot(dsn), "server.connection_saturation") == []


# -- server.replication_slot ---------------------------------------------------------


def test_inactive_slot_retaining_wal(dsn: str) -> None:
    with _admin(dsn) as conn:
        conn.execute("select pg_create_physical_replication_slot('lost_standby', true)")
    try:
        work(
            dsn, "create table wal_maker as select g, md5(g::text) from generate_series(1, 20000) g"
        )
        found = run_rule(snapshot(dsn), "server.replication_slot", max_retained_bytes=1024**2)
    finally:
        work(dsn, "select pg_drop_replication_slot('lost_standby')", "drop table wal_maker")
    [finding] = found
    assert finding.object == "slot lost_standby"
    assert finding.evidence["active"] is False
    assert finding.evidence["retained_bytes"] >= 1024**2
    assert finding.evidence["wal_status"] == "reserved"
    assert finding.confidence == "high"
    assert finding.fix is not None
    assert finding.fix.startswith("SELECT pg_drop_replication_slot('lost_standby');")


def test_no_slots_no_finding(dsn: str) -> None:
    assert run_rule(snapshot(dsn), "server.replication_slot") == []


# -- server.archiver_failing, server.archiving_off ---------------------------------------


def _set_archive_command(dsn: str, command: str) -> None:
    with _admin(dsn) as conn:
        conn.execute(f"alter system set archive_command = '{command}'".encode())
        conn.execute("select pg_reload_conf()")


def test_failing_archive_command(dsn: str) -> None:
    _set_archive_command(dsn, "false")
    work(dsn, "create table if not exists a (id int)", "insert into a values (1)")
    work(dsn, "select pg_switch_wal()")
    _wait_for(dsn, "select failed_count > 0 from pg_stat_archiver")
    [finding] = run_rule(snapshot(dsn), "server.archiver_failing")
    assert finding.severity is Severity.critical
    assert finding.evidence["failed_count"] >= 1
    assert finding.evidence["archive_command"] == "false"
    assert finding.evidence["last_failed_wal"] is not None


def test_archiving_that_works_again(dsn: str) -> None:
    _set_archive_command(dsn, "true")
    work(dsn, "create table if not exists a (id int)", "insert into a values (2)")
    work(dsn, "select pg_switch_wal()")
    _wait_for(
        dsn,
        "select last_archived_time is not null "
        "and (last_failed_time is null or last_archived_time > last_failed_time) "
        "from pg_stat_archiver",
    )
    snap = snapshot(dsn)
    assert run_rule(snap, "server.archiver_failing") == []
    assert run_rule(snap, "server.archiving_off") == []  # archive_mode = on here


# -- server.pending_restart, server.config_errors, server.durability_off ----------------


def test_setting_waiting_for_a_restart(dsn: str) -> None:
    with _admin(dsn) as conn:
        conn.execute("alter system set shared_buffers = '2MB'")
        conn.execute("select pg_reload_conf()")
    try:
        _wait_for(dsn, "select pending_restart from pg_settings where name = 'shared_buffers'")
        [finding] = run_rule(snapshot(dsn), "server.pending_restart")
    finally:
        with _admin(dsn) as conn:
            conn.execute("alter system reset shared_buffers")
            conn.execute("select pg_reload_conf()")
    [setting] = finding.evidence["settings"]
    assert setting["name"] == "shared_buffers"
    assert setting["running_value"] == "128"  # 128 pages of 8 kB = 1 MB
    assert setting["file_value"] == "2MB"


def test_no_pending_restart_after_reverting(dsn: str) -> None:
    _wait_for(dsn, "select not pending_restart from pg_settings where name = 'shared_buffers'")
    assert run_rule(snapshot(dsn), "server.pending_restart") == []


def test_invalid_line_in_a_configuration_file(lab: EmbeddedServer, dsn: str) -> None:
    conf = lab.data_dir / "pgtune_hx.conf"
    original = conf.read_text()
    conf.write_text(original + "shared_bufers = 64MB\n")  # misspelt
    try:
        found = run_rule(snapshot(dsn), "server.config_errors")
    finally:
        conf.write_text(original)
    [finding] = found
    [error] = finding.evidence["errors"]
    assert error["name"] == "shared_bufers"
    assert error["sourcefile"] == str(conf)
    assert error["sourceline"] == len(original.splitlines()) + 1
    assert error["error"] == "unrecognized configuration parameter"
    assert run_rule(snapshot(dsn), "server.config_errors") == []  # the file is fixed


def test_fsync_and_full_page_writes_off(dsn: str) -> None:
    with _admin(dsn) as conn:
        conn.execute("alter system set fsync = off")
        conn.execute("alter system set full_page_writes = off")
        conn.execute("select pg_reload_conf()")
    try:
        _wait_for(dsn, "select current_setting('fsync') = 'off'")
        found = run_rule(snapshot(dsn), "server.durability_off")
    finally:
        with _admin(dsn) as conn:
            conn.execute("alter system reset fsync")
            conn.execute("alter system reset full_page_writes")
            conn.execute("select pg_reload_conf()")
    assert {f.object for f in found} == {"fsync", "full_page_writes"}
    assert all(f.severity is Severity.critical for f in found)
    fsync = next(f for f in found if f.object == "fsync")
    assert fsync.evidence["source"] == "configuration file"
    assert fsync.evidence["sourcefile"].endswith("postgresql.auto.conf")
    assert fsync.fix == "fsync = on  # then SELECT pg_reload_conf();"
    _wait_for(dsn, "select current_setting('fsync') = 'on'")
    assert run_rule(snapshot(dsn), "server.durability_off") == []


def test_pending_restart_is_not_a_configuration_error(dsn: str) -> None:
    with _admin(dsn) as conn:
        conn.execute("alter system set max_connections = 25")
        conn.execute("select pg_reload_conf()")
    try:
        _wait_for(dsn, "select pending_restart from pg_settings where name = 'max_connections'")
        snap = snapshot(dsn)
    finally:
        with _admin(dsn) as conn:
            conn.execute("alter system reset max_connections")
            conn.execute("select pg_reload_conf()")
    # pg_file_settings marks the line "setting could not be applied"
    assert any(r["error"] for r in snap.rows("file_settings") if r["name"] == "max_connections")
    assert run_rule(snap, "server.config_errors") == []
    [finding] = run_rule(snap, "server.pending_restart")
    assert [s["name"] for s in finding.evidence["settings"]] == ["max_connections"]
