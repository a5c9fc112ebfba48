"""The indexes section."""

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
    blocks.append(_suggestions(ctx))
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


def _suggestions(ctx: ReportContext) -> Block:
    suggestions = ctx.inputs.suggestions
    columns = [
        Column("table"),
        Column("index"),
        Column("method"),
        Column("verified by"),
        Column("cost before", True),
        Column("cost after", True),
        Column("estimated size", True),
        Column("statements helped", True),
    ]
    if suggestions is None:
        reason = ctx.inputs.missing.get("advisor", "not run")
        return Table(
            "indexes-suggested",
            "Suggested indexes",
            columns,
            [],
            f"The index advisor did not run: {reason}.",
        )
    rows = [
        [
            text_cell(s.get("table"), "code"),
            sql_cell(s.get("create_sql"), 200),
            text_cell(s.get("method")),
            text_cell(s.get("verified_by")),
            num_cell(s.get("cost_before"), _cost),
            num_cell(s.get("cost_after"), _cost),
            num_cell(s.get("size_bytes") or s.get("estimated_size_bytes"), fmt.size),
            num_cell(len(s.get("queries") or [])),
        ]
        for s in suggestions
    ]
    return Table(
        "indexes-suggested",
        "Suggested indexes",
        columns,
        rows,
        "The index advisor has no suggestion for this workload.",
    )


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
