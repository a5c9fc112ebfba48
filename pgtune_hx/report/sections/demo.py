"""The demo's own section: its phases, the workload timings measured before
and (with --apply) after the index advice, and how they were measured."""

from __future__ import annotations

from typing import Any

from pgtune_hx.report import format as fmt
from pgtune_hx.report.cells import (
    num_cell,
    sql_cell,
    text_cell,
)
from pgtune_hx.report.context import ReportContext
from pgtune_hx.report.model import (
    Block,
    Cell,
    Chart,
    Column,
    Notes,
    Section,
    Table,
)


def section(ctx: ReportContext) -> Section:
    demo = ctx.inputs.demo or {}
    blocks: list[Block] = []
    phases = demo.get("phases") or []
    blocks.append(
        Table(
            "demo-phases",
            "What the demo did",
            [Column("phase"), Column("took", True), Column("detail")],
            [
                [
                    text_cell(p.get("name")),
                    num_cell(p.get("seconds"), fmt.seconds),
                    text_cell(p.get("detail")),
                ]
                for p in phases
            ],
        )
    )
    before, after = demo.get("before"), demo.get("after")
    if before:
        blocks.append(_workload_table(ctx, before, after))
        if after:
            names = sorted({q["query"] for q in before.get("queries", [])})
            b = {q["query"]: q for q in before.get("queries", [])}
            a = {q["query"]: q for q in after.get("queries", [])}
            names = [n for n in names if n in a]
            names.sort(key=lambda n: -(fmt.number(b[n].get("mean_ms")) or 0))
            svg = ctx.chart(
                "paired_bars",
                "demo-workload",
                names,
                [fmt.number(b[n].get("mean_ms")) or 0.0 for n in names],
                [max(fmt.number(a[n].get("mean_ms")) or 0.0, 1e-3) for n in names],
                names=("before", "after"),
                title="Mean latency per statement (log scale)",
                fmt=fmt.millis,
                log=True,
            )
            if svg:
                blocks.append(Chart("demo-chart", "Before and after", svg))
    applied = demo.get("applied") or []
    if applied:
        blocks.append(
            Table(
                "demo-applied",
                "Indexes the demo applied",
                [Column("statement"), Column("result"), Column("took", True)],
                [
                    [
                        sql_cell(x.get("sql"), 200),
                        text_cell(x.get("result")),
                        num_cell(x.get("seconds"), fmt.seconds),
                    ]
                    for x in applied
                ],
            )
        )
    notes = [str(n) for n in demo.get("notes") or []]
    if notes:
        blocks.append(Notes("demo-notes", "How the numbers were measured", notes))
    summary = (
        "workload measured before and after the index advice" if after else "workload measured"
    )
    return Section("demo", "Demo: the workload and what the advice changed", summary, blocks)


def _workload_table(
    ctx: ReportContext, before: dict[str, Any], after: dict[str, Any] | None
) -> Table:
    a = {q["query"]: q for q in (after or {}).get("queries", [])}
    columns = [
        Column("statement"),
        Column("calls", True),
        Column("mean before", True),
        Column("p95 before", True),
        Column("total before", True),
    ]
    if after:
        columns += [
            Column("mean after", True),
            Column("p95 after", True),
            Column("total after", True),
            Column("speed-up", True),
        ]
    rows = []
    queries = sorted(before.get("queries", []), key=lambda q: -(fmt.number(q.get("total_ms")) or 0))
    for q in queries:
        cells = [
            text_cell(q.get("query"), "code"),
            num_cell(q.get("calls")),
            num_cell(q.get("mean_ms"), fmt.millis),
            num_cell(q.get("p95_ms"), fmt.millis),
            num_cell(q.get("total_ms"), fmt.millis),
        ]
        if after:
            other = a.get(q["query"], {})
            mb, ma = fmt.number(q.get("mean_ms")), fmt.number(other.get("mean_ms"))
            speed = mb / ma if mb and ma else None
            cells += [
                num_cell(ma, fmt.millis),
                num_cell(other.get("p95_ms"), fmt.millis),
                num_cell(other.get("total_ms"), fmt.millis),
                num_cell(speed, lambda v: f"{fmt.number(v):.1f}x" if fmt.number(v) else ""),
            ]
        rows.append(cells)
    totals = [
        text_cell("all statements (wall clock)"),
        num_cell(before.get("operations")),
        Cell(""),
        Cell(""),
        num_cell((fmt.number(before.get("wall_s")) or 0) * 1000, fmt.millis),
    ]
    if after:
        wb, wa = fmt.number(before.get("wall_s")), fmt.number(after.get("wall_s"))
        totals += [
            Cell(""),
            Cell(""),
            num_cell((wa or 0) * 1000, fmt.millis),
            num_cell(
                wb / wa if wb and wa else None,
                lambda v: f"{fmt.number(v):.1f}x" if fmt.number(v) else "",
            ),
        ]
    rows.append(totals)
    return Table("demo-workload", "Workload timings (client side)", columns, rows)
