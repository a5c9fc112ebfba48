"""The embedded server lifecycle, on the wheel's PG 18 and on system PG 15."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psutil
import psycopg
import pytest

from pgtune_hx.embedded import SYSTEM_PG15, EmbeddedServer, embedded_server

BIN_DIRS = [
    pytest.param(None, id="wheel-18"),
    pytest.param(
        SYSTEM_PG15,
        id="system-15",
        marks=pytest.mark.skipif(
            not (SYSTEM_PG15 / "postgres").exists(), reason="PostgreSQL 15 not installed"
        ),
    ),
]


@pytest.fixture
def base_dir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="pgtune_hx-life-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


@pytest.mark.parametrize("bin_dir", BIN_DIRS)
def test_start_is_idempotent_and_stop_leaves_no_process(
    base_dir: Path, bin_dir: Path | None
) -> None:
    server = EmbeddedServer(base_dir, bin_dir)
    first = server.start()
    assert first.running and not first.already_running
    assert first.port is not None and first.pid is not None
    second = server.start()
    assert second.already_running
    assert second.pid == first.pid
    with psycopg.connect(server.dsn()) as conn:
        row = conn.execute(
            "select current_setting('shared_preload_libraries'),"
            " current_setting('track_io_timing'), current_setting('listen_addresses')"
        ).fetchone()
    assert row == ("pg_stat_statements,auto_explain", "on", "127.0.0.1")
    # children of the postmaster must go too
    children = subprocess.run(
        ["pgrep", "-P", str(first.pid)], capture_output=True, text=True, check=False
    ).stdout.split()
    assert children, "a running postmaster has auxiliary processes"
    assert server.stop() is True
    assert not _alive(first.pid)
    assert not any(_alive(int(pid)) for pid in children)
    assert server.status().running is False
    assert server.stop() is False


def test_url_works_with_psql_and_extensions(pg18_server: EmbeddedServer) -> None:
    psql = pg18_server.bin("psql")
    result = subprocess.run(
        [str(psql), pg18_server.url(), "-XAtc", "select 1"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.strip() == "1"
    with psycopg.connect(pg18_server.dsn(), autocommit=True) as conn:
        conn.execute("create database ext_check")
    try:
        with psycopg.connect(pg18_server.dsn("ext_check"), autocommit=True) as conn:
            conn.execute("create extension vector")
            conn.execute("create extension pg_stat_statements")
            dist = conn.execute("select '[1,2]'::vector <-> '[1,3]'::vector").fetchone()
            assert dist == (1.0,)
            count = conn.execute("select count(*) from pg_stat_statements").fetchone()
            assert count is not None and count[0] >= 1
    finally:
        with psycopg.connect(pg18_server.dsn(), autocommit=True) as conn:
            conn.execute("drop database ext_check with (force)")


def test_tcp_needs_the_password(pg18_server: EmbeddedServer) -> None:
    with psycopg.connect(pg18_server.tcp_dsn()) as conn:
        assert conn.execute("select inet_server_addr()::text").fetchone() == ("127.0.0.1/32",)
    bad = pg18_server.tcp_dsn(with_password=False) + " password=not-the-password"
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(bad)


@pytest.mark.skipif(os.geteuid() != 0, reason="root-only behaviour")
def test_runs_as_unprivileged_user_when_root(pg18_server: EmbeddedServer) -> None:
    status = pg18_server.status()
    assert status.pid is not None
    owner = subprocess.run(
        ["ps", "-o", "user=", "-p", str(status.pid)], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert owner == "pgtune_hx"


def test_context_manager_destroys_throwaway_server() -> None:
    with embedded_server() as server:
        base = server.base_dir
        status = server.status()
        assert status.running and status.pid is not None
        pid = status.pid
    assert not base.exists()
    assert not _alive(pid)
