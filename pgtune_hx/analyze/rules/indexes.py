"""Rules about indexes: unused, duplicate, redundant, invalid, bloated, costly to maintain.

Definitions are compared through the shape the collectors parsed with pglast
(key columns and expressions, operator classes, orderings, collations, INCLUDE
list, predicate), never by matching the CREATE INDEX text.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from pgtune_hx.analyze.common import human_bytes, human_duration, num, qualified, rounded
from pgtune_hx.analyze.engine import Context
from pgtune_hx.analyze.findings import Finding, Severity
from pgtune_hx.analyze.registry import rule
from pgtune_hx.analyze.rules.tables import bloat_evidence

DAY = 86400.0


def index_name(row: dict[str, Any]) -> str:
    return qualified(row.get("schemaname"), str(row.get("indexrelname")))


def table_name(row: dict[str, Any]) -> str:
    return qualified(row.get("schemaname"), str(row.get("relname")))


def enforces_something(row: dict[str, Any]) -> bool:
    """Unique, primary-key and exclusion indexes and those a foreign key relies on
    do work even when never scanned: they are not candidates for dropping."""
    return bool(
        row.get("indisunique")
        or row.get("indisprimary")
        or row.get("indisexclusion")
        or row.get("constraint_type")
        or row.get("fk_referenced")
    )


def drop_index_sql(row: dict[str, Any]) -> str:
    return f"DROP INDEX CONCURRENTLY {index_name(row)};"


def _standbys(ctx: Context) -> int:
    """Connected standbys and WAL receivers (pg_stat_replication rows)."""
    return len(ctx.snapshot.rows("replication"))


def _scan_visibility(ctx: Context) -> dict[str, Any]:
    """What idx_scan cannot see: other servers and the time before the last reset."""
    standbys = _standbys(ctx)
    return {
        "stats_reset": (ctx.database_row or {}).get("stats_reset"),
        "stats_age": human_duration(ctx.stats_age_s) if ctx.stats_age_s is not None else None,
        "standbys_connected": standbys,
        "scope": (
            "idx_scan counts scans on this server only: scans on standbys and before the last "
            "statistics reset are not visible here; check each standby's "
            "pg_stat_user_indexes before dropping"
        ),
    }


@rule(
    "index.unused",
    severity=Severity.warning,
    title="Index has not been used since statistics were reset",
    requires=("indexes",),
)
def unused_indexes(
    ctx: Context,
    *,
    min_size_bytes: int = 1024 * 1024,
    max_scans: int = 0,
    min_stats_age_days: float = 7.0,
) -> Iterator[Finding]:
    """An index no query scans still costs every INSERT, non-HOT UPDATE and
    DELETE, WAL, vacuum time and cache space.

    Skipped: unique, primary-key and exclusion indexes and indexes a foreign key
    references (they enforce a constraint), and invalid ones (index.invalid).
    When the statistics were reset less than ``min_stats_age_days`` ago the
    finding is only informational: a monthly report may not have run since.
    Scans on standbys are not counted in the primary's statistics: the evidence
    says how many standbys are connected.

    https://www.postgresql.org/docs/current/monitoring-stats.html#MONITORING-PG-STAT-ALL-INDEXES-VIEW
    """
    interval = {r.get("indexrelid"): r for r in ctx.counters("indexes")} if ctx.since else {}
    visibility = _scan_visibility(ctx)
    young = ctx.stats_age_s is not None and ctx.stats_age_s < min_stats_age_days * DAY
    standbys = int(visibility["standbys_connected"])
    for row in ctx.snapshot.rows("indexes"):
        if (row.get("idx_scan") or 0) > max_scans or (row.get("size_bytes") or 0) < min_size_bytes:
            continue  # cheap tests first
        if enforces_something(row) or row.get("indisvalid") is False:
            continue
        scans = num(row.get("idx_scan"))
        size = num(row.get("size_bytes"))
        evidence: dict[str, Any] = {
            "table": table_name(row),
            "idx_scan": int(scans),
            "size_bytes": int(size),
            "size": human_bytes(size),
            "indexdef": row.get("indexdef"),
            "last_idx_scan": row.get("last_idx_scan"),
            **visibility,
        }
        if interval:
            evidence["idx_scan_in_interval"] = int(
                num(interval.get(row.get("indexrelid"), {}).get("idx_scan"))
            )
            evidence["interval_s"] = rounded(ctx.interval_s, 1)
        confidence = "high"
        if young:
            confidence = "low"
        elif standbys or ctx.stats_age_s is None:
            confidence = "medium"
        parent = _partition_parent(ctx, row)
        fix = drop_index_sql(row)
        fix_kind = "sql"
        if parent:
            evidence["partition_of"] = parent
            fix = (
                f"{fix}  -- if this index is attached to a partitioned index on {parent}, "
                "drop that one on the parent instead"
            )
        yield ctx.finding(
            object=index_name(row),
            evidence=evidence,
            fix=fix,
            fix_kind=fix_kind,
            impact=size,
            confidence=confidence,
            severity=Severity.info if young else None,
        )


def _partition_parent(ctx: Context, index_row: dict[str, Any]) -> str | None:
    parents = ctx.cache(
        "table_parent",
        lambda: {r.get("relid"): r.get("parent") for r in ctx.snapshot.rows("tables")},
    )
    parent = parents.get(index_row.get("relid"))
    return str(parent) if parent else None


@dataclass(frozen=True)
class Shape:
    """An index definition reduced to what decides whether two indexes overlap."""

    am: str
    keys: tuple[tuple[Any, ...], ...]
    include: frozenset[str]
    predicate: str | None
    unique: bool
    nulls_not_distinct: bool

    @classmethod
    def of(cls, row: dict[str, Any]) -> Shape | None:
        if row.get("parse_error") or row.get("columns") is None:
            return None
        columns = list(row.get("columns") or [])
        expressions = list(row.get("expressions") or [])
        opclasses = list(row.get("opclasses") or [None] * len(columns))
        orderings = list(row.get("orderings") or [None] * len(columns))
        collations = list(row.get("collations") or [None] * len(columns))
        keys: list[tuple[Any, ...]] = []
        expr_at = 0
        for i, column in enumerate(columns):
            if column is None:
                if expr_at >= len(expressions):
                    return None
                element: Any = ("expr", expressions[expr_at])
                expr_at += 1
            else:
                element = ("col", column)
            keys.append(
                (
                    element,
                    opclasses[i] if i < len(opclasses) else None,
                    orderings[i] if i < len(orderings) else None,
                    collations[i] if i < len(collations) else None,
                )
            )
        return cls(
            am=str(row.get("am") or ""),
            keys=tuple(keys),
            include=frozenset(str(c) for c in row.get("include") or ()),
            predicate=row.get("predicate"),
            unique=bool(row.get("indisunique")),
            nulls_not_distinct=bool(row.get("nulls_not_distinct")),
        )

    def covers_columns(self) -> frozenset[str]:
        return frozenset(k[0][1] for k in self.keys if k[0][0] == "col") | self.include


def _first_key(row: dict[str, Any]) -> Any:
    """The leading key (column name or expression text), or None when unknown."""
    columns = row.get("columns")
    if not columns:
        return None
    if columns[0] is not None:
        return columns[0]
    expressions = row.get("expressions")
    return ("expr", expressions[0]) if expressions else None


def _by_table(ctx: Context) -> dict[Any, list[tuple[dict[str, Any], Shape]]]:
    """Valid, parsed indexes grouped by table and leading key, groups of two or more.

    Duplicates have equal keys and a redundant index is a prefix of another: both
    share the leading key, so only such groups are compared (and parsed into
    shapes); on a schema of 20,000 indexes that is a small fraction."""

    def build() -> dict[Any, list[tuple[dict[str, Any], Shape]]]:
        candidates: dict[Any, list[dict[str, Any]]] = defaultdict(list)
        for row in ctx.snapshot.rows("indexes"):
            if row.get("indisvalid") is False:
                continue
            first = _first_key(row)
            if first is not None:
                candidates[(row.get("relid"), first)].append(row)
        groups: dict[Any, list[tuple[dict[str, Any], Shape]]] = {}
        for key, rows in candidates.items():
            if len(rows) < 2:
                continue
            shaped = [(r, shape) for r in rows if (shape := Shape.of(r)) is not None]
            if len(shaped) > 1:
                groups[key] = shaped
        return groups

    return ctx.cache("indexes_by_table", build)


def _keeper_rank(row: dict[str, Any]) -> tuple[int, int, float, int]:
    """Which of equal indexes to keep: constraint-backed, unique, most scanned, oldest."""
    return (
        0 if (row.get("constraint_type") or row.get("fk_referenced")) else 1,
        0 if row.get("indisunique") else 1,
        -num(row.get("idx_scan")),
        int(num(row.get("indexrelid"))),
    )


def _removal(row: dict[str, Any]) -> tuple[str, str, str]:
    """(fix, fix_kind, confidence) for removing an index that duplicates another."""
    table = table_name(row)
    if row.get("fk_referenced"):
        return (
            f"-- a foreign key references {index_name(row)}: recreate that foreign key "
            f"after dropping, or keep it\n{drop_index_sql(row)}",
            "action",
            "medium",
        )
    constraint = row.get("constraint_name")
    if row.get("constraint_type") and constraint:
        return (
            f"ALTER TABLE {table} DROP CONSTRAINT {qualified(None, str(constraint))};",
            "sql",
            "medium",
        )
    return drop_index_sql(row), "sql", "high"


def _duplicates(ctx: Context) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(index to drop, index it duplicates) pairs, computed once for two rules."""

    def build() -> list[tuple[dict[str, Any], dict[str, Any]]]:
        pairs = []
        for group in _by_table(ctx).values():
            buckets: dict[tuple[Any, ...], list[tuple[dict[str, Any], Shape]]] = defaultdict(list)
            for row, shape in group:
                buckets[(shape.am, shape.keys, shape.include, shape.predicate)].append((row, shape))
            for members in buckets.values():
                if len(members) < 2:
                    continue
                members.sort(key=lambda m: _keeper_rank(m[0]))
                keep_row, keep_shape = members[0]
                for row, shape in members[1:]:
                    if shape.unique and keep_shape.unique:
                        if shape.nulls_not_distinct != keep_shape.nulls_not_distinct:
                            continue  # different constraints despite equal keys
                    elif shape.unique:
                        continue  # never drop a unique index in favour of a plain one
                    pairs.append((row, keep_row))
        return pairs

    return ctx.cache("duplicate_indexes", build)


