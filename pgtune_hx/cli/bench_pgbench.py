"""`pgtune-hx bench pgbench` and `bench pgbench-gate`: wiring and rendering only."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich import box
from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table
from rich.text import Text

from pgtune_hx.cli.common import (
    DsnOption,
    FormatOption,
    OutputFormat,
    emit_json,
    err,
    out,
    parse_int_list,
    state,
)

if TYPE_CHECKING:
    from pgtune_hx.bench.pgbench.compare import PlannedRun
    from pgtune_hx.bench.pgbench.gate import GateResult
    from pgtune_hx.bench.pgbench.parse import ProgressLine

DEFAULT_DATABASE = "pgtune_hx_bench"


class RichObserver:
    """Messages and one progress bar per run, on stderr."""

    def __init__(self, bar: Progress) -> None:
        self.bar = bar
        self.task: TaskID | None = None
        self.duration = 0

    def message(self, text: str) -> None:
        self.bar.console.print(Text(text, style="dim"))

    def run_started(self, planned: PlannedRun, total: int, duration_s: int) -> None:
        if self.task is not None:
            self.bar.remove_task(self.task)
        plural = "s" if planned.clients > 1 else ""
        description = (
            f"run {planned.index + 1}/{total}  config {planned.config}  "
            f"{planned.clients} client{plural}"
        )
        self.duration = duration_s
        self.task = self.bar.add_task(description, total=duration_s, status="starting")

    def progress(self, line: ProgressLine) -> None:
        if self.task is not None:
            status = f"{line.tps:,.0f} tps  {line.latency_ms:.2f} ms"
            self.bar.update(self.task, completed=line.elapsed_s, status=status)

    def run_finished(self, planned: PlannedRun, run: Mapping[str, Any]) -> None:
        if self.task is not None:
            self.bar.remove_task(self.task)
            self.task = None
        p95 = run["log"]["latency_ms"]["p95"]
        self.bar.console.print(
            f"run {planned.index + 1}: config {planned.config}, {planned.clients} client(s): "
            f"{run['pgbench']['tps']:,.1f} tps, p95 {_ms(p95)}, "
            f"{run['log']['failed']} failed, {run['log']['retries']} retries",
            highlight=False,
        )


def _ms(value: object) -> str:
    return f"{value:.2f} ms" if isinstance(value, int | float) else "-"


def _progress_bar() -> Progress:
    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.fields[status]}"),
        TimeElapsedColumn(),
        console=err,
    )


# -- rendering ------------------------------------------------------------------------


def _range(group: Mapping[str, Any] | None, fmt: str = ",.1f") -> str:
    if not group:
        return "-"
    return f"{group['min']:{fmt}}-{group['max']:{fmt}}"


def _median(group: Mapping[str, Any] | None, fmt: str = ",.2f") -> str:
    return format(group["median"], fmt) if group else "-"


def _console() -> Console:
    """stdout; 140 columns when it is not a terminal (CI logs) and COLUMNS is unset,
    so that the tables do not fold at rich's default of 80."""
    if out.is_terminal or os.environ.get("COLUMNS"):
        return out
    return Console(width=140, highlight=False, soft_wrap=False)


def render_results(results: Mapping[str, Any]) -> None:
    workload = results["workload"]
    names = ", ".join(f"{s['name']}@{s['weight']}" for s in workload["scripts"])
    params = results["parameters"]
    table = Table(
        title=(
            f"pgbench {results['pgbench']['version']} on PostgreSQL {results['server']['version']}"
            f": {names}, scale {workload['scale']}, {params['duration_s']} s x "
            f"{params['runs']} run(s); medians over runs"
        ),
        title_justify="left",
        box=box.SIMPLE_HEAD,
    )
    table.add_column("config")
    for column in ("clients", "TPS", "TPS min-max", "p50 ms", "p95 ms", "p99 ms"):
        table.add_column(column, justify="right")
    table.add_column("failed", justify="right")
    table.add_column("retries", justify="right")
    for row in results["results"]:
        table.add_row(
            row["config"],
            str(row["clients"]),
            _median(row["tps"], ",.1f"),
            _range(row["tps"]),
            _median(row["latency_p50_ms"]),
            _median(row["latency_p95_ms"]),
            _median(row["latency_p99_ms"]),
            str(row["failed"]),
            str(row["retries"]),
        )
    console = _console()
    console.print(table)
    if results.get("comparison"):
        render_comparison(results)
    for note in results.get("notes", []):
        console.print(Text(f"note: {note}", style="yellow"))


