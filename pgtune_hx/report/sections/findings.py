"""Every finding of the analyzer, grouped by severity, each with its evidence and
fix; other sections link to these cards."""

from __future__ import annotations

from pgtune_hx.report.cells import (
    SEVERITIES,
    finding_card,
    finding_order,
)
from pgtune_hx.report.context import ReportContext
from pgtune_hx.report.model import (
    Block,
    FindingGroup,
    Notes,
    Section,
)


def section(ctx: ReportContext) -> Section:
    blocks: list[Block] = []
    ordered = sorted(ctx.findings, key=finding_order)
    for severity in SEVERITIES:
        cards = [finding_card(f, ctx.anchor) for f in ordered if str(f.get("severity")) == severity]
        if cards:
            blocks.append(
                FindingGroup(f"findings-{severity}", severity.capitalize(), severity, cards)
            )
    if not blocks:
        blocks.append(Notes("findings-none", "No findings", [ctx.findings_empty()]))
    counts = ctx.severity_counts()
    summary = ", ".join(f"{counts[s]} {s}" for s in SEVERITIES if counts[s]) or "none"
    return Section("findings", "Findings", summary, blocks)
