"""What every collector shares: the context, one set-based query per section,
savepoints, and errors turned into a section's ``error`` instead of an abort.

Each query runs as ``select json_agg(q) from (<collector sql>) q``: the server
builds one JSON document, psycopg parses it in C, and the rows arrive as plain
JSON values (timestamps as ISO 8601 in UTC, numbers as numbers), so a section
of 10,000 rows costs one round trip and no per-value conversion in Python.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg import errors as pgerrors
from psycopg import sql
from psycopg.types.numeric import Int8

from pgtune_hx.collect import versions
from pgtune_hx.collect.model import Section
from pgtune_hx.db import Capabilities, Connection
from pgtune_hx.db.connect import translate_query_error
from pgtune_hx.errors import PgtuneError

LOCK_BLOCKING_ACCESS_SHARE = "AccessExclusiveLock"


@dataclass(frozen=True)
class LockedRelation:
    """A relation another session holds or waits for in a conflicting mode."""

    oid: int
    owner_oid: int
    name: str
    mode: str
    granted: bool
    pid: int | None
    relkind: str

    def describe(self) -> str:
        state = "held" if self.granted else "awaited"
        who = f"pid {self.pid}" if self.pid else "a prepared transaction"
        return f"{self.name}: {self.mode} {state} by {who}"


@dataclass
class Context:
    """One snapshot's collection: the connection inside its transaction, the
    server's capabilities and what the collectors learned along the way."""

    conn: Connection
    caps: Capabilities
    # tables (and their indexes) with stale catalog sizes are measured from this many rows
    measure_min_tuples: int = 1000
    notes: list[str] = field(default_factory=list)
    _locked: list[LockedRelation] | None = None

    @property
    def version(self) -> int:
        return self.caps.server_version_num

    def locked(self, *, refresh: bool = False) -> list[LockedRelation]:
        """Relations under a lock that our size and definition functions would wait on."""
        if self._locked is None or refresh:
            _, rows = fetch(self, "locked_relations")
            self._locked = [
                LockedRelation(
                    oid=int(r["oid"]),
                    owner_oid=int(r["owner_oid"]),
                    name=str(r["name"]),
                    mode=str(r["mode"]),
                    granted=bool(r["granted"]),
                    pid=r["pid"],
                    relkind=str(r["relkind"]),
                )
                for r in rows
            ]
        return self._locked

    def exclusive_oids(self, *, refresh: bool = False) -> list[int]:
        """Relations (and the tables they belong to) under ACCESS EXCLUSIVE."""
        oids: set[int] = set()
        for lock in self.locked(refresh=refresh):
            if lock.mode == LOCK_BLOCKING_ACCESS_SHARE:
                oids.update((lock.oid, lock.owner_oid))
        return sorted(oids)

    def sequence_oids(self, *, refresh: bool = False) -> list[int]:
        """Sequences under a lock that pg_sequence_last_value would wait on."""
        return sorted({lock.oid for lock in self.locked(refresh=refresh) if lock.relkind == "S"})


def oid_array(oids: Iterable[int]) -> list[Int8]:
    """Bind oids as int8[] (a list of small ints would go as int2[], which has no
    cast to oid[])."""
    return [Int8(o) for o in oids]


# (wanted exact figures, refresh the lock list first): the second try sees locks
# taken since the first look, the third reads no locked object at all
LOCK_ATTEMPTS = ((True, False), (True, True), (False, True))


def with_lock_retries(
    ctx: Context,
    name: str,
    locked: Callable[[bool], list[int]],
    params: dict[str, Any] | None = None,
) -> tuple[Section, bool]:
    """Run a section whose SQL takes ``exact`` and ``locked`` (oid[]) parameters.

    The SQL avoids every object in ``locked``; a lock taken between our look at
    pg_locks and the query makes lock_timeout fire, and we look again. Returns
    the section and whether exact figures were allowed."""
    last: Exception | None = None
    for exact, refresh in LOCK_ATTEMPTS:
        bound = {**(params or {}), "exact": exact, "locked": oid_array(locked(refresh))}
        try:
            with savepoint(ctx):
                return section(ctx, name, bound), exact
        except pgerrors.LockNotAvailable as exc:
            last = exc
    assert last is not None
    raise last


def fetch(
    ctx: Context,
    name: str,
    params: dict[str, Any] | None = None,
    *,
    version: int | None = None,
    schema: str | None = None,
) -> tuple[list[str], list[dict[str, Any]]]:
    """Run collector ``name``'s SQL for this server; (columns, rows)."""
    text = versions.pick(name, version if version is not None else ctx.version)
    inner: sql.Composable = sql.SQL(text)  # package file, not input
    if schema is not None:
        inner = sql.SQL(text).format(schema=sql.Identifier(schema))
    query = sql.SQL("select coalesce(json_agg(q), '[]'::json) as rows from (\n{}\n) q").format(
        inner
    )
    row = ctx.conn.execute(query, params).fetchone()
    rows: list[dict[str, Any]] = row["rows"] if row else []
    if rows:
        return list(rows[0].keys()), rows
    # no rows: the columns still belong in the section (an empty, typed frame)
    cur = ctx.conn.execute(sql.SQL("select * from (\n{}\n) q limit 0").format(inner), params)
    return [d.name for d in cur.description or []], []


def section(
    ctx: Context,
    name: str,
    params: dict[str, Any] | None = None,
    *,
    sql_name: str | None = None,
    version: int | None = None,
    schema: str | None = None,
) -> Section:
    columns, rows = fetch(ctx, sql_name or name, params, version=version, schema=schema)
    return Section(name, columns, rows)


@contextlib.contextmanager
def savepoint(ctx: Context) -> Iterator[None]:
    """A failed statement rolls back to here, and the snapshot goes on."""
    with ctx.conn.transaction():
        yield


Collector = Callable[[Context], list[Section]]


def run(ctx: Context, name: str, collector: Collector, produces: Iterable[str]) -> list[Section]:
    """Run one collector in its own savepoint; a failure becomes the error of
    every section it would have produced."""
    started = time.perf_counter()
    try:
        with savepoint(ctx):
            sections = collector(ctx)
    except PgtuneError as exc:
        sections = [Section(n, error=str(exc)) for n in produces]
    except psycopg.Error as exc:
        if ctx.conn.closed or ctx.conn.broken:
            raise translate_query_error(exc, name) from None
        message = str(translate_query_error(exc, name))
        sections = [Section(n, error=message) for n in produces]
    elapsed = (time.perf_counter() - started) * 1000.0
    # one timing per collector, shared by the sections it produced
    for produced in sections:
        if not produced.elapsed_ms:
            produced.elapsed_ms = elapsed / len(sections)
    return sections
