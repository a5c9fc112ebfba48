"""`pgtune-hx report`: one self-contained HTML file from a live server or snapshots."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from pgtune_hx.cli.common import DsnOption, err, open_connection, out
from pgtune_hx.errors import UsageError

if TYPE_CHECKING:
    from pgtune_hx.report.inputs import ReportInputs

DEFAULT_OUTPUT = Path("reports/report.html")

SnapshotOption = Annotated[
    list[Path] | None,
    typer.Option(
        "--snapshot",
        "-s",
        help="snapshot file (pgtune-hx snapshot -o); give two for rates and a comparison",
        show_default=False,
    ),
]
OutputOption = Annotated[Path, typer.Option("--output", "-o", help="where to write the HTML file")]
AnonymizeOption = Annotated[
    bool,
    typer.Option(
        "--anonymize",
        help="replace literals and object names (stable pseudonyms; key from "
        "PGTUNE_HX_ANONYMIZE_KEY)",
    ),
]


def register(app: typer.Typer) -> None:
    app.command("report")(report)


def report(
    ctx: typer.Context,
    dsn: DsnOption = None,
    snapshot: SnapshotOption = None,
    output: OutputOption = DEFAULT_OUTPUT,
    anonymize: AnonymizeOption = False,
    title: Annotated[str | None, typer.Option("--title", help="report title")] = None,
    all_databases: Annotated[
        bool,
        typer.Option(
            "--all-databases", help="statements of every database, not only the snapshot's"
        ),
    ] = False,
) -> None:
    """Write an HTML report: findings, statements, tables, indexes, locks, settings.

    Read-only. With --dsn (or the global --dsn / PG* environment) it takes a
    snapshot now; with --snapshot it reads files, and with two it shows the
    interval's rates and compares them.
    """
    from pgtune_hx.assess import assess
    from pgtune_hx.collect import load
    from pgtune_hx.collect.model import Snapshot
    from pgtune_hx.report.inputs import ReportInputs

    files = list(snapshot or [])
    if files and dsn is not None:
        raise UsageError("give --dsn or --snapshot, not both")
    if len(files) > 2:
        raise UsageError(f"at most two --snapshot files, got {len(files)}")
    since: Snapshot | None = None
    if files:
        snaps = sorted((load(p) for p in files), key=lambda s: s.captured)
        if len(snaps) == 2 and snaps[0].captured == snaps[1].captured:
            raise UsageError("the two snapshots were taken at the same moment")
        current = snaps[-1]
        since = snaps[0] if len(snaps) == 2 else None
        with err.status("analyzing..."):
            assessment = assess(current, since)
        sources = [str(p) for p in files]
    else:
        from pgtune_hx.collect.snapshot import collect_snapshot

        with open_connection(ctx, dsn) as conn:
            with err.status("taking a snapshot..."):
                current = collect_snapshot(conn)
            with err.status("analyzing..."):
                assessment = assess(current, None, conn)
        sources = [str(current.server.get("connection") or "live server")]
    inputs = ReportInputs(
        snapshot=current,
        since=since,
        findings=assessment.findings,
        suggestions=assessment.suggestions,
        plan_findings=assessment.plan_findings,
        tuning=assessment.tuning,
        advice_notes=assessment.advice_notes,
        missing=assessment.missing,
        title=title,
        sources=sources,
        all_databases=all_databases,
    )
    path = write_report(inputs, output, anonymize=anonymize)
    count = len(assessment.findings or [])
    out.print(f"wrote {path} ({count} findings)", soft_wrap=True)


def write_report(inputs: ReportInputs, output: Path, *, anonymize: bool = False) -> Path:
    """Render and write; shared with `pgtune-hx demo`."""
    from pgtune_hx.report.anonymize import anonymize_inputs
    from pgtune_hx.report.render import render, write

    if anonymize:
        inputs = anonymize_inputs(inputs)
    with err.status("rendering the report..."):
        html = render(inputs)
    try:
        return write(html, output)
    except OSError as exc:
        raise UsageError(f"cannot write {output}: {exc.strerror}") from None