@rule(
    "index.duplicate",
    severity=Severity.warning,
    title="Index duplicates another index on the same table",
    requires=("indexes",),
)
def duplicate_indexes(ctx: Context, *, min_size_bytes: int = 0) -> Iterator[Finding]:
    """Two indexes with the same access method, key columns and expressions (with
    the same operator classes, orderings and collations), INCLUDE list and
    predicate answer the same queries; one of them is pure write and space cost.

    The one kept is, in order: constraint-backed, unique, most scanned, oldest.
    A unique index is never reported as duplicating a non-unique one.

    https://www.postgresql.org/docs/current/indexes-multicolumn.html
    """
    for row, keep_row in _duplicates(ctx):
        size = num(row.get("size_bytes"))
        if size < min_size_bytes:
            continue
        fix, fix_kind, confidence = _removal(row)
        yield ctx.finding(
            object=index_name(row),
            evidence={
                "table": table_name(row),
                "duplicate_of": index_name(keep_row),
                "indexdef": row.get("indexdef"),
                "kept_indexdef": keep_row.get("indexdef"),
                "idx_scan": int(num(row.get("idx_scan"))),
                "kept_idx_scan": int(num(keep_row.get("idx_scan"))),
                "size_bytes": int(size),
                "size": human_bytes(size),
            },
            fix=fix,
            fix_kind=fix_kind,
            impact=size,
            confidence=confidence,
        )


