"""The tuner against real servers (PG 18 and 15).

Configuration tests run on a throwaway server per version ("scratch"), never
on the shared session servers: they load a conf.d drop-in, run ALTER SYSTEM
and restart. Evidence tests make the evidence for real: spills, requested
checkpoints, evictions, dead tuples, idle connections.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql
from psycopg.rows import dict_row

from pgtune_hx import tune
from pgtune_hx.collect import load, save
from pgtune_hx.collect.snapshot import collect_snapshot
from pgtune_hx.db import connect
from pgtune_hx.embedded import SYSTEM_PG15, EmbeddedServer
from pgtune_hx.errors import UsageError
from pgtune_hx.tune import evidence, render
from pgtune_hx.tune.live import SECTIONS, server_state
from pgtune_hx.tune.model import Storage, Workload
from pgtune_hx.tune.sizes import GB
from pgtune_hx.tune.validate import parse_setting
from tests.helpers.servers import PgTarget, TestDatabase

SCRATCH_SETTINGS = {"shared_buffers": "16MB", "max_wal_size": "64MB", "min_wal_size": "32MB"}
HARDWARE = tune.Request(
    memory=2 * GB, cpus=2, storage=Storage.ssd, workload=Workload.oltp, evidence=False
)


@pytest.fixture(scope="module", params=["18", "15"])
def scratch_server(request: pytest.FixtureRequest) -> Iterator[EmbeddedServer]:
    bin_dir = None if request.param == "18" else SYSTEM_PG15
    if bin_dir is not None and not (bin_dir / "postgres").exists():
        pytest.skip(f"PostgreSQL 15 binaries not installed at {bin_dir}")
    base = Path(tempfile.mkdtemp(prefix=f"pgtune_hx-tune-{request.param}-"))
    base.chmod(0o755)
    server = EmbeddedServer(base, bin_dir, settings=SCRATCH_SETTINGS)
    server.start()
    conf = server.data_dir / "postgresql.conf"
    with conf.open("a") as handle:
        handle.write("include_dir = 'conf.d'\n")
    confd = server.data_dir / "conf.d"
    confd.mkdir(exist_ok=True)
    confd.chmod(0o755)
    server.restart()
    try:
        yield server
    finally:
        server.stop(mode="immediate")
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def scratch(scratch_server: EmbeddedServer) -> Iterator[EmbeddedServer]:
    """The throwaway server, put back to its own settings after each test."""
    yield scratch_server
    for path in (scratch_server.data_dir / "conf.d").glob("*.conf"):
        path.unlink()
    with psycopg.connect(scratch_server.dsn(), autocommit=True) as conn:
        conn.execute("alter system reset all")
    scratch_server.restart()


def admin(server: EmbeddedServer, dbname: str = "postgres") -> psycopg.Connection[dict[str, Any]]:
    return psycopg.connect(server.dsn(dbname), autocommit=True, row_factory=dict_row)


def file_errors(server: EmbeddedServer) -> list[dict[str, Any]]:
    with admin(server) as conn:
        return conn.execute(
            "select sourcefile, name, setting, error from pg_file_settings where error is not null"
        ).fetchall()


def assert_in_force(server: EmbeddedServer, rec: tune.Recommendation) -> None:
    """After a restart every change is the value in force, exactly."""
    with admin(server) as conn:
        rows = conn.execute("select name, setting from pg_settings").fetchall()
    live = {r["name"]: r["setting"] for r in rows}
    bounds = rec_bounds(server)
    for change in rec.changes:
        actual = parse_setting(live[change.name], bounds[change.name])
        if isinstance(change.recommended_setting, float):
            assert actual == pytest.approx(change.recommended_setting), change.name
        else:
            assert actual == change.recommended_setting, change.name


def rec_bounds(server: EmbeddedServer) -> dict[str, Any]:
    with connect(server.dsn()) as conn:
        snapshot = collect_snapshot(conn, ["settings"])
    return dict(server_state(snapshot).bounds.settings)


def recommend_for(server: EmbeddedServer, request: tune.Request = HARDWARE) -> tune.Recommendation:
    with connect(server.dsn()) as conn:
        return tune.live(conn, request)


def test_conf_d_drop_in_loads_cleanly(scratch: EmbeddedServer) -> None:
    rec = recommend_for(scratch)
    restart = set(rec.restart_needed)
    assert {"shared_buffers"} <= restart  # 16MB now, 128MB recommended
    drop_in = scratch.data_dir / "conf.d" / "90-pgtune_hx.conf"
    drop_in.write_text(render.conf(rec))
    drop_in.chmod(0o644)
    with admin(scratch) as conn:
        conn.execute("select pg_reload_conf()")
    # on reload only restart-only settings may wait, and they say so
    for row in file_errors(scratch):
        assert row["sourcefile"].endswith("90-pgtune_hx.conf"), row
        assert row["name"] in restart and row["error"] == "setting could not be applied", row
    scratch.restart()
    assert file_errors(scratch) == []
    assert_in_force(scratch, rec)
    with admin(scratch) as conn:
        applied = conn.execute(
            "select count(*) as n from pg_file_settings where sourcefile like '%90-pgtune_hx.conf'"
        ).fetchone()
    assert applied is not None and applied["n"] == len(rec.changes)


def test_alter_system_output_applies(scratch: EmbeddedServer, tmp_path: Path) -> None:
    rec = recommend_for(scratch)
    script = tmp_path / "tune.sql"
    script.write_text(render.alter_system(rec))
    script.chmod(0o644)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    result = subprocess.run(
        [
            str(scratch.bin("psql")),
            "-X",
            "-v",
            "ON_ERROR_STOP=1",
            "-d",
            scratch.dsn(),
            "-f",
            str(script),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("ALTER SYSTEM") == len(rec.changes)
    restart = set(rec.restart_needed)
    for row in file_errors(scratch):
        assert row["sourcefile"].endswith("postgresql.auto.conf"), row
        assert row["name"] in restart, row
    scratch.restart()
    assert file_errors(scratch) == []
    assert_in_force(scratch, rec)


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pgtune_hx", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "200"},
        timeout=120,
        check=False,
    )


HARDWARE_FLAGS = ("--memory", "2GB", "--cpus", "2", "--storage", "ssd", "--workload", "web")


def test_nothing_is_written_without_apply(scratch: EmbeddedServer) -> None:
    result = cli("--dsn", scratch.dsn(), "tune", *HARDWARE_FLAGS, "-f", "alter-system")
    assert result.returncode == 0, result.stderr
    assert "ALTER SYSTEM SET" in result.stdout
    with admin(scratch) as conn:
        rows = conn.execute(
            "select name from pg_file_settings where sourcefile like '%postgresql.auto.conf'"
        ).fetchall()
    assert rows == []


def test_apply_uses_alter_system_and_reload(scratch: EmbeddedServer) -> None:
    result = cli("--dsn", scratch.dsn(), "tune", *HARDWARE_FLAGS, "-f", "json", "--apply")
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    changed = {s["name"]: s for s in payload["settings"] if s["change"]}
    assert "shared_buffers" in payload["restart_needed"]
    assert "restart needed for:" in result.stderr and "shared_buffers" in result.stderr
    with admin(scratch) as conn:
        auto = conn.execute(
            "select name from pg_file_settings where sourcefile like '%postgresql.auto.conf'"
        ).fetchall()
        assert {r["name"] for r in auto} == set(changed)
        # reloaded: a sighup setting is in force in a new session, a postmaster one waits
        timeout = conn.execute("show checkpoint_timeout").fetchone()
        pending = conn.execute(
            "select pending_restart from pg_settings where name = 'shared_buffers'"
        ).fetchone()
    assert timeout is not None and timeout["checkpoint_timeout"] == "15min"
    assert pending is not None and pending["pending_restart"] is True


def test_requested_checkpoints_raise_max_wal_size(scratch: EmbeddedServer) -> None:
    with admin(scratch) as conn:
        conn.execute("select pg_stat_reset_shared('bgwriter')")
        if scratch.binaries.major() >= 17:
            conn.execute("select pg_stat_reset_shared('checkpointer')")
        # ~150MB of WAL through a 64MB max_wal_size: the server must request checkpoints
        conn.execute(
            "create table wal_burst as select g, repeat('x', 200) as pad "
            "from generate_series(1, 600000) g"
        )
        conn.execute("drop table wal_burst")
    with connect(scratch.dsn()) as conn:
        snapshot = collect_snapshot(conn, list(SECTIONS))
    server = server_state(snapshot)
    facts = evidence.facts_from_snapshot(snapshot)
    inputs = tune.from_snapshot(snapshot, HARDWARE).inputs
    assert facts.checkpoints_requested is not None and facts.checkpoints_requested >= 1
    corrections = evidence.correct(facts, inputs, server)
    items = [i for i in corrections.items if i.topic == "checkpoints"]
    assert items and "requested" in items[0].observed
    assert "twice" in items[0].effect
    assert corrections.targets.max_wal_size_min is not None
    assert corrections.targets.max_wal_size_min >= 2 * 64 * 1024 * 1024


def test_evictions_raise_shared_buffers(scratch: EmbeddedServer) -> None:
    with admin(scratch) as conn:
        conn.execute(
            "create table cache_probe as select g as id, repeat(md5(g::text), 6) as pad "
            "from generate_series(1, 250000) g"
        )
        conn.execute("create index on cache_probe (id)")
        conn.execute("select pg_stat_reset()")
        if scratch.binaries.major() >= 16:
            conn.execute("select pg_stat_reset_shared('io')")
        conn.execute("set enable_seqscan = off")
        conn.execute("set enable_bitmapscan = off")
        for _ in range(2):  # index order over a table 4x shared_buffers: misses and evictions
            conn.execute("select sum(length(pad)) from cache_probe where id > 0")
        conn.execute("drop table cache_probe")
    request = tune.Request(
        memory=4 * GB, cpus=2, storage=Storage.ssd, workload=Workload.oltp, db_size=100 * GB
    )
    baseline = recommend_for(scratch, tune.Request(**{**request.__dict__, "evidence": False}))
    rec = recommend_for(scratch, request)
    cache = [e for e in rec.evidence if e.topic == "buffer cache"]
    assert cache and "raised" in cache[0].effect, cache
    shared = {s.name: s for s in rec.settings}["shared_buffers"]
    base_shared = {s.name: s for s in baseline.settings}["shared_buffers"]
    assert shared.source == "evidence"
    assert shared.number > base_shared.number
    assert rec.budget.holds


# -- evidence on the session servers (no configuration change) ------------------------


def test_temp_spills_raise_work_mem(db: TestDatabase) -> None:
    with db.admin() as conn:
        conn.execute("set work_mem = '64kB'")
        conn.execute(
            "select count(distinct repeat(md5(g::text), 4)) from generate_series(1, 300000) g"
        )
    request = tune.Request(memory=32 * GB, cpus=4, storage=Storage.ssd, workload=Workload.web)
    with connect(db.dsn) as conn:
        baseline = tune.live(conn, tune.Request(**{**request.__dict__, "evidence": False}))
        rec = tune.live(conn, request)
    spills = [e for e in rec.evidence if e.topic == "temp spills"]
    assert spills and "statements wrote" in spills[0].observed
    work_mem = {s.name: s for s in rec.settings}["work_mem"]
    base = {s.name: s for s in baseline.settings}["work_mem"]
    assert work_mem.source == "evidence" and work_mem.reason.startswith("evidence:")
    assert work_mem.number > base.number
    assert any("generate_series" in line for line in rec.spilling_statements)
    assert rec.budget.holds


def test_dead_tuples_boost_autovacuum(db: TestDatabase) -> None:
    db.execute(
        "create table dead (id int, pad text) with (autovacuum_enabled = false);"
        "insert into dead select g, 'x' from generate_series(1, 50000) g;"
        "delete from dead where id <= 30000"
    )
    request = tune.Request(memory=8 * GB, cpus=2, storage=Storage.ssd, workload=Workload.oltp)
    with connect(db.dsn) as conn:
        rec = tune.live(conn, request)
    topics = {e.topic: e for e in rec.evidence}
    assert "public.dead" in topics["dead tuples"].observed
    assert "autovacuum disabled" in topics
    cost = {s.name: s for s in rec.settings}["autovacuum_vacuum_cost_limit"]
    assert cost.recommended_setting == 2 * 2000 and cost.source == "evidence"
    scale = {s.name: s for s in rec.settings}["autovacuum_vacuum_scale_factor"]
    assert scale.recommended_setting == pytest.approx(0.02)


def test_idle_connections_suggest_pgbouncer(db: TestDatabase) -> None:
    idle: list[psycopg.Connection[Any]] = [psycopg.connect(db.dsn) for _ in range(25)]
    try:
        with connect(db.dsn) as conn:
            rec = tune.live(conn, tune.Request(workload=Workload.web))
    finally:
        for idle_conn in idle:
            idle_conn.close()
    connections = next(e for e in rec.evidence if e.topic == "connections")
    assert "idle" in connections.effect and "pooler" in connections.effect
    assert rec.pgbouncer_ini is not None
    assert "pool_mode = transaction" in rec.pgbouncer_ini
    assert "default_pool_size = " in rec.pgbouncer_ini


def test_local_server_hardware_is_detected(pg: PgTarget) -> None:
    assert pg.server is not None
    for dsn in (pg.admin_dsn, pg.server.tcp_dsn()):
        with connect(dsn) as conn:
            rec = tune.live(conn, tune.Request(workload=Workload.oltp, evidence=False))
        assert rec.inputs.local
        assert rec.inputs.sources["memory"] in ("detected", "cgroup limit")
        assert rec.inputs.sources["storage"].startswith(("detected", "assumed"))
        assert rec.inputs.major == pg.major
        assert rec.huge_pages["current_shared_memory_size_in_huge_pages"] > 0


def test_server_that_counts_as_remote_needs_hardware_flags(db: TestDatabase) -> None:
    role = f"tune_{uuid.uuid4().hex[:8]}"
    db.execute(sql.SQL("create role {} login").format(sql.Identifier(role)).as_string(None))
    try:
        dsn = f"{db.dsn} user={role}"
        with connect(dsn) as conn, pytest.raises(UsageError) as info:
            tune.live(conn, tune.Request(workload=Workload.web))
        message = str(info.value)
        assert "--memory" in message and "--cpus" in message and "--storage" in message
        result = cli("--dsn", dsn, "tune")
        assert result.returncode == UsageError.exit_code
        lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
        assert len(lines) == 1 and lines[0].startswith("error:") and "--memory" in lines[0]
        with connect(dsn) as conn:
            rec = tune.live(conn, tune.Request(memory=16 * GB, cpus=8, storage=Storage.san))
        assert not rec.inputs.local and rec.inputs.sources["memory"] == "flag"
    finally:
        db.execute(sql.SQL("drop role {}").format(sql.Identifier(role)).as_string(None))


def test_tune_on_the_embedded_server_shows_budget_diff_and_evidence(pg: PgTarget) -> None:
    result = cli("--dsn", pg.admin_dsn, "tune", "--workload", "oltp")
    assert result.returncode == 0, result.stderr
    text = result.stdout
    assert "memory budget" in text and "holds" in text
    assert "evidence from the server's statistics" in text
    assert f"PostgreSQL {pg.major}" in text and "reason" in text


def test_a_saved_snapshot_tunes_like_the_live_server(pg: PgTarget, tmp_path: Path) -> None:
    request = tune.Request(memory=8 * GB, cpus=4, storage=Storage.ssd, workload=Workload.oltp)
    with connect(pg.admin_dsn) as conn:
        snapshot = collect_snapshot(conn, list(SECTIONS))
    path = save(snapshot, tmp_path / "server.json.gz")
    from_file = tune.from_snapshot(load(path), request)
    direct = tune.from_snapshot(snapshot, request)
    assert from_file.to_dict() == direct.to_dict()
    assert from_file.target.startswith(f"PostgreSQL {pg.major}")
    result = cli("tune", "--snapshot", str(path), "--workload", "oltp", "--apply")
    assert result.returncode == UsageError.exit_code
    assert "not a snapshot" in result.stderr
