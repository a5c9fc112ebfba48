"""Indexes: those the analyzer flagged (unused, duplicate ...), those the index
advisor suggests with the plans that back them, and all of them with sizes."""

from __future__ import annotations

from typing import Any

from pgtune_hx.report import format as fmt
from pgtune_hx.report.cells import (
    cut,
    findings_table,
    num_cell,
    qname,
    sql_cell,
    text,
    text_cell,
)
from pgtune_hx.report.context import ReportContext
from pgtune_hx.report.model import (
    Block,
    Cell,
    Column,
    Notes,
    Section,
    Table,
)


def section(ctx: ReportContext) -> Section:
    blocks: list[Block] = []
    flagged = ctx.findings_in("indexes")
    blocks.append(
        findings_table(
            "indexes-flagged",
            "Unused, duplicate and other flagged indexes",
            flagged,
            empty=ctx.findings_empty()
            if ctx.inputs.findings is None
            else "The analyzer flagged no index.",
            anchor=ctx.anchor,
        )
    )
    blocks += _suggestions(ctx)
    error = ctx.section_error("indexes")
    if error:
        blocks.append(Notes("indexes-missing", "Not collected", [error]))
    rows = sorted(
        ctx.snap.rows("indexes"),
        key=lambda r: (-(fmt.number(r.get("size_bytes")) or 0), text(r.get("indexrelname"))),
    )
    columns = [
        Column("index"),
        Column("table"),
        Column("method"),
        Column("definition"),
        Column("size", True),
        Column("scans", True),
        Column("tuples read", True),
        Column("kind"),
        Column("valid"),
    ]
    cells = [
        [
            text_cell(qname(r.get("schemaname"), r.get("indexrelname")), "code"),
            text_cell(qname(r.get("schemaname"), r.get("relname")), "code"),
            text_cell(r.get("am")),
            sql_cell(r.get("indexdef"), 120),
            num_cell(r.get("size_bytes"), fmt.size),
            num_cell(r.get("idx_scan")),
            num_cell(r.get("idx_tup_read")),
            text_cell(_index_kind(r)),
            text_cell(r.get("indisvalid")),
        ]
        for r in rows
    ]
    shown, total = cut(cells)
    blocks.append(Table("indexes-all", "All indexes", columns, shown, "No indexes.", total=total))
    suggested = len(ctx.inputs.suggestions or [])
    summary = f"{len(rows)} indexes, {len(flagged)} flagged, {suggested} suggested"
    return Section("indexes", "Indexes", summary, blocks)


SUGGESTION_COLUMNS = [
    Column("table"),
    Column("index"),
    Column("kind"),
    Column(
        "verified by",
        help="hypopg: what-if plans; real-index-rollback: built and "
        "rolled back; estimate: pg_stats selectivity, unverified",
    ),
    Column("plan cost before", True, "summed over the statements it helps"),
    Column("plan cost after", True),
    Column("size", True, "estimated size of the index"),
    Column("saves", True, "execution time it saves over the workload's window"),
    Column("write cost", True, "time it adds to the table's writes over the same window"),
    Column("statements it helps"),
]


def _suggestion_row(s: dict[str, Any]) -> list[Cell]:
    queries = [q for q in s.get("queries") or [] if isinstance(q, dict)]
    helped = "\n".join(
        f"{_cost(q.get('cost_before'))} -> {_cost(q.get('cost_after'))}: "
        + " ".join(text(q.get("query")).split())
        for q in queries
    )
    summary = f"{len(queries)} statement{'s' if len(queries) != 1 else ''}"
    return [
        text_cell(s.get("table"), "code"),
        sql_cell(s.get("create_sql"), 200),
        text_cell(s.get("kind") or s.get("method")),
        text_cell(s.get("verified_by")),
        num_cell(s.get("cost_before"), _cost),
        num_cell(s.get("cost_after"), _cost),
        num_cell(s.get("size_bytes"), fmt.size),
        num_cell(s.get("benefit_ms"), fmt.millis),
        num_cell(s.get("write_penalty_ms"), fmt.millis),
        Cell(summary, float(len(queries)), detail=helped or None),
    ]


def _suggestions(ctx: ReportContext) -> list[Block]:
    suggestions = ctx.inputs.suggestions
    title = "Suggested indexes (the index advisor)"
    if suggestions is None:
        reason = ctx.inputs.missing.get("advisor", "not run")
        empty = f"The index advisor did not run: {reason}."
        return [Table("indexes-suggested", title, SUGGESTION_COLUMNS, [], empty)]
    blocks: list[Block] = [
        Table(
            "indexes-suggested",
            title,
            SUGGESTION_COLUMNS,
            [_suggestion_row(s) for s in suggestions],
            "The index advisor has no suggestion for this workload.",
        )
    ]
    if ctx.inputs.advice_notes:
        blocks.append(
            Notes("indexes-advice-notes", "Index advisor notes", list(ctx.inputs.advice_notes))
        )
    return blocks


def _index_kind(r: dict[str, Any]) -> str:
    """What backs the index: its constraint (named by the collector) or uniqueness."""
    if r.get("constraint_type"):
        return text(r.get("constraint_type"))
    if r.get("indisprimary"):
        return "primary key"
    return "unique" if r.get("indisunique") else ""


def _cost(value: Any) -> str:
    number = fmt.number(value)
    return "" if number is None else f"{number:,.1f}"
