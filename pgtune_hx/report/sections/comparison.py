"""The comparison section."""

from __future__ import annotations

from pgtune_hx.report import format as fmt
from pgtune_hx.report.cells import (
    cut,
    num_cell,
    qname,
    text_cell,
)
from pgtune_hx.report.context import ReportContext
from pgtune_hx.report.model import (
    Block,
    Column,
    KeyValues,
    Section,
    Table,
)


def section(ctx: ReportContext) -> Section:
    assert ctx.since is not None
    interval = (ctx.snap.captured - ctx.since.captured).total_seconds()
    blocks: list[Block] = [
        KeyValues(
            "comparison-interval",
            "Interval",
            [
                ("from", fmt.timestamp(ctx.since.captured_at)),
                ("to", fmt.timestamp(ctx.snap.captured_at)),
                ("length", fmt.seconds(interval)),
            ],
        )
    ]
    blocks.append(_database_rates(ctx, interval))
    blocks.append(_table_changes(ctx, interval))
    return Section(
        "comparison", "Comparison of the two snapshots", f"over {fmt.seconds(interval)}", blocks
    )


def _database_rates(ctx: ReportContext, interval: float) -> Table:
    name = ctx.snap.server.get("database")
    after = next((r for r in ctx.snap.rows("database") if r.get("datname") == name), None)
    before = (
        next((r for r in ctx.since.rows("database") if r.get("datname") == name), None)
        if ctx.since
        else None
    )
    metrics = [
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
    ]
    rows = []
    if after is not None and before is not None and interval > 0:
        for column, label, render in metrics:
            a, b = fmt.number(after.get(column)), fmt.number(before.get(column))
            if a is None or b is None:
                continue
            delta = a - b
            rows.append(
                [
                    text_cell(label),
                    num_cell(b, render),
                    num_cell(a, render),
                    num_cell(delta, render),
                    num_cell(delta / interval, lambda v: fmt.rate(v)),
                ]
            )
    return Table(
        "comparison-database",
        f"Database {name}: activity in the interval",
        [
            Column("counter"),
            Column("before", True),
            Column("after", True),
            Column("change", True),
            Column("per second", True),
        ],
        rows,
        "The database counters were not in both snapshots.",
    )


def _table_changes(ctx: ReportContext, interval: float) -> Table:
    assert ctx.since is not None
    before = {(r.get("schemaname"), r.get("relname")): r for r in ctx.since.rows("tables")}
    changes = []
    for r in ctx.snap.rows("tables"):
        key = (r.get("schemaname"), r.get("relname"))
        old = before.get(key)
        if old is None:
            continue
        deltas = {
            c: (fmt.number(r.get(c)) or 0.0) - (fmt.number(old.get(c)) or 0.0)
            for c in (
                "seq_scan",
                "seq_tup_read",
                "idx_scan",
                "n_tup_ins",
                "n_tup_upd",
                "n_tup_del",
                "n_dead_tup",
                "total_bytes",
            )
        }
        if any(deltas.values()):
            changes.append((qname(*key), deltas))
    changes.sort(
        key=lambda item: (
            -(item[1]["seq_tup_read"] + item[1]["n_tup_ins"] + item[1]["n_tup_upd"]),
            item[0],
        )
    )
    per_s = (lambda v: fmt.rate(v)) if interval > 0 else fmt.count
    rows = [
        [
            text_cell(name, "code"),
            num_cell(d["seq_scan"] / interval if interval else 0, per_s),
            num_cell(d["seq_tup_read"] / interval if interval else 0, per_s),
            num_cell(d["idx_scan"] / interval if interval else 0, per_s),
            num_cell(
                (d["n_tup_ins"] + d["n_tup_upd"] + d["n_tup_del"]) / interval if interval else 0,
                per_s,
            ),
            num_cell(d["n_dead_tup"]),
            num_cell(d["total_bytes"], fmt.size),
        ]
        for name, d in changes
    ]
    shown, total = cut(rows, 50)
    return Table(
        "comparison-tables",
        "Tables: rates in the interval",
        [
            Column("table"),
            Column("seq scans", True),
            Column("rows read by seq scans", True),
            Column("index scans", True),
            Column("rows written", True),
            Column("dead tuples change", True),
            Column("size change", True),
        ],
        shown,
        "No table changed in the interval.",
        total=total,
    )
