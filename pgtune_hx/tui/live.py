"""Cheap, frequent collection for the monitor: one Snapshot per refresh.

Each refresh runs only the sections the visible screen needs, with the
collectors' own section collectors (activity and the blocking graph, locks,
WAL, checkpointer, replication, tables, indexes) inside one read-only
REPEATABLE READ transaction with ``stats_fetch_consistency = snapshot``, each
in its savepoint, exactly as a full snapshot does. Two sections have lighter
per-refresh variants here, in ``tui/sql``, with the collectors' column names:

- ``database``: the counters without ``pg_database_size()``, which walks every
  database directory (too costly every two seconds on a big cluster);
- ``statements``: the top entries by total time, of the connected database or of
  all (``all_databases``), with ``pg_stat_statements(false)``
  (no query text file read per refresh); texts are fetched once per new entry.

A live refresh and a recorded snapshot file thus look the same to the screens.
A lost connection raises ``ConnectionLost`` so the caller reconnects.
"""

from __future__ import annotations

import contextlib
import os
import socket
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from pgtune_hx import __version__
from pgtune_hx.collect import activity as c_activity
from pgtune_hx.collect import indexes as c_indexes
from pgtune_hx.collect import server as c_server
from pgtune_hx.collect import tables as c_tables
from pgtune_hx.collect.model import Section, Snapshot
from pgtune_hx.collect.runner import Collector, Context, run
from pgtune_hx.collect.statements import locate, mask_secrets
from pgtune_hx.db import Capabilities, Connection, Guard, connect, probe, redact
from pgtune_hx.db.connect import translate_query_error
from pgtune_hx.errors import PgtuneError
from pgtune_hx.tui.sqlfiles import pick

# Sections collected on every refresh; the rest only when a screen asks.
CORE_SECTIONS = frozenset(
    {"activity", "blocking", "database", "wal", "checkpointer", "replication"}
)
STATEMENT_SECTIONS = frozenset({"statements", "statements_info"})
TABLE_SECTIONS = frozenset({"tables", "indexes"})
LOCK_SECTIONS = frozenset({"locks"})
STATEMENTS_LIMIT = 500

StatementKey = tuple[int, int, str, bool]
SESSION_SETTINGS = """
select set_config('jit', 'off', true), set_config('max_parallel_workers_per_gather', '0', true),
       set_config('timezone', 'UTC', true), set_config('datestyle', 'ISO', true),
       case when %(stats)s then set_config('stats_fetch_consistency', 'snapshot', true) end
"""


@dataclass(frozen=True)
class LiveConfig:
    """Where the monitor connects and how; ``record`` saves every refresh there."""

    dsn: str | None
    guard: Guard
    record: Path | None = None


class ConnectionLost(PgtuneError):
    """The session to the server broke; the caller reconnects."""


def _json_rows(
    conn: Connection, query: sql.Composable, params: dict[str, Any] | None
) -> tuple[list[str], list[dict[str, Any]]]:
    """Rows as JSON built by the server (parsed in C), as the collectors do."""
    wrapped = sql.SQL("select coalesce(json_agg(q), '[]'::json) as rows from (\n{}\n) q").format(
        query
    )
    row = conn.execute(wrapped, params).fetchone()
    rows: list[dict[str, Any]] = row["rows"] if row else []
    return (list(rows[0]) if rows else []), rows


