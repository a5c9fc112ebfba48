"""Cheap, frequent collection for the monitor: one Snapshot per refresh.

The monitor asks for the sections the visible screen needs; each is one
short query, run in autocommit so that every statement sees fresh statistics
(stats_fetch_consistency caches inside a transaction) and one failing section
(a missing privilege, a timeout) does not abort the others. The sections carry
the collectors' names and the PostgreSQL view column names, so a live refresh
and a recorded snapshot file look the same to the screens.

A lost connection is not a section error: it raises ``ConnectionLost`` so the
caller can reconnect with backoff.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from pgtune_hx import __version__
from pgtune_hx.collect.model import Section, Snapshot, json_safe
from pgtune_hx.db import Capabilities, Connection, Guard, probe, redact
from pgtune_hx.db.connect import translate_query_error
from pgtune_hx.errors import PgtuneError
from pgtune_hx.tui.sqlfiles import pick

# Sections collected on every refresh; the rest only when a screen asks.
CORE_SECTIONS = frozenset({"activity", "blocking", "database", "wal", "checkpoints", "replication"})
STATEMENT_SECTIONS = frozenset({"statements", "statements_info"})
TABLE_SECTIONS = frozenset({"tables", "indexes"})
STATEMENTS_LIMIT = 500
TABLES_LIMIT = 1000

StatementKey = tuple[int, int, int, bool]


@dataclass(frozen=True)
class LiveConfig:
    """Where the monitor connects and how; ``record`` saves every refresh there."""

    dsn: str | None
    guard: Guard
    record: Path | None = None


class ConnectionLost(PgtuneError):
    """The session to the server broke; the caller reconnects."""


@dataclass
class LiveCollector:
    """Runs the monitor's queries on one guarded connection (one thread at a time)."""

    conn: Connection
    caps: Capabilities = field(init=False)
    static_server: dict[str, Any] = field(init=False)
    _pgss_schema: str | None = field(init=False, default=None)
    _texts: dict[StatementKey, str] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        self.caps = probe(self.conn)
        self.static_server = {
            "server_version_num": self.caps.server_version_num,
            "server_version": self.caps.server_version,
            "database": self.caps.database,
            "role": self.caps.role,
        }
        if self.caps.has_pg_stat_statements():
            row = self._one("extension_schema", {"name": "pg_stat_statements"})
            self._pgss_schema = str(row["nspname"]) if row else None

    # -- plumbing -------------------------------------------------------------------

    def _run(self, query: str | sql.Composed, params: dict[str, Any] | None = None) -> Any:
        try:
            cur = self.conn.execute(
                sql.SQL(query) if isinstance(query, str) else query,
                params,
            )
            return cur.fetchall()
        except psycopg.OperationalError as exc:
            if self.conn.broken or self.conn.closed:
                raise ConnectionLost(redact(str(exc)).strip().splitlines()[0]) from None
            raise

    def _text(self, name: str) -> str:
        return pick(name, self.caps.server_version_num)

    def _one(self, name: str, params: dict[str, Any] | None = None) -> dict[str, Any] | None:
        rows = self._run(self._text(name), params)
        return rows[0] if rows else None

    def _pgss(self, name: str) -> sql.Composed:
        assert self._pgss_schema is not None
        return sql.SQL(self._text(name)).format(schema=sql.Identifier(self._pgss_schema))

    def _section(
        self, name: str, query: str | sql.Composed, params: dict[str, Any] | None
    ) -> Section:
        started = time.perf_counter()
        try:
            rows = self._run(query, params)
        except ConnectionLost:
            raise
        except psycopg.Error as exc:
            error = translate_query_error(exc, name)
            return Section(name, error=str(error), elapsed_ms=_ms(started))
        columns = list(rows[0]) if rows else []
        safe = [{k: json_safe(v) for k, v in row.items()} for row in rows]
        return Section(name, columns=columns, rows=safe, elapsed_ms=_ms(started))

    # -- the refresh ------------------------------------------------------------------

    def collect(self, wanted: Iterable[str] = CORE_SECTIONS) -> Snapshot:
        """One refresh: the server clock first, then each wanted section."""
        started = time.perf_counter()
        wanted = set(wanted)
        try:
            tick = self._run(self._text("server"))[0]
        except psycopg.Error as exc:
            raise translate_query_error(exc, "refresh") from None
        server = {**self.static_server, **{k: json_safe(v) for k, v in tick.items()}}
        captured_at = str(server.pop("captured_at"))
        sections: dict[str, Section] = {}
        if wanted & {"activity", "blocking"}:
            activity = self._section("activity", self._text("activity"), None)
            sections["activity"] = activity
            sections["blocking"] = blocking_section(activity)
        for name in ("database", "wal", "replication"):
            if name in wanted:
                sections[name] = self._section(name, self._text(name), None)
        if "checkpoints" in wanted:
            # 17 moved the checkpoint counters to their own view
            name = "checkpointer" if self.caps.at_least(17) else "bgwriter"
            sections[name] = self._section(name, self._text(name), None)
        if wanted & STATEMENT_SECTIONS:
            sections.update(self._statements())
        if "tables" in wanted:
            sections["tables"] = self._sized("tables", {"limit": TABLES_LIMIT})
        if "indexes" in wanted:
            sections["indexes"] = self._sized("indexes", {"limit": TABLES_LIMIT})
        return Snapshot(
            captured_at=captured_at,
            server=server,
            capabilities=self.caps.to_dict(),
            host={},
            sections=sections,
            elapsed_ms=_ms(started),
            tool_version=__version__,
        )

    def _sized(self, name: str, params: dict[str, Any]) -> Section:
        section = self._section(name, self._text(name), params)
        relname = "relname" if name == "tables" else "indexrelname"
        locked = "size_locked" if name == "tables" else "size_bytes"
        section.skipped = [
            f"{row['schemaname']}.{row[relname]}: size (ACCESS EXCLUSIVE lock)"
            for row in section.rows
            if (row.get(locked) is True if name == "tables" else row.get(locked) is None)
        ]
        return section

    def _statements(self) -> dict[str, Section]:
        if self._pgss_schema is None:
            reason = (
                "pg_stat_statements is not in shared_preload_libraries"
                if self.caps.preloaded("pg_stat_statements") is False
                else f"extension pg_stat_statements is not installed in {self.caps.database}"
            )
            return {
                "statements": Section("statements", error=reason),
                "statements_info": Section("statements_info", error=reason),
            }
        statements = self._section(
            "statements", self._pgss("statements"), {"limit": STATEMENTS_LIMIT}
        )
        info = self._section("statements_info", self._pgss("statements_info"), None)
        if statements.ok:
            self._attach_texts(statements)
        return {"statements": statements, "statements_info": info}

    def _attach_texts(self, section: Section) -> None:
        """Query texts are fetched once per entry, then kept."""

        def key(row: dict[str, Any]) -> StatementKey:
            return (row["userid"], row["dbid"], row["queryid"], bool(row["toplevel"]))

        missing = {row["queryid"] for row in section.rows if key(row) not in self._texts}
        missing.discard(None)
        if missing:
            try:
                rows = self._run(self._pgss("statement_texts"), {"queryids": sorted(missing)})
            except psycopg.Error as exc:
                section.error = str(translate_query_error(exc, "statement texts"))
                return
            for row in rows:
                self._texts[key(row)] = row["query"] or ""
            if len(self._texts) > 4 * STATEMENTS_LIMIT:
                keep = {key(row) for row in section.rows}
                self._texts = {k: v for k, v in self._texts.items() if k in keep}
        for row in section.rows:
            row["query"] = self._texts.get(key(row))
        if "query" not in section.columns:
            section.columns.append("query")


def blocking_section(activity: Section) -> Section:
    """The blocking graph: one row per session waiting on another session's lock."""
    if not activity.ok:
        return Section("blocking", error=activity.error)
    rows = [
        {"pid": row["pid"], "blocked_by": list(row["blocked_by"])}
        for row in activity.rows
        if row.get("blocked_by")
    ]
    return Section("blocking", columns=["pid", "blocked_by"], rows=rows)


def _ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000.0
