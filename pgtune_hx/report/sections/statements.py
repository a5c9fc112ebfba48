"""Top statements: ranked by total time, mean time, I/O and temp blocks.

With two snapshots the counters are the interval's (after minus before); with
one they are totals since pg_stat_statements was last reset. Ranking is a sort
by a counter, not a verdict: the analyzer's findings say what is wrong.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pgtune_hx.collect.versions import is_own_query
from pgtune_hx.report import format as fmt
from pgtune_hx.report.cells import (
    num_cell,
    ratio_cell,
    severity_cell,
    sql_cell,
    text,
    text_cell,
)
from pgtune_hx.report.context import ReportContext
from pgtune_hx.report.model import Block, Cell, Chart, Column, Notes, Section, Table

TOP_STATEMENTS = 25
TOP_RANKED = 10
COLUMNS = [
    Column("statement"),
    Column("database"),
    Column("calls", True),
    Column("total time", True),
    Column("mean", True),
    Column("rows", True),
    Column("read", True, "bytes read from outside shared buffers"),
    Column("hit ratio", True, "shared buffer hits / (hits + reads)"),
    Column("temp written", True, "bytes written to temporary files"),
    Column("findings", help="the analyzer's findings on this statement"),
    Column("plan findings"),
]


def _n(row: dict[str, Any], column: str) -> float:
    return fmt.number(row.get(column)) or 0.0


def total_time(row: dict[str, Any]) -> float:
    return _n(row, "total_exec_time")


def mean_time(row: dict[str, Any]) -> float:
    calls = _n(row, "calls")
    return total_time(row) / calls if calls else 0.0


def io_blocks(row: dict[str, Any]) -> float:
    return sum(
        _n(row, c)
        for c in ("shared_blks_read", "local_blks_read", "temp_blks_read", "temp_blks_written")
    )


def temp_blocks(row: dict[str, Any]) -> float:
    return _n(row, "temp_blks_read") + _n(row, "temp_blks_written")


RANKINGS: list[tuple[str, str, Callable[[dict[str, Any]], float], int]] = [
    ("by-total", "by total time", total_time, TOP_STATEMENTS),
    ("by-mean", "by mean time", mean_time, TOP_RANKED),
    ("by-io", "by I/O (blocks read, temp blocks read and written)", io_blocks, TOP_RANKED),
    ("by-temp", "by temp blocks", temp_blocks, TOP_RANKED),
]


def statement_rows(ctx: ReportContext) -> tuple[list[dict[str, Any]], int]:
    """The statements to show, and how many of other databases were left out."""
    rows = ctx.snap.rows("statements")
    if ctx.diff is not None and ctx.diff.statements.valid:
        rows = ctx.diff.statements.rows
    rows = [
        r for r in rows if r.get("toplevel", True) is not False and not is_own_query(r.get("query"))
    ]
    if ctx.inputs.all_databases:
        return rows, 0
    database = ctx.snap.server.get("database")
    mine = [r for r in rows if r.get("datname") == database]
    return mine, len(rows) - len(mine)


def _findings_cell(ctx: ReportContext, row: dict[str, Any]) -> Cell:
    """The analyzer's findings on this statement (by queryid), linked to the first."""
    queryid = text(row.get("queryid"))
    found = [
        f
        for f in ctx.findings_in("statements")
        if text((f.get("evidence") or {}).get("queryid")) == queryid and queryid
    ]
    if not found:
        return Cell("", "")
    names = ", ".join(text(f.get("rule_id")).removeprefix("workload.") for f in found)
    return Cell(names, names, href=ctx.anchor(found[0]))


def _cells(ctx: ReportContext, row: dict[str, Any]) -> list[Cell]:
    found = (ctx.inputs.plan_findings or {}).get(text(row.get("queryid"))) or []
    codes = ", ".join(dict.fromkeys(text(p.get("code")) for p in found))
    hit, read = _n(row, "shared_blks_hit"), _n(row, "shared_blks_read")
    return [
        sql_cell(row.get("query")),
        text_cell(row.get("datname")),
        num_cell(row.get("calls")),
        num_cell(total_time(row), fmt.millis),
        num_cell(mean_time(row), fmt.millis),
        num_cell(row.get("rows")),
        num_cell(read * ctx.block_size, fmt.size),
        ratio_cell(hit, hit + read),
        num_cell(_n(row, "temp_blks_written") * ctx.block_size, fmt.size),
        _findings_cell(ctx, row),
        Cell(codes, codes, detail="\n".join(text(p.get("message")) for p in found) or None),
    ]


