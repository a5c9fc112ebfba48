"""Two snapshots: what happened in between, as rates over the measured interval.

The arithmetic is collect.diff's (resets and restarts make a counter n/a with
the reason, never a negative rate); this module only lays it out.
"""

from __future__ import annotations

from typing import Any

from pgtune_hx.collect.diff import SnapshotDiff
from pgtune_hx.report import format as fmt
from pgtune_hx.report.cells import cut, num_cell, qname, text, text_cell
from pgtune_hx.report.context import ReportContext
from pgtune_hx.report.model import Block, Cell, Column, KeyValues, Notes, Section, Table

# database counters worth a row, with how to show their delta
DATABASE_ROWS = (
    ("xact_commit", "commits", fmt.count),
    ("xact_rollback", "rollbacks", fmt.count),
    ("tup_returned", "rows returned", fmt.count),
    ("tup_fetched", "rows fetched", fmt.count),
    ("tup_inserted", "rows inserted", fmt.count),
    ("tup_updated", "rows updated", fmt.count),
    ("tup_deleted", "rows deleted", fmt.count),
    ("blks_read", "blocks read", fmt.count),
    ("blks_hit", "blocks hit", fmt.count),
    ("temp_files", "temp files", fmt.count),
    ("temp_bytes", "temp bytes", fmt.size),
    ("deadlocks", "deadlocks", fmt.count),
    ("conflicts", "recovery conflicts", fmt.count),
)
SHARED_ROWS = (
    ("wal", "wal_generated_bytes", "WAL generated", fmt.size),
    ("wal", "wal_records", "WAL records", fmt.count),
    ("wal", "wal_fpi", "WAL full-page images", fmt.count),
    ("checkpointer", "num_timed", "checkpoints (timed)", fmt.count),
    ("checkpointer", "num_requested", "checkpoints (requested)", fmt.count),
    ("checkpointer", "buffers_written", "buffers written by checkpoints", fmt.count),
    ("bgwriter", "buffers_clean", "buffers written by the bgwriter", fmt.count),
    ("bgwriter", "buffers_alloc", "buffers allocated", fmt.count),
    ("archiver", "archived_count", "WAL files archived", fmt.count),
    ("archiver", "failed_count", "archiving failures", fmt.count),
    ("xid", "xids_consumed", "transaction ids consumed", fmt.count),
)
COUNTER_COLUMNS = [
    Column("counter"),
    Column("change", True),
    Column("per second", True),
    Column("note"),
]


def _counter_row(label: str, counter: dict[str, Any], render: Any) -> list[Cell]:
    if counter.get("na"):
        return [
            text_cell(label),
            Cell("n/a", -1.0, "num"),
            Cell("n/a", -1.0, "num"),
            text_cell(counter["na"]),
        ]
    return [
        text_cell(label),
        num_cell(counter.get("delta"), render),
        num_cell(counter.get("per_s"), fmt.rate),
        text_cell(""),
    ]


def _database(ctx: ReportContext, change: SnapshotDiff) -> Table:
    name = ctx.snap.server.get("database")
    title = f"Database {text(name)}"
    if not change.databases.valid:
        return Table(
            "comparison-database",
            title,
            COUNTER_COLUMNS,
            [],
            f"Not comparable: {change.databases.na}.",
        )
    row = next((r for r in change.databases.rows if r.get("datname") == name), None)
    rows = []
    if row is not None:
        found = row.get("counters") or {}
        rows = [
            _counter_row(label, found[column], render)
            for column, label, render in DATABASE_ROWS
            if column in found
        ]
    return Table(
        "comparison-database",
        title,
        COUNTER_COLUMNS,
        rows,
        "The database is not in both snapshots.",
    )


def _server(change: SnapshotDiff) -> Table:
    rows = []
    for family, column, label, render in SHARED_ROWS:
        found = change.rates.get(family, {}).get(column)
        if found is not None:
            rows.append(_counter_row(label, found.to_dict(), render))
    return Table(
        "comparison-server",
        "Server",
        COUNTER_COLUMNS,
        rows,
        "No server-wide counters in both snapshots.",
    )


def _tables(change: SnapshotDiff) -> Table:
    columns = [
        Column("table"),
        Column("rows read/s", True, "rows read by sequential and index scans per second"),
        Column("rows written/s", True, "rows inserted, updated and deleted per second"),
        Column("seq scans/s", True),
        Column("index scans", True),
        Column("dead tuples change", True),
        Column("HOT updates", True),
        Column("note"),
    ]
    title = "Tables with the most activity"
    if not change.tables.valid:
        return Table(
            "comparison-tables", title, columns, [], f"Not comparable: {change.tables.na}."
        )
    rows = [
        [
            text_cell(qname(r.get("schemaname"), r.get("relname")), "code"),
            num_cell(r.get("tuples_read_per_s"), fmt.rate),
            num_cell(r.get("tuples_written_per_s"), fmt.rate),
            num_cell(r.get("seq_scan_per_s"), fmt.rate),
            num_cell(r.get("idx_scan")),
            num_cell(r.get("n_dead_tup_change")),
            num_cell(r.get("hot_ratio"), fmt.percent),
            text_cell(r.get("na") or ("new table" if r.get("new") else "")),
        ]
        for r in change.tables.rows
    ]
    shown, total = cut(rows, 50)
    return Table(
        "comparison-tables", title, columns, shown, "No table changed in the interval.", total=total
    )


def section(ctx: ReportContext) -> Section:
    change = ctx.diff
    assert change is not None and ctx.since is not None
    blocks: list[Block] = [
        KeyValues(
            "comparison-interval",
            "Interval",
            [
                ("from", fmt.timestamp(ctx.since.captured_at)),
                ("to", fmt.timestamp(ctx.snap.captured_at)),
                ("length", fmt.seconds(change.interval_s)),
                ("server restarted", text(change.restarted)),
            ],
        )
    ]
    if change.events:
        blocks.append(
            Notes(
                "comparison-events",
                "Resets, restarts and evictions",
                [f"{e.scope}: {e.message}" for e in change.events],
            )
        )
    blocks += [_database(ctx, change), _server(change), _tables(change)]
    summary = f"over {fmt.seconds(change.interval_s)}"
    if change.events:
        summary += f", {len(change.events)} events"
    return Section("comparison", "Comparison of the two snapshots", summary, blocks)
