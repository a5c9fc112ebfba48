"""table_bloat and index_bloat: how much of each table and btree index is free space.

Every relation gets a catalog estimate (SQL in sql/table_bloat_*.sql and
sql/index_bloat_*.sql: pg_class figures and pg_stats column widths, no lock and
no I/O on the relations). Where pgstattuple is installed, the few largest
estimated candidates are then measured: ``pgstattuple_approx`` for tables
(reads the pages the visibility map does not vouch for) and ``pgstatindex`` for
btree indexes (reads the whole index). Both are reads under ACCESS SHARE;
relations someone holds or awaits ACCESS EXCLUSIVE on are not measured, each
measurement runs in its own savepoint, and at most MEASURE_TOP relations of at
most MEASURE_MAX_BYTES each are read, so the cost stays bounded.

Derived columns: ``bloat_pages`` / ``bloat_bytes`` / ``bloat_ratio`` (estimate:
relpages minus the expected pages; measured: free space beyond the fillfactor
reserve, plus dead tuples for tables) and ``method`` ('estimate' or
'pgstattuple').
"""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg import sql

from pgtune_hx.collect.model import Section
from pgtune_hx.collect.runner import Context, fetch, section

MEASURE_TOP = 10
MEASURE_MAX_BYTES = 1024**3


def _estimate(rows: list[dict[str, Any]]) -> None:
    for row in rows:
        expected = row.get("expected_pages")
        pages = float(row.get("relpages") or 0)
        block = float(row.get("block_size") or 8192)
        if expected is None or pages <= 0:
            row.update(bloat_pages=None, bloat_bytes=None, bloat_ratio=None)
        else:
            extra = max(0.0, pages - float(expected))
            row.update(
                bloat_pages=int(extra),
                bloat_bytes=int(extra * block),
                bloat_ratio=round(extra / pages, 4),
            )
        row["method"] = "estimate"


def _schema(ctx: Context) -> str | None:
    _, rows = fetch(ctx, "extension_schema", {"name": "pgstattuple"})
    if not rows or not rows[0].get("usable"):
        return None
    return str(rows[0]["schema"])


def _candidates(rows: list[dict[str, Any]], skip: set[int], key: str) -> list[dict[str, Any]]:
    sized = [
        r
        for r in rows
        if r.get("bloat_bytes")
        and float(r.get("relpages") or 0) * float(r["block_size"]) <= MEASURE_MAX_BYTES
        and int(r[key]) not in skip
        and int(r["relid"]) not in skip  # an index of a locked table is left alone too
    ]
    sized.sort(key=lambda r: r["bloat_bytes"], reverse=True)
    return sized[:MEASURE_TOP]


def _measure(
    ctx: Context, function: str, schema: str, oid: int, notes: list[str], name: str
) -> dict[str, Any] | None:
    query = sql.SQL("select * from {}.{}(%s::oid::regclass)").format(
        sql.Identifier(schema), sql.Identifier(function)
    )
    try:
        with ctx.conn.transaction():
            row = ctx.conn.execute(query, [oid]).fetchone()
    except psycopg.Error as exc:
        notes.append(f"{name}: {function} failed: {str(exc).strip().splitlines()[0]}")
        return None
    return dict(row) if row else None


def _measure_tables(
    ctx: Context, schema: str, rows: list[dict[str, Any]], skip: set[int], notes: list[str]
) -> None:
    for row in _candidates(rows, skip, "relid"):
        name = f"{row['schemaname']}.{row['relname']}"
        found = _measure(ctx, "pgstattuple_approx", schema, int(row["relid"]), notes, name)
        if found is None:
            continue
        length = float(found.get("table_len") or 0)
        reserve = length * (100 - float(row.get("fillfactor") or 100)) / 100
        waste = float(found.get("approx_free_space") or 0) + float(found.get("dead_tuple_len") or 0)
        bloat = max(0.0, waste - reserve)
        row.update(
            method="pgstattuple",
            bloat_bytes=int(bloat),
            bloat_pages=int(bloat // float(row["block_size"])),
            bloat_ratio=round(bloat / length, 4) if length else None,
            approx_free_percent=found.get("approx_free_percent"),
            dead_tuple_percent=found.get("dead_tuple_percent"),
            scanned_percent=found.get("scanned_percent"),
        )


def _measure_indexes(
    ctx: Context, schema: str, rows: list[dict[str, Any]], skip: set[int], notes: list[str]
) -> None:
    for row in _candidates(rows, skip, "indexrelid"):
        name = f"{row['schemaname']}.{row['indexrelname']}"
        found = _measure(ctx, "pgstatindex", schema, int(row["indexrelid"]), notes, name)
        if found is None or not found.get("leaf_pages"):
            continue
        density = float(found.get("avg_leaf_density") or 0)
        fillfactor = float(row.get("fillfactor") or 90)
        ratio = max(0.0, 1 - density / fillfactor)
        size = float(found.get("index_size") or 0)
        row.update(
            method="pgstattuple",
            bloat_ratio=round(ratio, 4),
            bloat_bytes=int(size * ratio),
            bloat_pages=int(size * ratio // float(row["block_size"])),
            avg_leaf_density=density,
            leaf_fragmentation=found.get("leaf_fragmentation"),
            deleted_pages=found.get("deleted_pages"),
        )


MEASURED_COLUMNS = {
    "table_bloat": ("approx_free_percent", "dead_tuple_percent", "scanned_percent"),
    "index_bloat": ("avg_leaf_density", "leaf_fragmentation", "deleted_pages"),
}
DERIVED = ("bloat_pages", "bloat_bytes", "bloat_ratio", "method")


def collect(ctx: Context) -> list[Section]:
    tables = section(ctx, "table_bloat")
    indexes = section(ctx, "index_bloat")
    for result in (tables, indexes):
        _estimate(result.rows)
    schema = _schema(ctx)
    if schema is not None:
        skip = set(ctx.exclusive_oids())
        _measure_tables(ctx, schema, tables.rows, skip, tables.skipped)
        _measure_indexes(ctx, schema, indexes.rows, skip, indexes.skipped)
    for result in (tables, indexes):
        extra = [*DERIVED, *MEASURED_COLUMNS[result.name]]
        result.columns += [c for c in extra if c not in result.columns]
        for row in result.rows:
            for column in MEASURED_COLUMNS[result.name]:
                row.setdefault(column, None)
    return [tables, indexes]
