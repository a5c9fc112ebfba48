"""Tables: sizes (a chart of the largest), live and dead tuples, vacuum and
analyze recency, scans, and the analyzer's table findings."""

from __future__ import annotations

from typing import Any

from pgtune_hx.report import format as fmt
from pgtune_hx.report.cells import (
    cut,
    findings_table,
    num_cell,
    qname,
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
    error = ctx.section_error("tables")
    rows = sorted(
        ctx.snap.rows("tables"),
        key=lambda r: (
            -(fmt.number(r.get("total_bytes")) or 0),
            qname(r.get("schemaname"), r.get("relname")),
        ),
    )
    blocks: list[Block] = []
    if error:
        blocks.append(Notes("tables-missing", "Not collected", [error]))
    top = rows[:10]
    if top and any(fmt.number(r.get("total_bytes")) for r in top):
        svg = ctx.chart(
            "stacked_bars",
            "tables-size",
            [qname(r.get("schemaname"), r.get("relname")) for r in top],
            {
                "table": [fmt.number(r.get("table_bytes")) or 0.0 for r in top],
                "indexes": [fmt.number(r.get("index_bytes")) or 0.0 for r in top],
                "TOAST": [fmt.number(r.get("toast_bytes")) or 0.0 for r in top],
            },
            title="Largest tables",
            fmt=fmt.size,
        )
        if svg:
            blocks.append(Chart("tables-chart", "Largest tables", svg))
    columns = [
        Column("table"),
        Column("total", True),
        Column("table size", True),
        Column("indexes", True),
        Column("live tuples", True),
        Column("dead tuples", True),
        Column("dead", True, "dead tuples / (live + dead)"),
        Column("last vacuum", True),
        Column("last analyze", True),
        Column("modified since analyze", True),
        Column("seq scans", True),
        Column("rows read by seq scans", True),
        Column("index scans", True),
        Column("HOT updates", True),
        Column("options"),
    ]
    cells = [_table_cells(ctx, r) for r in rows]
    shown, total = cut(cells)
    blocks.append(Table("tables-all", "Tables", columns, shown, "No user tables.", total=total))
    flagged = ctx.findings_in("tables")
    if flagged:
        blocks.append(
            findings_table("tables-findings", "Flagged by the analyzer", flagged, anchor=ctx.anchor)
        )
    return Section("tables", "Tables", f"{len(rows)} tables", blocks)


def _table_cells(ctx: ReportContext, r: dict[str, Any]) -> list[Cell]:
    vacuum = _latest(r.get("last_vacuum"), r.get("last_autovacuum"))
    analyze = _latest(r.get("last_analyze"), r.get("last_autoanalyze"))
    vac_text, vac_age = fmt.age(vacuum, ctx.now)
    an_text, an_age = fmt.age(analyze, ctx.now)
    never = 1e12  # "never" sorts as the oldest
    return [
        text_cell(qname(r.get("schemaname"), r.get("relname")), "code"),
        num_cell(r.get("total_bytes"), fmt.size),
        num_cell(r.get("table_bytes"), fmt.size),
        num_cell(r.get("index_bytes"), fmt.size),
        num_cell(r.get("n_live_tup")),
        num_cell(r.get("n_dead_tup")),
        num_cell(
            r.get("dead_ratio")
            if r.get("dead_ratio") is not None
            else _ratio(r.get("n_dead_tup"), r.get("n_live_tup")),
            fmt.percent,
        ),
        Cell(vac_text, vac_age if vac_age is not None else never, "num"),
        Cell(an_text, an_age if an_age is not None else never, "num"),
        num_cell(r.get("n_mod_since_analyze")),
        num_cell(r.get("seq_scan")),
        num_cell(r.get("seq_tup_read")),
        num_cell(r.get("idx_scan")),
        num_cell(r.get("hot_ratio"), fmt.percent),
        text_cell(", ".join(r.get("reloptions") or []), "code"),
    ]


def _latest(*values: Any) -> str | None:
    times = [(fmt.parse_time(v), v) for v in values]
    known = [(t, v) for t, v in times if t is not None]
    return max(known, key=lambda tv: tv[0])[1] if known else None


def _ratio(part: Any, rest: Any) -> float | None:
    a, b = fmt.number(part), fmt.number(rest)
    if a is None or b is None or a + b <= 0:
        return None
    return a / (a + b)
