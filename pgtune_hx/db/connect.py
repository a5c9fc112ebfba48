"""Guarded connections: read-only, bounded, named.

Every diagnostic session goes through ``connect``. The guard is applied with
libpq's ``options`` at connection start, so it holds before the first query:
``default_transaction_read_only=on``, ``statement_timeout``, ``lock_timeout``
and ``application_name``. Writing needs ``Guard(read_only=False)``, which only
commands behind an explicit flag ask for.

Without a DSN, libpq reads the PG* environment, the service file and .pgpass,
as psql does.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

import psycopg
from psycopg import errors as pgerrors
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg.rows import dict_row

from pgtune_hx.db.redact import display_dsn, redact, register_dsn
from pgtune_hx.errors import (
    AuthenticationFailed,
    ConnectionFailed,
    DatabaseNotFound,
    InsufficientPrivilege,
    InvalidSQL,
    MissingCapability,
    PgtuneError,
    QueryTimeout,
    ServerError,
    UsageError,
    WriteNotAllowed,
)

log = logging.getLogger(__name__)

APPLICATION_NAME = "pgtune_hx"
Connection = psycopg.Connection[dict[str, Any]]


@dataclass(frozen=True)
class Guard:
    """Session limits applied to every connection the toolkit opens."""

    read_only: bool = True
    statement_timeout_ms: int = 5000
    lock_timeout_ms: int = 100
    application_name: str = APPLICATION_NAME
    connect_timeout_s: int = 5

    def writable(self) -> Guard:
        return replace(self, read_only=False)

    def options(self) -> str:
        parts = [
            f"-c statement_timeout={int(self.statement_timeout_ms)}",
            f"-c lock_timeout={int(self.lock_timeout_ms)}",
        ]
        if self.read_only:
            parts.append("-c default_transaction_read_only=on")
        return " ".join(parts)


DEFAULT_GUARD = Guard()


def build_conninfo(dsn: str | None, guard: Guard = DEFAULT_GUARD) -> str:
    """Merge the guard into the user's DSN; the user's own options are kept.

    >>> "statement_timeout=5000" in build_conninfo("dbname=x")
    True
    """
    register_dsn(dsn)
    try:
        params: dict[str, Any] = conninfo_to_dict(dsn or "")
    except psycopg.ProgrammingError as exc:
        raise UsageError(f"invalid DSN: {redact(str(exc).splitlines()[0])}") from None
    user_options = str(params.pop("options", "") or "")
    params["options"] = f"{user_options} {guard.options()}".strip()
    params["application_name"] = guard.application_name
    params.setdefault("connect_timeout", str(guard.connect_timeout_s))
    return make_conninfo("", **params)


def connect(
    dsn: str | None = None,
    guard: Guard = DEFAULT_GUARD,
    *,
    autocommit: bool = True,
) -> Connection:
    """Open a guarded connection with dict rows, or raise a PgtuneError."""
    conninfo = build_conninfo(dsn, guard)
    try:
        conn = psycopg.connect(conninfo, autocommit=autocommit, row_factory=dict_row)
    except psycopg.Error as exc:
        raise translate_connect_error(exc, dsn) from None
    log.debug("connected to %s (read_only=%s)", display_dsn(dsn or ""), guard.read_only)
    return conn


def translate_connect_error(exc: psycopg.Error, dsn: str | None) -> PgtuneError:
    """Turn a connection failure into one clear line."""
    text = redact(str(exc)).strip()
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    first = lines[0] if lines else type(exc).__name__
    first = first.removeprefix("connection failed: ").removeprefix("connection is bad: ")
    lowered = text.lower()
    sqlstate = getattr(exc, "sqlstate", None)
    if sqlstate in ("28P01", "28000") or "authentication failed" in lowered:
        return AuthenticationFailed(first, hint="check the user and password, or .pgpass")
    if "no password supplied" in lowered:
        return AuthenticationFailed(first, hint="give a password in the DSN, PGPASSWORD or .pgpass")
    if sqlstate == "3D000" or ("database" in lowered and "does not exist" in lowered):
        return DatabaseNotFound(first, hint="check dbname in the DSN or PGDATABASE")
    if "role" in lowered and "does not exist" in lowered:
        return AuthenticationFailed(first, hint="check the user in the DSN or PGUSER")
    if "invalid" in lowered and ("connection option" in lowered or "uri" in lowered):
        return UsageError(f"invalid DSN: {first}")
    return ConnectionFailed(first, hint="is the server running and reachable?")


def translate_query_error(exc: psycopg.Error, what: str = "query") -> PgtuneError:
    """Map a server error to our types, keeping the server's first line."""
    first = redact(str(exc)).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if isinstance(exc, pgerrors.QueryCanceled):
        return QueryTimeout(f"{what} timed out: {first}", hint="raise --statement-timeout")
    if isinstance(exc, pgerrors.LockNotAvailable):
        return QueryTimeout(f"{what} could not get a lock in time: {first}")
    if isinstance(exc, pgerrors.InsufficientPrivilege):
        return InsufficientPrivilege(
            f"{what}: {first}", hint="grant pg_monitor or pg_read_all_stats to this role"
        )
    if isinstance(exc, pgerrors.ReadOnlySqlTransaction):
        return WriteNotAllowed(f"{what}: {first}", hint="diagnostic sessions are read-only")
    if isinstance(exc, pgerrors.SyntaxError):
        return InvalidSQL(f"{what}: {first}")
    if isinstance(exc, pgerrors.UndefinedFile | pgerrors.FeatureNotSupported):
        return MissingCapability(f"{what}: {first}")
    if isinstance(exc, psycopg.OperationalError):
        return ConnectionFailed(f"{what}: {first}")
    return ServerError(f"{what}: {first}")


@contextlib.contextmanager
def translated(what: str = "query") -> Iterator[None]:
    """Run a block, turning psycopg errors into PgtuneErrors."""
    try:
        yield
    except psycopg.Error as exc:
        raise translate_query_error(exc, what) from None
