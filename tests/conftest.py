"""Real-server test harness.

- ``pg18_server``: the embedded PostgreSQL 18 (pg_stat_statements and
  auto_explain preloaded, pgvector available), one per test session.
- ``pg15_server``: Debian's PostgreSQL 15 from /usr/lib/postgresql/15/bin,
  started the same way; tests that use it are skipped with a reason when the
  binaries are absent.
- ``pg``: parametrised over both (and over PGTUNE_HX_TEST_DSN, an external
  server, when set), honouring ``@pytest.mark.pg(">=16")``.
- ``db``: a fresh database on ``pg`` with pg_stat_statements created, dropped
  after the test.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from pgtune_hx.embedded import SYSTEM_PG15, EmbeddedServer
from tests.helpers.servers import PgTarget, TestDatabase

EXTERNAL_ENV = "PGTUNE_HX_TEST_DSN"


def _start(bin_dir: Path | None, label: str) -> Iterator[EmbeddedServer]:
    base = Path(tempfile.mkdtemp(prefix=f"pgtune_hx-test-{label}-"))
    base.chmod(0o755)
    server = EmbeddedServer(base, bin_dir)
    server.start()
    try:
        yield server
    finally:
        server.stop(mode="immediate")
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="session")
def pg18_server() -> Iterator[EmbeddedServer]:
    yield from _start(None, "18")


@pytest.fixture(scope="session")
def pg15_server() -> Iterator[EmbeddedServer]:
    if not (SYSTEM_PG15 / "postgres").exists():
        pytest.skip(f"PostgreSQL 15 binaries not installed at {SYSTEM_PG15}")
    yield from _start(SYSTEM_PG15, "15")


def _server_params() -> list[str]:
    params = ["pg18", "pg15"]
    if os.environ.get(EXTERNAL_ENV):
        params.append("external")
    return params


def _version_matches(spec: str, major: int) -> bool:
    """'>=16', '<17', '==15', '15' against a major version."""
    match = re.fullmatch(r"\s*(>=|<=|==|>|<)?\s*(\d+)\s*", spec)
    if not match:
        raise ValueError(f"bad pg marker spec {spec!r}")
    op, value = match.group(1) or "==", int(match.group(2))
    return {
        ">=": major >= value,
        "<=": major <= value,
        "==": major == value,
        ">": major > value,
        "<": major < value,
    }[op]


def _target(request: pytest.FixtureRequest, which: str) -> PgTarget:
    if which == "external":
        dsn = os.environ[EXTERNAL_ENV]
        with psycopg.connect(dsn, autocommit=True) as conn:
            major = conn.info.server_version // 10000
        target = PgTarget("external", major, dsn, None)
    else:
        server: EmbeddedServer = request.getfixturevalue(f"{which}_server")
        target = PgTarget(which, server.binaries.major(), server.dsn(), server)
    for marker in request.node.iter_markers("pg"):
        spec = str(marker.args[0])
        if not _version_matches(spec, target.major):
            pytest.skip(f"needs PostgreSQL {spec}, {target.name} is {target.major}")
    return target


@pytest.fixture(params=_server_params())
def pg(request: pytest.FixtureRequest) -> PgTarget:
    """Each server the suite runs on: PG 18 always, PG 15 where installed."""
    return _target(request, str(request.param))


@pytest.fixture
def pg18(request: pytest.FixtureRequest) -> PgTarget:
    """Only the embedded PG 18 (pgvector, newest views)."""
    return _target(request, "pg18")


def _make_db(target: PgTarget) -> Iterator[TestDatabase]:
    name = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(target.admin_dsn, autocommit=True) as conn:
        conn.execute(f'create database "{name}"')
    database = TestDatabase(target, name)
    try:
        with database.admin() as conn:
            conn.execute("create extension if not exists pg_stat_statements")
        yield database
    finally:
        with psycopg.connect(target.admin_dsn, autocommit=True) as conn:
            if target.major >= 13:
                conn.execute(f'drop database if exists "{name}" with (force)')


@pytest.fixture
def db(pg: PgTarget) -> Iterator[TestDatabase]:
    """A fresh database on each server of ``pg``."""
    yield from _make_db(pg)


@pytest.fixture
def db18(pg18: PgTarget) -> Iterator[TestDatabase]:
    """A fresh database on the embedded PG 18 only."""
    yield from _make_db(pg18)