@dataclass
class LiveCollector:
    """Runs the monitor's refreshes on one guarded connection (one thread at a time)."""

    conn: Connection
    caps: Capabilities = field(init=False)
    static_server: dict[str, Any] = field(init=False)
    _texts: dict[StatementKey, str] = field(init=False, default_factory=dict)
    # monotonic start of the refresh in progress, None between refreshes
    busy_since: float | None = field(init=False, default=None)
    # pg_stat_statements of every database, or only of the connected one
    all_databases: bool = field(init=False, default=False)
    _collectors: dict[str, tuple[Collector, tuple[str, ...]]] = field(init=False)

    def __post_init__(self) -> None:
        self.caps = probe(self.conn)
        self.static_server = {
            "server_version_num": self.caps.server_version_num,
            "server_version": self.caps.server_version,
            "database": self.caps.database,
            "role": self.caps.role,
        }
        # a dedicated session: every refresh is one consistent read-only transaction
        self.conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        self.conn.read_only = True
        self._collectors = {
            "activity": (c_activity.collect_activity, ("activity", "blocking")),
            "locks": (c_activity.collect_locks, ("locks",)),
            "database": (self._database, ("database",)),
            "wal": (c_server.wal, ("wal",)),
            "checkpointer": (c_server.background, ("bgwriter", "checkpointer")),
            "replication": (c_server.replication, ("replication", "replication_slots")),
            "statements": (self._statements, ("statements", "statements_info")),
            "tables": (c_tables.collect, ("tables",)),
            "indexes": (c_indexes.collect, ("indexes",)),
        }

    @classmethod
    def open(cls, config: LiveConfig) -> LiveCollector:
        conn = connect(config.dsn, config.guard)
        try:
            return cls(conn)
        except BaseException:
            conn.close()
            raise

    def abort(self) -> None:
        """Cut the session from another thread: a refresh stuck on a backend that no
        longer answers (statement_timeout cannot fire there) fails at once.
        shutdown() acts on the socket, not on the descriptor libpq still owns."""
        try:
            fd = self.conn.pgconn.socket
        except psycopg.Error:
            return
        sock = socket.socket(fileno=os.dup(fd))
        with contextlib.suppress(OSError), sock:
            sock.shutdown(socket.SHUT_RDWR)

    def _text(self, name: str) -> str:
        return pick(name, self.caps.server_version_num)

    def _lost(self, exc: BaseException) -> ConnectionLost:
        first = redact(str(exc)).strip().splitlines()
        return ConnectionLost(first[0] if first else type(exc).__name__)

    # -- the refresh ------------------------------------------------------------------

    def collect(self, wanted: Iterable[str] = CORE_SECTIONS) -> Snapshot:
        """One refresh: the server clock first, then each wanted section."""
        started = time.perf_counter()
        wanted = set(wanted)
        sections: dict[str, Section] = {}
        self.busy_since = time.monotonic()
        try:
            with self.conn.transaction():
                # the same session settings as a full snapshot (collect.snapshot), in
                # one round trip; the collectors' timestamp loader relies on DateStyle ISO
                self.conn.execute(SESSION_SETTINGS, {"stats": self.caps.at_least(15)})
                _, rows = _json_rows(self.conn, sql.SQL(self._text("server")), None)
                tick = rows[0]
                ctx = Context(self.conn, self.caps)
                for name, (function, produced) in self._collectors.items():
                    if wanted & set(produced) or name in wanted:
                        for section in run(ctx, name, function, produced):
                            sections[section.name] = section
        except PgtuneError as exc:
            if self.conn.broken or self.conn.closed:
                raise self._lost(exc) from None
            raise
        except psycopg.Error as exc:
            if self.conn.broken or self.conn.closed:
                raise self._lost(exc) from None
            raise translate_query_error(exc, "refresh") from None
        finally:
            self.busy_since = None
        server = {**self.static_server, **tick}
        captured_at = str(server.pop("captured_at"))
        return Snapshot(
            captured_at=captured_at,
            server=server,
            capabilities=self.caps.to_dict(),
            host={},
            sections=sections,
            elapsed_ms=(time.perf_counter() - started) * 1000.0,
            tool_version=__version__,
        )

    def _database(self, ctx: Context) -> list[Section]:
        columns, rows = _json_rows(self.conn, sql.SQL(self._text("database")), None)
        return [Section("database", columns, rows)]

    def _statements(self, ctx: Context) -> list[Section]:
        schema, _version = locate(ctx)
        query = sql.SQL(self._text("statements")).format(schema=sql.Identifier(schema))
        params = {"limit": STATEMENTS_LIMIT, "all_databases": self.all_databases}
        columns, rows = _json_rows(self.conn, query, params)
        statements = Section("statements", [*columns, "query"], rows)
        self._attach_texts(statements, schema)
        if not self.caps.can_read_all_stats():
            statements.skipped.append(
                f"role {self.caps.role} sees only its own query texts (no pg_read_all_stats)"
            )
        info_query = sql.SQL(self._text("statements_info")).format(schema=sql.Identifier(schema))
        try:
            with self.conn.transaction():
                info_columns, info_rows = _json_rows(self.conn, info_query, None)
        except psycopg.Error as exc:
            if self.conn.broken:
                raise
            error = str(translate_query_error(exc, "pg_stat_statements_info"))
            return [statements, Section("statements_info", error=error)]
        return [statements, Section("statements_info", info_columns, info_rows)]

    def _attach_texts(self, section: Section, schema: str) -> None:
        """Query texts are fetched once per entry, then kept (masked like the collectors')."""

        def key(row: dict[str, Any]) -> StatementKey:
            return (
                int(row["userid"]),
                int(row["dbid"]),
                str(row["queryid"]),
                bool(row["toplevel"]),
            )

        missing = sorted(
            {int(row["queryid"]) for row in section.rows if key(row) not in self._texts}
        )
        if missing:
            query = sql.SQL(self._text("statement_texts")).format(schema=sql.Identifier(schema))
            _, rows = _json_rows(self.conn, query, {"queryids": missing})
            for row in rows:
                self._texts[key(row)] = mask_secrets(row["query"] or "")
            if len(self._texts) > 4 * STATEMENTS_LIMIT:
                keep = {key(row) for row in section.rows}
                self._texts = {k: v for k, v in self._texts.items() if k in keep}
        for row in section.rows:
            row["query"] = self._texts.get(key(row))
