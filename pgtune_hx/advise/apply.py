"""``--apply``: create the suggested indexes, CONCURRENTLY, one at a time.

CREATE INDEX CONCURRENTLY cannot run in a transaction, so the connection is
in autocommit; lock_timeout bounds the waits for locks (and for older
transactions, which CONCURRENTLY waits out), statement_timeout each build. A
build that fails leaves an INVALID index behind: it is dropped (CONCURRENTLY)
and the failure reported, and the next index is tried. The transactions that
made the build fail may block the drop as well: it is retried, and reported
for the DBA to finish when it still cannot be done.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql

from pgtune_hx.advise.catalog import load_sql
from pgtune_hx.advise.model import Suggestion
from pgtune_hx.db import Connection, translated
from pgtune_hx.db.redact import redact


@dataclass(frozen=True)
class Applied:
    name: str
    create_sql: str
    ok: bool
    seconds: float
    size_bytes: int | None = None
    error: str | None = None
    dropped_invalid: bool = False

    def to_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "create_sql": self.create_sql,
            "ok": self.ok,
            "seconds": round(self.seconds, 3),
            "size_bytes": self.size_bytes,
            "error": self.error,
            "dropped_invalid": self.dropped_invalid,
        }


def apply(
    conn: Connection,
    suggestions: list[Suggestion],
    *,
    progress: Callable[[str], None] | None = None,
) -> list[Applied]:
    report = progress or (lambda _msg: None)
    results = []
    for s in suggestions:
        report(f"creating {s.name}")
        start = time.monotonic()
        try:
            conn.execute(s.index.create_statement(s.name, concurrently=True))
        except psycopg.Error as exc:
            error = (redact(str(exc)).strip().splitlines() or [type(exc).__name__])[0]
            dropped, left = _drop_invalid(conn, s)
            if left:
                error = f"{error}; {left}"
            results.append(
                Applied(s.name, s.create_sql, False, time.monotonic() - start, None, error, dropped)
            )
            continue
        state = _state(conn, s)
        results.append(
            Applied(
                s.name,
                s.create_sql,
                bool(state and state["valid"]),
                time.monotonic() - start,
                int(state["bytes"]) if state else None,
            )
        )
    return results


def _state(conn: Connection, s: Suggestion) -> dict[str, Any] | None:
    with translated("reading the new index"):
        return conn.execute(
            load_sql("index_state").encode(), {"schema": s.index.schema, "name": s.name}
        ).fetchone()


def _drop_invalid(
    conn: Connection, s: Suggestion, *, attempts: int = 3, wait_s: float = 1.0
) -> tuple[bool, str | None]:
    """Drop the INVALID leftover; the transactions that made the build fail may
    block the drop too, so it is retried a few times. (dropped, what is left)"""
    state = _state(conn, s)
    if state is None or state["valid"]:
        return False, None
    statement = sql.SQL("DROP INDEX CONCURRENTLY IF EXISTS {}.{}").format(
        sql.Identifier(s.index.schema), sql.Identifier(s.name)
    )
    for attempt in range(attempts):
        try:
            conn.execute(statement)
            return True, None
        except psycopg.Error:
            if attempt + 1 < attempts:
                time.sleep(wait_s)
    return False, (
        f"INVALID index {s.index.schema}.{s.name} left behind: run DROP INDEX CONCURRENTLY "
        "on it once the blocking transactions end"
    )