def render_comparison(results: Mapping[str, Any]) -> None:
    sources = {c["label"]: c["source"] for c in results["configs"]}
    table = Table(
        title=f"B/A per pair (A = {sources.get('A')}, B = {sources.get('B')})",
        title_justify="left",
        box=box.SIMPLE_HEAD,
    )
    for column in ("clients", "metric", "pair ratios", "median", "spread", "sign p", "verdict"):
        table.add_column(column, justify="left" if column in ("metric", "verdict") else "right")
    for row in results["comparison"]:
        for metric in ("tps", "latency_p95_ms"):
            stats = row["metrics"][metric]
            ratios = " ".join(f"{r:.3f}" for r in stats["ratios"])
            spread = f"{stats['min']:.3f}-{stats['max']:.3f}" if stats["ratios"] else "-"
            median = f"{stats['median']:.3f}" if stats["median"] is not None else "-"
            sign = f"{stats['sign_test_p']:.2f}" if stats["sign_test_p"] is not None else "-"
            table.add_row(
                str(row["clients"]), metric, ratios, median, spread, sign, stats["verdict"]
            )
    _console().print(table)


def _report_gate(result: GateResult, markdown_file: Path | None, fmt: OutputFormat) -> None:
    from pgtune_hx.bench.pgbench.gate import markdown

    text = markdown(result)
    if markdown_file is not None:
        markdown_file.parent.mkdir(parents=True, exist_ok=True)
        markdown_file.write_text(text, encoding="utf-8")
    # Markdown on stdout for CI logs; on stderr when stdout carries JSON
    target = err if fmt == OutputFormat.json else out
    target.print(text, markup=False, highlight=False, soft_wrap=True)


# -- commands ----------------------------------------------------------------------------


