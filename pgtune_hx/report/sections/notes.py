"""Host and collector notes: what the host detection said, producers that did not
run, each section's rows, time and error, and the objects the collectors skipped."""

from __future__ import annotations

from pgtune_hx.report import format as fmt
from pgtune_hx.report.cells import (
    num_cell,
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
    host_notes = [str(n) for n in ctx.snap.host.get("notes") or []]
    blocks.append(Notes("notes-host", "Host", host_notes or ["No host notes."]))
    missing = [f"{k}: {v}" for k, v in sorted(ctx.inputs.missing.items())]
    if missing:
        blocks.append(Notes("notes-missing", "Not run", missing))
    sections = sorted(ctx.snap.sections.values(), key=lambda s: s.name)
    blocks.append(
        Table(
            "notes-sections",
            "Collector sections",
            [
                Column("section"),
                Column("rows", True),
                Column("took", True),
                Column("error"),
                Column("skipped objects", True),
            ],
            [
                [
                    text_cell(s.name, "code"),
                    num_cell(len(s.rows)),
                    num_cell(s.elapsed_ms, fmt.millis),
                    text_cell(s.error),
                    num_cell(len(s.skipped)),
                ]
                for s in sections
            ],
            "The snapshot holds no sections.",
        )
    )
    skipped = [(s.name, obj) for s in sections for obj in s.skipped]
    blocks.append(
        Table(
            "notes-skipped",
            "Objects the collectors skipped",
            [Column("section"), Column("object")],
            [[text_cell(n, "code"), text_cell(o)] for n, o in skipped],
            "No object was skipped.",
        )
    )
    errors = len(ctx.snap.errors())
    summary = f"{errors} section errors, {len(skipped)} skipped objects"
    return Section("notes", "Host and collector notes", summary, blocks)
