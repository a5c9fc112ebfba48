"""The settings section."""

from __future__ import annotations

from typing import Any

from pgtune_hx.report import format as fmt
from pgtune_hx.report.cells import (
    findings_table,
    num_cell,
    text,
    text_cell,
)
from pgtune_hx.report.context import ReportContext
from pgtune_hx.report.model import (
    Block,
    Chart,
    Column,
    Notes,
    Section,
    Table,
)


def section(ctx: ReportContext) -> Section:
    blocks: list[Block] = []
    tuning = ctx.inputs.tuning
    change_columns = [
        Column("setting"),
        Column("current"),
        Column("recommended"),
        Column("restart"),
        Column("reason"),
    ]
    if tuning is None:
        reason = ctx.inputs.missing.get("tuner", "not run")
        blocks.append(
            Table(
                "settings-changes",
                "Recommended changes",
                change_columns,
                [],
                f"The tuner did not run: {reason}.",
            )
        )
    else:
        changes = list(tuning.get("changes") or [])
        blocks.append(
            Table(
                "settings-changes",
                "Recommended changes",
                change_columns,
                [
                    [
                        text_cell(c.get("name"), "code"),
                        text_cell(_with_unit(c.get("current"), c.get("unit"))),
                        text_cell(_with_unit(c.get("recommended"), c.get("unit"))),
                        text_cell(c.get("restart")),
                        text_cell(c.get("reason")),
                    ]
                    for c in changes
                ],
                "The tuner recommends no change.",
            )
        )
        blocks += _budget(ctx, tuning.get("budget") or tuning.get("memory_budget"))
        notes = [str(n) for n in tuning.get("notes") or tuning.get("evidence") or []]
        if notes:
            blocks.append(Notes("settings-notes", "What the tuner used", notes))
    changed = sorted(
        (
            r
            for r in ctx.settings.values()
            if r.get("source") not in (None, "default", "override", "client")
        ),
        key=lambda r: text(r.get("name")),
    )
    blocks.append(
        Table(
            "settings-current",
            "Settings changed from the default",
            [
                Column("setting"),
                Column("value"),
                Column("unit"),
                Column("source"),
                Column("pending restart"),
            ],
            [
                [
                    text_cell(r.get("name"), "code"),
                    text_cell(r.get("setting")),
                    text_cell(r.get("unit")),
                    text_cell(r.get("source")),
                    text_cell(r.get("pending_restart")),
                ]
                for r in changed
            ],
            "No setting differs from its default."
            if ctx.snap.has("settings")
            else "Settings were not collected.",
        )
    )
    flagged = ctx.findings_in("settings")
    if flagged:
        blocks.append(
            findings_table(
                "settings-findings", "Flagged by the analyzer", flagged, anchor=ctx.anchor
            )
        )
    n_changes = len((tuning or {}).get("changes") or [])
    summary = f"{n_changes} recommended changes" if tuning is not None else "tuner not run"
    return Section("settings", "Settings", summary, blocks)


def _budget(ctx: ReportContext, budget: Any) -> list[Block]:
    if not isinstance(budget, dict) or not budget:
        return []
    parts = budget.get("parts") or budget.get("items")
    items: list[tuple[str, float, str]] = []
    if isinstance(parts, list):
        for p in parts:
            items.append(
                (
                    text(p.get("name")),
                    fmt.number(p.get("bytes")) or 0.0,
                    text(p.get("formula") or p.get("explain") or ""),
                )
            )
    else:
        for key, value in budget.items():
            if key.endswith("_bytes") and key not in ("limit_bytes", "total_bytes", "ram_bytes"):
                items.append(
                    (key.removesuffix("_bytes").replace("_", " "), fmt.number(value) or 0.0, "")
                )
    limit = fmt.number(budget.get("limit_bytes") or budget.get("ram_bytes"))
    total = fmt.number(budget.get("total_bytes")) or sum(i[1] for i in items)
    rows = [[text_cell(n), num_cell(b, fmt.size), text_cell(f)] for n, b, f in items]
    rows.append([text_cell("total"), num_cell(total, fmt.size), text_cell("")])
    if limit:
        rows.append([text_cell("memory limit"), num_cell(limit, fmt.size), text_cell("")])
    blocks: list[Block] = [
        Table(
            "settings-budget",
            "Memory budget",
            [Column("part"), Column("bytes", True), Column("how")],
            rows,
        )
    ]
    if items:
        svg = ctx.chart(
            "stacked_bars",
            "settings-budget",
            ["recommended"],
            {n: [b] for n, b, _ in items},
            title="Memory budget" + (f" (limit {fmt.size(limit)})" if limit else ""),
            fmt=fmt.size,
        )
        if svg:
            blocks.append(Chart("settings-budget-chart", "Memory budget", svg))
    return blocks


def _with_unit(value: Any, unit: Any) -> str:
    shown = text(value)
    return f"{shown} {unit}" if unit and shown and not shown.endswith(str(unit)) else shown