@rule(
    "index.redundant",
    severity=Severity.info,
    title="Index is a leading prefix of another index",
    requires=("indexes",),
)
def redundant_indexes(ctx: Context, *, min_size_bytes: int = 0) -> Iterator[Finding]:
    """A btree index whose key columns are the leading columns of another btree
    index on the same table (same operator classes, orderings, collations and
    predicate) is served by the longer one: a query on ``(a)`` can use the index
    on ``(a, b)``. Also an index that differs from another only by a smaller
    INCLUDE list. Unique and constraint indexes are kept: they enforce
    uniqueness on exactly their columns.

    Informational: the shorter index is smaller and can be faster for its own
    queries; drop it when write cost matters more.

    https://www.postgresql.org/docs/current/indexes-multicolumn.html
    """
    duplicates = {id(row) for row, _ in _duplicates(ctx)}
    for group in _by_table(ctx).values():
        btrees = [(r, s) for r, s in group if s.am == "btree"]
        for row, shape in btrees:
            if enforces_something(row) or id(row) in duplicates:
                continue  # duplicates are index.duplicate's
            size = num(row.get("size_bytes"))
            if size < min_size_bytes:
                continue
            for other, other_shape in btrees:
                if other is row or other_shape.predicate != shape.predicate:
                    continue
                n = len(shape.keys)
                if other_shape.keys[:n] != shape.keys:
                    continue
                longer = len(other_shape.keys) > n
                wider = (
                    len(other_shape.keys) == n
                    and shape.include < other_shape.include  # strict subset
                )
                if not (longer or wider):
                    continue
                if not shape.include <= other_shape.covers_columns():
                    continue
                fix, fix_kind, _ = _removal(row)
                yield ctx.finding(
                    object=index_name(row),
                    evidence={
                        "table": table_name(row),
                        "covered_by": index_name(other),
                        "indexdef": row.get("indexdef"),
                        "covering_indexdef": other.get("indexdef"),
                        "idx_scan": int(num(row.get("idx_scan"))),
                        "covering_idx_scan": int(num(other.get("idx_scan"))),
                        "size_bytes": int(size),
                        "size": human_bytes(size),
                    },
                    fix=fix,
                    fix_kind=fix_kind,
                    impact=size,
                    confidence="medium",
                )
                break


