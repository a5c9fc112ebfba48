"""A real login role with pg_monitor only, made for one test and dropped after."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator

import psycopg

from tests.helpers.servers import TestDatabase


@contextlib.contextmanager
def monitor_only_role(db: TestDatabase) -> Iterator[str]:
    """Yields the role name; it may log in to ``db`` and is a member of pg_monitor."""
    role = f"mon_{uuid.uuid4().hex[:8]}"
    db.execute(f"create role {role} login")
    db.execute(f"grant pg_monitor to {role}")
    db.execute(f'grant connect on database "{db.name}" to {role}')
    try:
        yield role
    finally:
        with psycopg.connect(db.target.admin_dsn, autocommit=True) as conn:
            conn.execute(
                "select pg_terminate_backend(pid) from pg_stat_activity where usename = %s", [role]
            )
            conn.execute(f'revoke connect on database "{db.name}" from {role}')
            conn.execute(f"drop role {role}")
