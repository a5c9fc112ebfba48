"""What every collector shares: the context, one set-based query per section,
savepoints, and errors turned into a section's ``error`` instead of an abort.

Rows come back as tuples (built in C) and are made JSON values column by column:
only the columns holding timestamps, numerics and the like are converted
(timestamps to ISO 8601, in UTC as the snapshot transaction sets it). A section
keeps them as value lists; dicts are built only when a collector or a reader
asks for ``rows``. Building the JSON in the server (json_agg) was measured
slower than this on 20,000-row sections.
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
from psycopg.abc import Buffer
from psycopg.adapt import Loader
from psycopg.rows import tuple_row
from psycopg.types.numeric import Int8

from pgtune_hx.collect import versions
from pgtune_hx.collect.model import Section, json_safe
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


_NATIVE = (str, int, float, bool, dict)


def jsonable(columns: list[str], data: list[tuple[Any, ...]]) -> list[Any]:
    """Rows as JSON values; only columns whose values need it are converted
    (timestamps, numerics, ...), judged by their first non-null value."""
    convert = []
    for index in range(len(columns)):
        sample = next((r[index] for r in data if r[index] is not None), None)
        if isinstance(sample, list):
            sample = next((v for v in sample if v is not None), None)
        if sample is not None and not isinstance(sample, _NATIVE):
            convert.append(index)
    if not convert:
        return data
    rows: list[Any] = []
    for values in data:
        if any(values[i] is not None for i in convert):
            fixed = list(values)
            for index in convert:
                fixed[index] = json_safe(fixed[index])
            rows.append(fixed)
        else:
            rows.append(values)  # nothing to convert in this row: keep the tuple
    return rows


class IsoTimestampLoader(Loader):
    """timestamptz as the ISO 8601 text the snapshot stores, without building a
    datetime: the snapshot transaction sets DateStyle ISO and TimeZone UTC, so the
    server sends '2026-12-04 20:05:11.59+00' and only the separator and the
    offset's minutes differ."""

    def load(self, data: Buffer) -> str:
        text = bytes(data).decode()
        if text[-3:-2] in ("+", "-"):
            text += ":00"
        return text.replace(" ", "T", 1)


class JsonNumberLoader(Loader):
    """numeric as an int when integral, else a float (JSON has no decimals)."""

    def load(self, data: Buffer) -> int | float | None:
        text = bytes(data)
        if text == b"NaN":
            return None
        try:
            return int(text)
        except ValueError:
            return float(text)


def _cursor(ctx: Context) -> psycopg.Cursor[tuple[Any, ...]]:
    cur = ctx.conn.cursor(row_factory=tuple_row)
    cur.adapters.register_loader("timestamptz", IsoTimestampLoader)
    cur.adapters.register_loader("numeric", JsonNumberLoader)
    return cur


def fetch_data(
    ctx: Context,
    name: str,
    params: dict[str, Any] | None = None,
    *,
    version: int | None = None,
    schema: str | None = None,
) -> tuple[list[str], list[Any]]:
    """Run collector ``name``'s SQL for this server: (columns, rows as value lists)."""
    text = versions.pick(name, version if version is not None else ctx.version)
    query: sql.SQL | sql.Composed = sql.SQL(text)  # package file, not input
    if schema is not None:
        query = sql.SQL(text).format(schema=sql.Identifier(schema))
    cur = _cursor(ctx)
    cur.execute(query, params)
    columns = [d.name for d in cur.description or []]
    return columns, jsonable(columns, cur.fetchall())


def fetch(
    ctx: Context,
    name: str,
    params: dict[str, Any] | None = None,
    *,
    version: int | None = None,
    schema: str | None = None,
) -> tuple[list[str], list[dict[str, Any]]]:
    """Like fetch_data, with rows as dicts (for the small internal queries)."""
    columns, data = fetch_data(ctx, name, params, version=version, schema=schema)
    return columns, [dict(zip(columns, values, strict=True)) for values in data]


def fetch_tuples(ctx: Context, name: str) -> list[tuple[Any, ...]]:
    """Rows of an internal query as tuples (never stored, so never made JSON)."""
    cur = ctx.conn.cursor(row_factory=tuple_row)
    cur.execute(sql.SQL(versions.pick(name, ctx.version)))  # package file, not input
    return cur.fetchall()


def section(
    ctx: Context,
    name: str,
    params: dict[str, Any] | None = None,
    *,
    sql_name: str | None = None,
    version: int | None = None,
    schema: str | None = None,
) -> Section:
    columns, data = fetch_data(ctx, sql_name or name, params, version=version, schema=schema)
    return Section(name, columns, data=data)


@contextlib.contextmanager
def savepoint(ctx: Context) -> Iterator[None]:
    """A failed statement rolls back to here, and the snapshot goes on."""
    with ctx.conn.transaction():
        yield


@contextlib.contextmanager
def scoped_setting(ctx: Context, name: str, value: str) -> Iterator[None]:
    """A setting for the queries inside only: rolling back to a savepoint restores
    its value and source, so the settings section still shows the server's own."""
    with ctx.conn.transaction() as tx:
        ctx.conn.execute(
            sql.SQL("select set_config({}, {}, true)").format(sql.Literal(name), sql.Literal(value))
        )
        yield
        raise psycopg.Rollback(tx)


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