@rule(
    "index.invalid",
    severity=Severity.warning,
    title="Invalid index (a failed CREATE INDEX CONCURRENTLY or REINDEX)",
    requires=("indexes",),
)
def invalid_indexes(ctx: Context) -> Iterator[Finding]:
    """An invalid index is never used by queries but, once ready, is still
    maintained by every write. It is what a failed or cancelled CREATE INDEX
    CONCURRENTLY or REINDEX CONCURRENTLY leaves behind. Rebuild it or drop it.

    https://www.postgresql.org/docs/current/sql-createindex.html#SQL-CREATEINDEX-CONCURRENTLY
    """
    building = [
        r
        for r in ctx.snapshot.rows("activity")
        if "index" in str(r.get("query") or "").lower() and r.get("state") == "active"
    ]
    for row in ctx.snapshot.rows("indexes"):
        if row.get("indisvalid") is not False:
            continue
        size = num(row.get("size_bytes"))
        name = index_name(row)
        in_progress = [
            r.get("pid") for r in building if str(row.get("indexrelname")) in str(r.get("query"))
        ]
        fix = f"REINDEX INDEX CONCURRENTLY {name};"
        if not row.get("constraint_type"):
            fix += f"\n-- or, if it is not needed:\n{drop_index_sql(row)}"
        yield ctx.finding(
            object=name,
            evidence={
                "table": table_name(row),
                "indisvalid": False,
                "indisready": row.get("indisready"),
                "maintained_on_writes": bool(row.get("indisready")),
                "indexdef": row.get("indexdef"),
                "size_bytes": int(size),
                "size": human_bytes(size),
                "build_in_progress_pids": in_progress,
            },
            fix=fix,
            fix_kind="sql",
            impact=size,
            confidence="low" if in_progress else "high",
        )


