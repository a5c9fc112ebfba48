"""`pgtune-hx demo`: the whole toolkit on a realistic database, ending in a report."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from pgtune_hx.cli.common import err, out, state

if TYPE_CHECKING:
    from pgtune_hx.demo.runner import DemoResult

DEFAULT_OUTPUT = Path("reports/demo.html")


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)


class RichProgress:
    """The runner's progress as rich bars on stderr, one line per phase."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.task: TaskID | None = None
        self.name = ""

    def phase(self, name: str, total: int | None = None) -> None:
        self.name = name
        self.task = self.progress.add_task(name, total=total)

    def step(self, text: str) -> None:
        if self.task is not None:
            self.progress.update(self.task, description=f"{self.name}: {text}")

    def advance(self, amount: int = 1) -> None:
        if self.task is not None:
            self.progress.advance(self.task, amount)

    def done(self, seconds: float, detail: str) -> None:
        if self.task is not None:
            total = self.progress.tasks[self.task].total
            self.progress.update(
                self.task,
                description=f"[green]✓[/] {self.name}",
                completed=total if total is not None else 1,
                total=total if total is not None else 1,
            )
            self.progress.stop_task(self.task)


def demo(
    ctx: typer.Context,
    apply: Annotated[
        bool,
        typer.Option(
            "--apply",
            help="create the advised indexes in the demo database and rerun the same workload",
        ),
    ] = False,
    keep: Annotated[
        bool, typer.Option("--keep", help="leave the demo database for exploring (TUI, psql)")
    ] = False,
    rows: Annotated[
        int, typer.Option("--rows", help="usage-log rows; other tables scale with it", min=1000)
    ] = 1_000_000,
    output: Annotated[
        Path, typer.Option("--output", "-o", help="where to write the HTML report")
    ] = DEFAULT_OUTPUT,
    operations: Annotated[
        int, typer.Option("--operations", help="statements in the workload plan", min=10)
    ] = 2400,
    clients: Annotated[
        int, typer.Option("--clients", help="sessions replaying the workload", min=1, max=64)
    ] = 2,
) -> None:
    """Build a demo database on the embedded server, run a workload, report.

    Starts the embedded server (or reuses the running one), creates the
    database pgtune_demo (an LLM gateway, a workflow engine, a session store and
    a RAG store, with planted problems), runs a mixed workload, snapshots before
    and after, analyzes, advises and tunes, and writes the HTML report. Writes
    only to pgtune_demo, which is dropped at the end unless --keep.
    """
    from pgtune_hx.cli.report import write_report
    from pgtune_hx.demo.runner import DemoOptions, run_demo
    from pgtune_hx.embedded import EmbeddedServer
    from pgtune_hx.report.inputs import ReportInputs

    started = time.perf_counter()
    server = EmbeddedServer(state(ctx).data_dir)
    with err.status("starting the embedded PostgreSQL..."):
        status = server.start()
    err.print(
        f"PostgreSQL {status.version} {'running' if status.already_running else 'started'} "
        f"in {server.base_dir}"
    )
    options = DemoOptions(rows=rows, operations=operations, clients=clients, apply=apply, keep=keep)
    columns = (
        SpinnerColumn(finished_text=" "),
        TextColumn("{task.description}"),
        BarColumn(bar_width=24),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=err, transient=False) as bars:
        result = run_demo(server.dsn(), options, RichProgress(bars))
    assert result.after_snapshot is not None and result.assessment is not None
    found = result.assessment
    inputs = ReportInputs(
        snapshot=result.after_snapshot,
        since=result.before_snapshot,
        findings=found.findings,
        suggestions=found.suggestions,
        plan_findings=found.plan_findings,
        tuning=found.tuning,
        advice_notes=found.advice_notes,
        demo=result.report_dict(),
        missing=found.missing,
        title=f"pgtune_hx demo: {result.dbname} ({rows:,} usage logs)",
        sources=["pgtune-hx demo"],
    )
    render_started = time.perf_counter()
    path = write_report(inputs, output)
    render_s = time.perf_counter() - render_started
    _summary(result, path, render_s, time.perf_counter() - started)


def _summary(result: DemoResult, path: Path, render_s: float, total_s: float) -> None:
    assert result.assessment is not None
    found = result.assessment
    phases = Table(title="demo phases", show_edge=False)
    phases.add_column("phase")
    phases.add_column("took", justify="right")
    phases.add_column("detail", overflow="fold")
    for phase in result.phases:
        phases.add_row(phase.name, f"{phase.seconds:.1f} s", phase.detail)
    phases.add_row("write the report", f"{render_s:.1f} s", str(path))
    phases.add_row("[bold]total[/]", f"[bold]{total_s:.1f} s[/]", "")
    out.print(phases)

    findings = Table(title="top findings", show_edge=False)
    findings.add_column("severity")
    findings.add_column("finding", overflow="fold")
    findings.add_column("object", overflow="fold")
    for finding in (found.findings or [])[:8]:
        findings.add_row(str(finding["severity"]), str(finding["title"]), str(finding["object"]))
    if found.findings is not None:
        out.print(findings)

    if result.before is not None:
        out.print(_workload_table(result))
    summary = Table(show_header=False, title="summary", show_edge=False)
    summary.add_column("what", style="bold")
    summary.add_column("value", overflow="fold")
    counts: dict[str, int] = {}
    for finding in found.findings or []:
        counts[str(finding["severity"])] = counts.get(str(finding["severity"]), 0) + 1
    summary.add_row(
        "findings", ", ".join(f"{counts.get(s, 0)} {s}" for s in ("critical", "warning", "info"))
    )
    summary.add_row(
        "index suggestions",
        str(len(found.suggestions))
        if found.suggestions is not None
        else found.missing.get("advisor", "not run"),
    )
    summary.add_row(
        "setting changes",
        str(len((found.tuning or {}).get("changes") or []))
        if found.tuning is not None
        else found.missing.get("tuner", "not run"),
    )
    for note in result.notes:
        if note.startswith("--apply"):
            summary.add_row("apply", note)
    summary.add_row(
        "demo database",
        f"{result.dbname} kept (psql: pgtune-hx server url -d {result.dbname})"
        if result.options.keep
        else f"{result.dbname} dropped (--keep leaves it)",
    )
    summary.add_row("report", f"[bold]{path}[/]")
    out.print(summary)


def _workload_table(result: DemoResult) -> Table:
    before, after = result.before, result.after
    assert before is not None
    table = Table(title="workload (client-side latency)", show_edge=False)
    table.add_column("statement")
    table.add_column("calls", justify="right")
    table.add_column("mean before", justify="right")
    if after is not None:
        table.add_column("mean after", justify="right")
        table.add_column("speed-up", justify="right")
    ranked = sorted(before.timings.values(), key=lambda t: -t.total_ms)
    for timing in ranked:
        row = [timing.query, str(timing.calls), f"{timing.mean_ms:.2f} ms"]
        if after is not None:
            other = after.timings.get(timing.query)
            mean_after = other.mean_ms if other else 0.0
            speed = timing.mean_ms / mean_after if mean_after else 0.0
            row += [f"{mean_after:.2f} ms", f"{speed:.1f}x"]
        table.add_row(*row)
    wall = [
        "[bold]whole run (wall clock)[/]",
        str(before.operations),
        f"{before.wall_s:.1f} s",
    ]
    if after is not None:
        wall += [f"{after.wall_s:.1f} s", f"{before.wall_s / after.wall_s:.1f}x"]
    table.add_row(*wall)
    return table
