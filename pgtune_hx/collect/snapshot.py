"""collect_snapshot: every collector, in one consistent, read-only transaction.

Transaction: one REPEATABLE READ READ ONLY transaction for the whole snapshot,
with ``stats_fetch_consistency = snapshot`` (PostgreSQL 15+; 13 and 14 read one
stats file per transaction anyway). Catalog rows and cumulative statistics
then come from one moment, so tables, indexes and database counters agree with
each other and a diff of two snapshots divides deltas taken at the same
instant. Each collector runs in its own savepoint: a collector that fails
(no privilege, missing extension, lock or statement timeout) leaves its
section's ``error`` and the others carry on. pg_stat_statements and pg_locks
are live views outside the stats snapshot; they are read within the same
transaction, milliseconds apart.

Nothing is written and no statistics are reset; JIT and parallel workers are
off for our transaction (compiling a catalog query costs more than running it,
and a diagnostic must not take workers from the server's own queries).
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Sequence
from typing import Any

import psycopg

from pgtune_hx import __version__
from pgtune_hx.collect import activity, bloat, indexes, server, statements, tables
from pgtune_hx.collect.identity import host_facts, identity
from pgtune_hx.collect.model import Section, Snapshot
from pgtune_hx.collect.runner import Collector, Context, run
from pgtune_hx.db import Connection, display_dsn, probe, translated
from pgtune_hx.errors import UsageError

# collector name -> (function, sections it produces), in collection order
# Live views (activity, locks) first: they describe the moment the snapshot began.
COLLECTORS: dict[str, tuple[Collector, tuple[str, ...]]] = {
    "activity": (activity.collect_activity, ("activity", "blocking")),
    "locks": (activity.collect_locks, ("locks",)),
    "prepared_xacts": (activity.collect_prepared, ("prepared_xacts",)),
    "database": (server.database, ("database",)),
    "tables": (tables.collect, ("tables",)),
    "indexes": (indexes.collect, ("indexes",)),
    "bloat": (bloat.collect, ("table_bloat", "index_bloat")),
    "statements": (statements.collect, ("statements", "statements_info")),
    "settings": (server.settings, ("settings",)),
    "file_settings": (server.file_settings, ("file_settings",)),
    "background": (server.background, ("bgwriter", "checkpointer")),
    "wal": (server.wal, ("wal",)),
    "io": (server.io, ("io",)),
    "archiver": (server.archiver, ("archiver",)),
    "replication": (server.replication, ("replication", "replication_slots")),
    "sequences": (server.sequences, ("sequences",)),
    "extensions": (server.extensions, ("extensions",)),
}

Progress = Callable[[str, Section], None]


def section_names() -> list[str]:
    return [name for _, produced in COLLECTORS.values() for name in produced]


def _selected(sections: Sequence[str] | None) -> list[str]:
    if sections is None:
        return list(COLLECTORS)
    known = {s: c for c, (_, produced) in COLLECTORS.items() for s in produced}
    unknown = [s for s in sections if s not in known]
    if unknown:
        raise UsageError(
            f"unknown section(s) {', '.join(unknown)}; known: {', '.join(section_names())}"
        )
    wanted = {known[s] for s in sections}
    return [c for c in COLLECTORS if c in wanted]


def _begin(conn: Connection, caps_major: int) -> None:
    conn.execute("set local jit = off")
    # catalog queries need no parallel workers; a diagnostic must not take them
    conn.execute("set local max_parallel_workers_per_gather = 0")
    conn.execute("set local timezone = 'UTC'")
    conn.execute("set local datestyle = 'ISO'")  # the timestamp loader relies on it
    if caps_major >= 15:
        conn.execute("set local stats_fetch_consistency = snapshot")


def collect_snapshot(
    conn: Connection,
    sections: Sequence[str] | None = None,
    *,
    progress: Progress | None = None,
    measure_min_tuples: int = 1000,
) -> Snapshot:
    """Take a snapshot over ``conn`` (a guarded connection, idle, autocommit).

    ``sections`` limits which sections are collected (by section name);
    ``progress`` is called after each section with its name and result;
    tables whose catalog size figures are stale are measured exactly from
    ``measure_min_tuples`` rows (smaller ones cannot be far off).
    """
    chosen = _selected(sections)
    if conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
        raise UsageError("collect_snapshot needs an idle connection (not inside a transaction)")
    started = time.perf_counter()
    caps = probe(conn)
    ctx = Context(conn, caps, measure_min_tuples=measure_min_tuples)
    saved = (conn.isolation_level, conn.read_only)
    conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
    conn.read_only = True
    collected: dict[str, Section] = {}
    try:
        with translated("taking a snapshot"), conn.transaction():
            _begin(conn, caps.major)
            server_info = identity(ctx)
            for name in chosen:
                function, produces = COLLECTORS[name]
                for produced in run(ctx, name, function, produces):
                    if sections is None or produced.name in sections:
                        collected[produced.name] = produced
                        if progress is not None:
                            progress(produced.name, produced)
            host = host_facts(ctx, server_info)
    finally:
        if not conn.closed:
            conn.isolation_level, conn.read_only = saved
    captured_at = str(server_info.pop("captured_at"))
    server_info["connection"] = _target(conn)
    server_info["stats_reset"] = stats_resets(collected, caps.database)
    if ctx.notes:
        server_info["notes"] = list(ctx.notes)
    return Snapshot(
        captured_at=_iso(captured_at),
        server=server_info,
        capabilities=caps.to_dict(),
        host=host.to_dict(),
        sections=collected,
        elapsed_ms=(time.perf_counter() - started) * 1000.0,
        tool_version=__version__,
    )


def _target(conn: Connection) -> str:
    """Where we were connected, without options or secrets."""
    info = conn.info
    return display_dsn(f"host={info.host} port={info.port} dbname={info.dbname} user={info.user}")


def _iso(value: str) -> str:
    """json_agg prints timestamptz as ISO 8601; normalise it to Python's form."""
    return dt.datetime.fromisoformat(value).isoformat()


def stats_resets(collected: dict[str, Section], database: str) -> dict[str, Any]:
    """When each statistics family was last reset, from the sections that carry it."""
    resets: dict[str, Any] = {}
    for row in collected.get("database", Section("database")).rows:
        if row.get("datname") == database:
            resets["database"] = row.get("stats_reset")
    for name in ("statements_info", "bgwriter", "checkpointer", "wal", "archiver"):
        rows = collected.get(name, Section(name)).rows
        if rows and "stats_reset" in rows[0]:
            resets[name.removesuffix("_info")] = rows[0]["stats_reset"]
    io_rows = collected.get("io", Section("io")).rows
    io_resets = [r["stats_reset"] for r in io_rows if r.get("stats_reset")]
    if io_resets:
        resets["io"] = max(io_resets)
    return resets
