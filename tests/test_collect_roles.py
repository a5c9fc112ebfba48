"""Degrade, never abort: a role with only pg_monitor, a plain role, and no
pg_stat_statements at all each get a complete snapshot that says what is missing."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from pgtune_hx.collect.snapshot import collect_snapshot
from pgtune_hx.db import connect
from tests.helpers.servers import TestDatabase


@pytest.fixture
def role(db: TestDatabase) -> Iterator[str]:
    name = f"r_{uuid.uuid4().hex[:10]}"
    db.execute(f"create role {name} login")
    try:
        yield name
    finally:
        db.execute(f"drop role if exists {name}")


def _as(db: TestDatabase, role: str) -> str:
    params = conninfo_to_dict(db.dsn)
    params["user"] = role
    return make_conninfo("", **params)


def test_pg_monitor_only_role(db: TestDatabase, role: str) -> None:
    db.execute(f"grant pg_monitor to {role}")
    db.execute("create table t (id int primary key)")
    db.execute("create sequence owned_by_admin")
    db.execute("select nextval('owned_by_admin')")
    with connect(_as(db, role)) as conn:
        snap = collect_snapshot(conn)

    errors = snap.errors()
    assert "superuser only" in errors.pop("file_settings")
    if db.major < 16:
        assert "16+" in errors.pop("io")
    assert errors == {}  # everything else is readable with pg_monitor
    assert snap.server["role"] == role
    # pg_read_all_settings (in pg_monitor) shows the data directory: the host is known
    assert snap.host["local"] is True
    assert snap.server["data_directory"]
    assert [r["relname"] for r in snap.rows("tables")] == ["t"]
    assert snap.rows("statements")  # pg_read_all_stats sees every statement
    sequences = {r["sequencename"]: r for r in snap.rows("sequences")}
    assert sequences["owned_by_admin"]["last_value"] is None
    assert any(
        s.startswith("public.owned_by_admin: last_value not read")
        for s in snap.section("sequences").skipped
    )


def test_role_without_pg_stat_statements_access(db: TestDatabase, role: str) -> None:
    """pg_stat_statements lives in a schema this role may not use."""
    db.execute("create schema monitoring")
    db.execute("alter extension pg_stat_statements set schema monitoring")
    with connect(_as(db, role)) as conn:
        snap = collect_snapshot(conn, ["statements", "statements_info", "tables", "settings"])
    assert "no USAGE on schema monitoring" in (snap.section("statements").error or "")
    assert snap.has("tables") and snap.has("settings")
    assert snap.host["local"] is False  # no pg_read_all_settings: data_directory unknown
    assert "cannot read data_directory" in snap.host["notes"][0]

    # the same extension, in its schema, is found by a role that may use it
    with connect(db.dsn) as conn:
        admin = collect_snapshot(conn, ["statements", "statements_info"])
    assert admin.has("statements") and admin.has("statements_info")
    # pg_control_system() is executable by every role on these versions
    assert snap.server["system_identifier"] == admin.server["system_identifier"] is not None


def test_without_pg_stat_statements(db: TestDatabase) -> None:
    db.execute("drop extension pg_stat_statements")
    with connect(db.dsn) as conn:
        snap = collect_snapshot(conn)
    statements = snap.section("statements")
    assert statements.error is not None
    assert "pg_stat_statements is not installed" in statements.error
    assert snap.section("statements_info").error == statements.error
    assert snap.has("tables") and snap.has("database") and snap.has("settings")


def test_password_literals_never_reach_the_snapshot(db: TestDatabase, role: str) -> None:
    """pg_stat_statements keeps utility statements verbatim, passwords included."""
    secret = f"pw-{uuid.uuid4().hex[:12]}"
    db.execute(f"alter role {role} password '{secret}'")
    with connect(db.dsn) as conn:
        snap = collect_snapshot(conn, ["statements"])
    texts = [r["query"] for r in snap.rows("statements")]
    assert not any(secret in t for t in texts)
    assert any(f"alter role {role} password '****'" in t for t in texts)