@rule(
    "index.write_cost",
    severity=Severity.info,
    title="Index on a write-heavy table is rarely scanned",
    requires=("indexes", "tables"),
)
def write_heavy_indexes(
    ctx: Context,
    *,
    min_table_writes: int = 100_000,
    min_writes_per_scan: float = 1000.0,
) -> Iterator[Finding]:
    """Every insert, delete and non-HOT update writes an entry into each index
    of the table (and WAL for it). An index scanned once per thousands of such
    writes may cost more than it saves. Index writes are counted as
    ``n_tup_ins + n_tup_del + n_tup_upd - n_tup_hot_upd``; with two snapshots,
    over the interval. Unused indexes are left to index.unused, constraint
    indexes are skipped.

    https://www.postgresql.org/docs/current/indexes-intro.html
    """
    writes_of: dict[Any, float] = {}
    for table in ctx.counters("tables"):
        writes = (
            num(table.get("n_tup_ins"))
            + num(table.get("n_tup_del"))
            + num(table.get("n_tup_upd"))
            - num(table.get("n_tup_hot_upd"))
        )
        if writes >= min_table_writes:
            writes_of[table.get("relid")] = writes
    for row in ctx.counters("indexes"):
        if row.get("relid") not in writes_of or (row.get("idx_scan") or 0) <= 0:
            continue  # cheap tests first
        if enforces_something(row) or row.get("indisvalid") is False:
            continue
        writes = writes_of[row.get("relid")]
        scans = num(row.get("idx_scan"))
        per_scan = writes / scans
        if per_scan < min_writes_per_scan:
            continue
        size = num(row.get("size_bytes"))
        evidence: dict[str, Any] = {
            "table": table_name(row),
            "index_writes": int(writes),
            "idx_scan": int(scans),
            "writes_per_scan": round(per_scan, 1),
            "size_bytes": int(size),
            "size": human_bytes(size),
            "indexdef": row.get("indexdef"),
        }
        if ctx.since is not None:
            evidence["interval_s"] = rounded(ctx.interval_s, 1)
        yield ctx.finding(
            object=index_name(row),
            evidence=evidence,
            fix=(
                f"-- check which queries scan {index_name(row)} (pg_stat_statements, "
                f"EXPLAIN) before removing it\n{drop_index_sql(row)}"
            ),
            fix_kind="action",
            impact=writes,
            confidence="medium",
        )


@rule(
    "index.bloat",
    severity=Severity.warning,
    title="Index holds much more space than its entries need",
    requires=("index_bloat",),
)
def index_bloat(
    ctx: Context,
    *,
    min_bloat_bytes: int = 100 * 1024 * 1024,
    min_bloat_ratio: float = 0.4,
) -> Iterator[Finding]:
    """A btree index keeps its pages after the entries on them are deleted
    (only completely empty pages are recycled): after mass deletes or random
    updates of the key, it is larger and deeper than needed and caches worse.
    Estimated from the index's reltuples and relpages and its columns' widths
    in pg_stats; measured with pgstatindex (average leaf density against the
    fillfactor) for the largest candidates when pgstattuple is installed.
    Expression indexes have no estimate. REINDEX CONCURRENTLY rebuilds without
    blocking writes.

    https://www.postgresql.org/docs/current/routine-reindex.html
    """
    for row in ctx.snapshot.rows("index_bloat"):
        waste = num(row.get("bloat_bytes"))
        share = num(row.get("bloat_ratio"))
        if waste < min_bloat_bytes or share < min_bloat_ratio:
            continue
        name = qualified(row.get("schemaname"), str(row.get("indexrelname")))
        evidence = bloat_evidence(row)
        evidence["table"] = qualified(row.get("schemaname"), str(row.get("relname")))
        yield ctx.finding(
            object=name,
            evidence=evidence,
            fix=f"REINDEX INDEX CONCURRENTLY {name};",
            fix_kind="sql",
            impact=waste,
            confidence="high" if row.get("method") == "pgstattuple" else "medium",
        )
