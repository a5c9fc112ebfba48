"""Guarded sessions: read-only, bounded, named; capabilities; error translation."""

from __future__ import annotations

import pytest

from pgtune_hx.db import Guard, connect, probe, translated
from pgtune_hx.errors import (
    InsufficientPrivilege,
    MissingCapability,
    QueryTimeout,
    WriteNotAllowed,
)
from tests.helpers.locks import LockHolder
from tests.helpers.servers import TestDatabase


def test_guarded_session_cannot_write(db: TestDatabase) -> None:
    db.execute("create table t (id int)")
    with connect(db.dsn) as conn:
        with pytest.raises(WriteNotAllowed, match="read-only"), translated("insert"):
            conn.execute("insert into t values (1)")
    assert db.execute("select count(*) as n from t") == [{"n": 0}]


def test_guard_settings_are_applied(db: TestDatabase) -> None:
    with connect(db.dsn, Guard(statement_timeout_ms=1234, lock_timeout_ms=55)) as conn:
        row = conn.execute(
            "select current_setting('statement_timeout') as st,"
            " current_setting('lock_timeout') as lt,"
            " current_setting('default_transaction_read_only') as ro,"
            " current_setting('application_name') as app"
        ).fetchone()
    assert row == {"st": "1234ms", "lt": "55ms", "ro": "on", "app": "pgtune_hx"}


def test_user_options_are_kept(db: TestDatabase) -> None:
    dsn = db.dsn + " options='-c work_mem=7MB'"
    with connect(dsn) as conn:
        row = conn.execute("select current_setting('work_mem') as wm").fetchone()
    assert row == {"wm": "7MB"}


def test_statement_timeout_becomes_query_timeout(db: TestDatabase) -> None:
    with connect(db.dsn, Guard(statement_timeout_ms=50)) as conn:
        with pytest.raises(QueryTimeout, match="timed out"), translated("sleep"):
            conn.execute("select pg_sleep(2)")


def test_lock_timeout_becomes_query_timeout(db: TestDatabase) -> None:
    db.execute("create table locked (id int)")
    with LockHolder(db.dsn, "lock table locked in access exclusive mode"):
        with connect(db.dsn, Guard(lock_timeout_ms=50)) as conn:
            with pytest.raises(QueryTimeout, match="lock"), translated("count"):
                conn.execute("select count(*) from locked")


def test_capabilities(db: TestDatabase) -> None:
    with connect(db.dsn) as conn:
        caps = probe(conn)
        assert probe(conn) is caps  # probed once
    assert caps.major == db.major
    assert caps.is_superuser
    assert caps.has_pg_stat_statements(check=True)
    assert caps.preloaded("auto_explain")
    assert caps.has_pg_stat_io() is (db.major >= 16)
    assert caps.has_hypopg() is False
    with pytest.raises(MissingCapability, match="CREATE EXTENSION hypopg"):
        caps.has_hypopg(check=True)


def test_missing_pg_stat_statements_extension_is_explained(db: TestDatabase) -> None:
    db.execute("drop extension pg_stat_statements")
    with connect(db.dsn) as conn:
        caps = probe(conn)
    assert caps.has_pg_stat_statements() is False
    with pytest.raises(MissingCapability, match="pg_stat_statements is not installed"):
        caps.has_pg_stat_statements(check=True)


def test_unprivileged_role_is_named(db: TestDatabase) -> None:
    role = f"plain_{db.name}"
    db.execute(f'create role "{role}" login')
    try:
        with connect(db.dsn + f" user={role}") as conn:
            caps = probe(conn)
        assert not caps.can_read_all_stats()
        with pytest.raises(InsufficientPrivilege, match="GRANT pg_monitor"):
            caps.can_read_all_stats(check=True)
        with pytest.raises(InsufficientPrivilege, match="pg_signal_backend"):
            caps.can_signal_backends(check=True)
        db.execute(f'grant pg_monitor to "{role}"')
        with connect(db.dsn + f" user={role}") as conn:
            assert probe(conn).can_read_all_stats()
    finally:
        db.execute(f'drop owned by "{role}"')
        db.execute(f'drop role "{role}"')