def pgbench_command(
    ctx: typer.Context,
    dsn: DsnOption = None,
    builtin: Annotated[
        list[str] | None,
        typer.Option(
            "--builtin",
            "-b",
            help="builtin script NAME\\[@weight]: tpcb, select-only, simple-update (repeatable)",
            show_default=False,
        ),
    ] = None,
    script: Annotated[
        list[str] | None,
        typer.Option(
            "--script",
            help="custom script FILE\\[@weight] (repeatable); FILE.setup.sql beside it runs first",
            show_default=False,
        ),
    ] = None,
    scale: Annotated[int, typer.Option("--scale", "-s", help="pgbench scale factor", min=1)] = 1,
    clients: Annotated[
        str, typer.Option("--clients", "-c", help="client counts, comma-separated")
    ] = "1,4,8",
    duration: Annotated[int, typer.Option("--duration", "-T", help="seconds per run", min=1)] = 30,
    runs: Annotated[
        int, typer.Option("--runs", help="runs per configuration and client count", min=1)
    ] = 3,
    compare: Annotated[
        tuple[str, str] | None,
        typer.Option(
            "--compare",
            metavar="CONFIG_A CONFIG_B",
            help="two settings files (conf.d or tuner JSON, or 'default'); runs alternate ABAB "
            "with a restart of the embedded server before each",
            show_default=False,
        ),
    ] = None,
    baseline: Annotated[
        Path | None,
        typer.Option("--baseline", help="results JSON to gate against", show_default=False),
    ] = None,
    max_regression: Annotated[
        str, typer.Option("--max-regression", help="allowed regression: 5% or 0.05")
    ] = "5%",
    gate_metric: Annotated[
        list[str] | None,
        typer.Option(
            "--gate-metric",
            help="metric the gate checks (repeatable): tps, latency_p50_ms, latency_p95_ms, "
            "latency_p99_ms; default tps and latency_p95_ms",
            show_default=False,
        ),
    ] = None,
    allow_writes: Annotated[
        bool,
        typer.Option(
            "--allow-writes", help="allow a server that is not the embedded one (it is written to)"
        ),
    ] = False,
    database: Annotated[
        str, typer.Option("--database", help="database that holds the benchmark data")
    ] = DEFAULT_DATABASE,
    max_tries: Annotated[
        int,
        typer.Option(
            "--max-tries", help="tries per transaction on serialization/deadlock failures", min=1
        ),
    ] = 3,
    warmup: Annotated[
        int, typer.Option("--warmup", help="unmeasured seconds before each run", min=0)
    ] = 0,
    reinit: Annotated[
        bool, typer.Option("--reinit", help="recreate the pgbench tables even if present")
    ] = False,
    pgbench: Annotated[
        Path | None,
        typer.Option("--pgbench", help="pgbench binary to use", show_default=False),
    ] = None,
    keep_logs: Annotated[
        Path | None,
        typer.Option("--keep-logs", help="copy per-transaction logs into DIR", show_default=False),
    ] = None,
    plot: Annotated[
        Path | None,
        typer.Option(
            "--plot", help="write a PNG of TPS and latency by clients", show_default=False
        ),
    ] = None,
    markdown_file: Annotated[
        Path | None,
        typer.Option(
            "--markdown", help="write the gate's Markdown summary to FILE", show_default=False
        ),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="write the results JSON to FILE", show_default=False),
    ] = None,
    fmt: FormatOption = OutputFormat.text,
) -> None:
    """Run pgbench (repeated, optionally A/B), report TPS and latency, gate against a baseline."""
    from pgtune_hx.bench.pgbench import gate as gates
    from pgtune_hx.bench.pgbench.results import load_results, save_results
    from pgtune_hx.bench.pgbench.scripts import builtin_spec, check_weights, file_spec
    from pgtune_hx.bench.pgbench.session import BenchOptions, run_benchmark
    from pgtune_hx.bench.pgbench.settings import load_settings
    from pgtune_hx.bench.target import resolve_target
    from pgtune_hx.errors import UsageError, WriteNotAllowed

    # every input is checked before the server is touched
    client_counts = tuple(parse_int_list(clients, "--clients"))
    limit = gates.parse_threshold(max_regression) if baseline is not None else None
    metrics = gates.parse_metrics(gate_metric)
    if baseline is None and (max_regression != "5%" or gate_metric):
        raise UsageError("--max-regression and --gate-metric need --baseline")
    specs = [builtin_spec(b) for b in builtin or []] + [file_spec(s) for s in script or []]
    if not specs:
        specs = [builtin_spec("tpcb")]
    check_weights(specs)
    configs = (load_settings(compare[0]), load_settings(compare[1])) if compare else None
    baseline_data = load_results(baseline) if baseline is not None else None
    if baseline_data is not None:
        gates.check_compatible(
            baseline_data, {"scripts": [s.describe() for s in specs], "scale": scale}
        )
    chosen = dsn if dsn is not None else state(ctx).dsn
    try:
        target = resolve_target(chosen, allow_writes=allow_writes, data_dir=state(ctx).data_dir)
    except WriteNotAllowed as exc:
        raise WriteNotAllowed(
            f"{exc.message}: pgbench would initialize its tables in database {database} there",
            hint=exc.hint,
        ) from None
    options = BenchOptions(
        scripts=tuple(specs),
        scale=scale,
        clients=client_counts,
        duration_s=duration,
        runs=runs,
        max_tries=max_tries,
        database=database,
        configs=configs,
        reinit=reinit,
        warmup_s=warmup,
        keep_logs=keep_logs,
        pgbench_path=pgbench,
    )
    with _progress_bar() as bar:
        results = run_benchmark(target, options, RichObserver(bar))
    gate_result = None
    if baseline_data is not None and limit is not None:
        gate_result = gates.evaluate(results, baseline_data, limit, metrics)
        results["gate"] = {"baseline": str(baseline), **gate_result.to_dict()}
    if output is not None:
        save_results(results, output)
        err.print(f"results written to {output}", highlight=False)
    if plot is not None:
        from pgtune_hx.report.bench_charts import pgbench_chart

        pgbench_chart([results], plot)
        err.print(f"plot written to {plot}", highlight=False)
    if fmt == OutputFormat.json:
        emit_json(results)
    else:
        render_results(results)
    if gate_result is not None:
        _report_gate(gate_result, markdown_file, fmt)
        gates.enforce(gate_result)


def gate_command(
    results_file: Annotated[Path, typer.Argument(help="results JSON of the run to judge")],
    baseline: Annotated[Path, typer.Option("--baseline", help="results JSON to compare with")],
    max_regression: Annotated[
        str, typer.Option("--max-regression", help="allowed regression: 5% or 0.05")
    ] = "5%",
    markdown_file: Annotated[
        Path | None,
        typer.Option(
            "--markdown", help="also write the Markdown summary to FILE", show_default=False
        ),
    ] = None,
    gate_metric: Annotated[
        list[str] | None,
        typer.Option(
            "--gate-metric",
            help="metric to check (repeatable); default tps and latency_p95_ms",
            show_default=False,
        ),
    ] = None,
    fmt: FormatOption = OutputFormat.text,
) -> None:
    """Judge an existing results file against a baseline; exit 1 past --max-regression."""
    from pgtune_hx.bench.pgbench import gate as gates
    from pgtune_hx.bench.pgbench.results import load_results

    limit = gates.parse_threshold(max_regression)
    current = load_results(results_file)
    metrics = gates.parse_metrics(gate_metric)
    result = gates.evaluate(current, load_results(baseline), limit, metrics)
    if fmt == OutputFormat.json:
        emit_json(result.to_dict())
    _report_gate(result, markdown_file, fmt)
    gates.enforce(result)


def register(bench_app: typer.Typer) -> None:
    bench_app.command("pgbench")(pgbench_command)
    bench_app.command("pgbench-gate")(gate_command)