def _plans(ctx: ReportContext, rows: list[dict[str, Any]]) -> Block:
    """What the generic plans of the top statements show (analyze.plan_findings)."""
    columns = [
        Column("statement"),
        Column("severity"),
        Column("finding"),
        Column("plan node"),
        Column("what the plan shows"),
    ]
    plans = ctx.inputs.plan_findings
    if plans is None:
        reason = ctx.inputs.missing.get("plans", "the plan analysis did not run")
        return Table("statements-plans", "Plan findings", columns, [], f"Not available: {reason}.")
    query_of = {text(r.get("queryid")): r.get("query") for r in rows}
    cells = [
        [
            sql_cell(query_of.get(queryid, f"queryid {queryid}"), 100),
            severity_cell(text(p.get("severity"))),
            text_cell(p.get("code"), "code"),
            text_cell(p.get("node")),
            text_cell(p.get("message")),
        ]
        for queryid, found in sorted(plans.items())
        for p in found
    ]
    note = ctx.inputs.missing.get("plans")
    return Table(
        "statements-plans",
        "Plan findings (generic plans of the top statements)",
        columns,
        cells,
        "The plans of the top statements show nothing to fix.",
        note=note,
    )


def section(ctx: ReportContext) -> Section:
    error = ctx.section_error("statements")
    if error:
        notes = Notes("statements-missing", "Not collected", [error])
        return Section("statements", "Top statements", "not collected", [notes])
    rows, elsewhere = statement_rows(ctx)
    interval = ctx.diff is not None and ctx.diff.statements.valid
    scope = "in the interval" if interval else "since the statistics reset"
    blocks: list[Block] = []
    by_total = sorted(rows, key=lambda r: (-total_time(r), text(r.get("queryid"))))
    charted = [r for r in by_total[:10] if total_time(r) > 0]
    svg = (
        ctx.chart(
            "horizontal_bars",
            "statements-total",
            [" ".join(text(r.get("query")).split()) for r in charted],
            [total_time(r) for r in charted],
            title=f"Total execution time {scope}",
            fmt=fmt.millis,
        )
        if charted
        else None
    )
    if svg:
        blocks.append(Chart("statements-chart", "Where the time goes", svg))
    for key, label, metric, limit in RANKINGS:
        ranked = sorted(
            (r for r in rows if metric(r) > 0),
            key=lambda r, m=metric: (-m(r), text(r.get("queryid"))),  # type: ignore[misc]
        )
        blocks.append(
            Table(
                f"statements-{key}",
                f"Top statements {label}",
                COLUMNS,
                [_cells(ctx, r) for r in ranked[:limit]],
                empty="No statement did any of this.",
                total=len(ranked) if len(ranked) > limit else None,
            )
        )
    if ctx.diff is not None and ctx.diff.statements.na:
        why = ctx.diff.statements.na
        what = "totals since the reset are shown" if not interval else "see the comparison"
        blocks.append(Notes("statements-interval", "Interval", [f"{why}: {what}."]))
    if elsewhere:
        database = text(ctx.snap.server.get("database"))
        blocks.append(
            Notes(
                "statements-scope",
                "Other databases",
                [
                    f"Statements of database {database} only: {elsewhere} statements of other "
                    "databases are left out (pgtune-hx report --all-databases shows them)."
                ],
            )
        )
    blocks.append(_plans(ctx, rows))
    info = ctx.snap.rows("statements_info")
    if info:
        dealloc = info[0].get("dealloc")
        if dealloc:
            blocks.append(
                Notes(
                    "statements-dealloc",
                    "Statement statistics evicted",
                    [
                        f"pg_stat_statements evicted entries {fmt.count(dealloc)} times since "
                        f"{fmt.timestamp(info[0].get('stats_reset'))}: "
                        "rare statements may be missing.",
                    ],
                )
            )
    return Section("statements", "Top statements", f"{len(rows)} statements {scope}", blocks)
