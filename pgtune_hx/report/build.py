"""Build the report's view model from snapshots, findings, advice and tuning.

One module per section under report/sections. Each returns plain data
(report.model): ordering and formatting happen there; verdicts (severity, what
to change) come from the analyzer, the index advisor and the tuner.
"""

from __future__ import annotations

from types import ModuleType

from pgtune_hx.report import format as fmt
from pgtune_hx.report.cells import text
from pgtune_hx.report.context import ReportContext
from pgtune_hx.report.inputs import ReportInputs
from pgtune_hx.report.model import Report, Section
from pgtune_hx.report.sections import (
    comparison,
    demo,
    findings,
    indexes,
    locks,
    notes,
    settings,
    statements,
    summary,
    tables,
)


def build_report(inputs: ReportInputs, charts: ModuleType | None = None) -> Report:
    """The view model; ``charts`` is report.charts, or None for a report without charts."""
    ctx = ReportContext(inputs, charts)
    sections: list[Section] = [summary.section(ctx)]
    if inputs.demo:
        sections.append(demo.section(ctx))
    sections += [
        findings.section(ctx),
        statements.section(ctx),
        tables.section(ctx),
        indexes.section(ctx),
        locks.section(ctx),
        settings.section(ctx),
    ]
    if inputs.since is not None:
        sections.append(comparison.section(ctx))
    sections.append(notes.section(ctx))
    server = inputs.snapshot.server
    title = inputs.title or f"pgtune_hx report: {text(server.get('database'))}"
    subtitle = (
        f"PostgreSQL {text(server.get('server_version'))}, captured "
        f"{fmt.timestamp(inputs.snapshot.captured_at)}"
    )
    if inputs.since is not None:
        subtitle += f", compared with {fmt.timestamp(inputs.since.captured_at)}"
    return Report(
        title=title,
        subtitle=subtitle,
        sources=list(inputs.sources),
        sections=sections,
        anonymized=inputs.anonymized,
    )
