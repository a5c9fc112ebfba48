"""Settings: the tuner's recommendation (current against recommended, with the
reason and the evidence), the memory budget, and what is set now.

Which settings change, and why, is the tuner's call (its ``change`` flag and
``reason``); this module only lays them out.
"""

from __future__ import annotations

from typing import Any

from pgtune_hx.report import format as fmt
from pgtune_hx.report.cells import findings_table, num_cell, text, text_cell
from pgtune_hx.report.context import ReportContext
from pgtune_hx.report.model import Block, Cell, Chart, Column, KeyValues, Notes, Section, Table

SETTING_COLUMNS = [
    Column("setting"),
    Column("current"),
    Column("recommended"),
    Column("restart"),
    Column("from", help="baseline formula, or corrected by the server's statistics"),
    Column("reason"),
]


def _setting_rows(settings: list[dict[str, Any]]) -> list[list[Cell]]:
    return [
        [
            text_cell(s.get("name"), "code"),
            text_cell(s.get("current") if s.get("current") is not None else "(not set)"),
            text_cell(s.get("recommended")),
            text_cell("restart" if s.get("restart") else "reload"),
            text_cell(s.get("source")),
            text_cell(" ".join(x for x in (text(s.get("reason")), text(s.get("note"))) if x)),
        ]
        for s in settings
    ]


def _tuning_blocks(ctx: ReportContext, tuning: dict[str, Any]) -> list[Block]:
    settings = [s for s in tuning.get("settings") or [] if isinstance(s, dict)]
    changes = [s for s in settings if s.get("change")]
    kept = [s for s in settings if not s.get("change")]
    blocks: list[Block] = [
        Table(
            "settings-changes",
            "Recommended changes",
            SETTING_COLUMNS,
            _setting_rows(changes),
            "The tuner recommends no change.",
        ),
        _budget_table(tuning),
    ]
    chart = _budget_chart(ctx, tuning)
    if chart is not None:
        blocks.append(chart)
    evidence = [e for e in tuning.get("evidence") or [] if isinstance(e, dict)]
    blocks.append(
        Table(
            "settings-evidence",
            "What the server's statistics showed",
            [Column("topic"), Column("observed"), Column("effect"), Column("settings")],
            [
                [
                    text_cell(e.get("topic")),
                    text_cell(e.get("observed")),
                    text_cell(e.get("effect")),
                    text_cell(", ".join(e.get("settings") or [])),
                ]
                for e in evidence
            ],
            "The statistics gave the tuner nothing to correct.",
        )
    )
    blocks.append(
        Table(
            "settings-kept",
            "Checked and left as they are (within 10% of the recommendation)",
            SETTING_COLUMNS,
            _setting_rows(kept),
            "None.",
        )
    )
    notes = [text(n) for n in tuning.get("notes") or []]
    notes += [f"skipped: {text(s)}" for s in tuning.get("skipped") or []]
    if tuning.get("target"):
        notes.insert(0, f"tuned for {text(tuning['target'])}")
    if notes:
        blocks.append(Notes("settings-notes", "Tuner notes", notes))
    return blocks


def _budget_table(tuning: dict[str, Any]) -> Block:
    budget = tuning.get("budget") or {}
    lines = [line for line in budget.get("lines") or [] if isinstance(line, dict)]
    rows = [
        [
            text_cell(line.get("item")),
            num_cell(line.get("bytes"), fmt.size),
            text_cell(line.get("formula")),
        ]
        for line in lines
    ]
    items = [
        ("total", fmt.size(budget.get("total_bytes"))),
        ("memory", fmt.size(budget.get("ram_bytes"))),
        ("limit", fmt.size(budget.get("limit_bytes"))),
        ("share of memory", fmt.percent(budget.get("share_of_ram"))),
        ("fits the limit", text(budget.get("holds"))),
    ]
    current = tuning.get("current_budget") or {}
    if current:
        items.append(("with the current settings", fmt.size(current.get("total_bytes"))))
    if not rows:
        return KeyValues("settings-budget", "Memory budget", [(k, v) for k, v in items if v])
    rows += [[text_cell(k), Cell(v, v, "num"), text_cell("")] for k, v in items if v]
    return Table(
        "settings-budget",
        "Memory budget (recommended settings)",
        [Column("part"), Column("bytes", True), Column("how")],
        rows,
    )


def _budget_chart(ctx: ReportContext, tuning: dict[str, Any]) -> Chart | None:
    budget = tuning.get("budget") or {}
    current = tuning.get("current_budget") or {}
    names = [text(line.get("item")) for line in budget.get("lines") or []]
    if not names:
        return None
    labels = ["recommended"]
    budgets = [budget]
    if current.get("lines"):
        labels.append("current settings")
        budgets.append(current)
    series: dict[str, list[float]] = {}
    for name in names:
        series[name] = [
            next(
                (
                    fmt.number(line.get("bytes")) or 0.0
                    for line in b.get("lines") or []
                    if text(line.get("item")) == name
                ),
                0.0,
            )
            for b in budgets
        ]
    limit = fmt.number(budget.get("limit_bytes"))
    svg = ctx.chart(
        "stacked_bars",
        "settings-budget",
        labels,
        series,
        title="Memory budget" + (f" (limit {fmt.size(limit)})" if limit else ""),
        fmt=fmt.size,
    )
    return Chart("settings-budget-chart", "Memory budget", svg) if svg else None


def section(ctx: ReportContext) -> Section:
    tuning = ctx.inputs.tuning
    blocks: list[Block] = []
    if tuning is None:
        reason = ctx.inputs.missing.get("tuner", "not run")
        blocks.append(
            Table(
                "settings-changes",
                "Recommended changes",
                SETTING_COLUMNS,
                [],
                f"The tuner did not run: {reason}.",
            )
        )
    else:
        blocks += _tuning_blocks(ctx, tuning)
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
    if tuning is None:
        summary = "tuner not run"
    else:
        count = sum(1 for s in tuning.get("settings") or [] if s.get("change"))
        summary = f"{count} recommended changes"
    return Section("settings", "Settings", summary, blocks)
