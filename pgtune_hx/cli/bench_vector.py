"""`pgtune-hx bench vector`: pgvector HNSW against IVFFlat on your data,
with the index and search setting recommended for a target recall."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
from rich.progress import Progress as RichProgress
from rich.table import Table

from pgtune_hx.cli.common import (
    FormatOption,
    OutputFormat,
    emit_json,
    err,
    out,
    parse_int_list,
    state,
)
from pgtune_hx.errors import UsageError


class SearchMethod(StrEnum):
    adaptive = "adaptive"
    exhaustive = "exhaustive"
    both = "both"


def register(bench_app: typer.Typer) -> None:
    bench_app.command("vector")(vector)


class BarProgress:
    """The headless core's progress reports as rich bars on stderr."""

    def __init__(self, bars: RichProgress) -> None:
        self.bars = bars
        self.current: Any = None

    def task(self, description: str, total: int | None = None) -> None:
        if self.current is not None:
            self.bars.update(
                self.current,
                completed=self.bars.tasks[-1].total or 1,
                total=self.bars.tasks[-1].total or 1,
            )
        self.current = self.bars.add_task(description, total=total)

    def advance(self, steps: int = 1) -> None:
        if self.current is not None:
            self.bars.advance(self.current, steps)


def vector(
    ctx: typer.Context,
    dsn: Annotated[
        str | None,
        typer.Option(
            "--dsn",
            help="server to write to; 'embedded' (default) for the local one",
            show_default=False,
        ),
    ] = None,
    dataset: Annotated[
        str,
        typer.Option(
            "--dataset", help="synthetic, glove-50, hdf5:FILE or table:SCHEMA.TABLE.COLUMN"
        ),
    ] = "synthetic",
    rows: Annotated[int, typer.Option("--rows", help="vectors to index", min=1)] = 10_000,
    dim: Annotated[int, typer.Option("--dim", help="dimensions (synthetic only)", min=1)] = 64,
    queries: Annotated[
        int, typer.Option("--queries", help="tuning queries; as many again are held out", min=1)
    ] = 200,
    k: Annotated[int, typer.Option("--k", help="neighbours per query", min=1)] = 10,
    metric: Annotated[
        str | None,
        typer.Option(
            "--metric", help="l2, cosine or ip (default: the dataset's)", show_default=False
        ),
    ] = None,
    target_recall: Annotated[
        float, typer.Option("--target-recall", help="recall@k to reach")
    ] = 0.95,
    concurrency: Annotated[
        str, typer.Option("--concurrency", help="client counts for QPS, e.g. 1,4")
    ] = "1,4",
    allow_writes: Annotated[
        bool,
        typer.Option(
            "--allow-writes",
            help="allow a non-embedded server: creates and drops a scratch schema there",
        ),
    ] = False,
    seed: Annotated[int, typer.Option("--seed", help="seed of data, splits and samples")] = 42,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            help="results JSON; a .csv and a .png are written beside it",
            show_default=False,
        ),
    ] = None,
    search: Annotated[
        SearchMethod,
        typer.Option("--search", help="adaptive (default), exhaustive, or both to compare"),
    ] = SearchMethod.adaptive,
    maintenance_work_mem: Annotated[
        str | None,
        typer.Option(
            "--maintenance-work-mem",
            help="for the builds, e.g. 1GB (default: the server's)",
            show_default=False,
        ),
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option(
            "--build-workers",
            help="max_parallel_maintenance_workers for the builds",
            min=0,
            show_default=False,
        ),
    ] = None,
    hnsw_m: Annotated[str, typer.Option("--hnsw-m", help="HNSW m values to try")] = "8,16,32",
    hnsw_efc: Annotated[
        str, typer.Option("--hnsw-ef-construction", help="HNSW ef_construction values to try")
    ] = "32,64,128",
    pgbench_seconds: Annotated[
        int, typer.Option("--pgbench-seconds", help="duration of each concurrency run", min=1)
    ] = 5,
    filtered: Annotated[
        bool, typer.Option("--filtered/--no-filtered", help="run the filtered-search sweep")
    ] = True,
    fmt: FormatOption = OutputFormat.text,
) -> None:
    """Benchmark pgvector indexes and recommend one for a target recall."""
    from pgtune_hx.bench.target import resolve_target
    from pgtune_hx.bench.vector.build import BuildSettings
    from pgtune_hx.bench.vector.metric import Metric
    from pgtune_hx.bench.vector.runner import BenchOptions, run_bench
    from pgtune_hx.bench.vector.spec import parse_dataset

    options = BenchOptions(
        dataset=parse_dataset(dataset),
        rows=rows,
        dim=dim,
        queries=queries,
        k=k,
        metric=Metric.parse(metric) if metric else None,
        target=target_recall,
        concurrency=parse_int_list(concurrency, "--concurrency"),
        seed=seed,
        search=search.value,
        build=BuildSettings(maintenance_work_mem, workers),
        hnsw_m=tuple(parse_int_list(hnsw_m, "--hnsw-m")),
        hnsw_ef_construction=tuple(parse_int_list(hnsw_efc, "--hnsw-ef-construction")),
        pgbench_seconds=pgbench_seconds,
        filtered=filtered,
    )
    if output is not None and output.suffix.lower() != ".json":
        raise UsageError(f"--output names the results JSON, e.g. results.json (got {output})")
    cli = state(ctx)
    target = resolve_target(
        dsn if dsn is not None else cli.dsn, allow_writes=allow_writes, data_dir=cli.data_dir
    )
    err.print(f"bench vector: scratch schema on {target.describe()}; it is dropped at the end")
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with RichProgress(*columns, console=err, transient=False) as bars:
        results = run_bench(target, options, _pgbench(target), BarProgress(bars))
    if output is not None:
        _write(results, output)
    if fmt is OutputFormat.json:
        emit_json(results)
    else:
        _summary(results)


def _pgbench(target: Any) -> Path:
    if target.embedded is not None:
        return Path(target.embedded.bin("pgbench"))
    from pgtune_hx.embedded.binaries import Binaries, wheel_bin_dir

    return Binaries(wheel_bin_dir()).path("pgbench")


def _write(results: dict[str, Any], output: Path) -> None:
    from pgtune_hx.bench.vector.results import point_rows, write_csv, write_json
    from pgtune_hx.report.vector_charts import plot_recall_qps

    output.parent.mkdir(parents=True, exist_ok=True)
    write_json(output, results)
    write_csv(output.with_suffix(".csv"), point_rows(results))
    plot_recall_qps(results, output.with_suffix(".png"))
    err.print(f"wrote {output}, {output.with_suffix('.csv')} and {output.with_suffix('.png')}")


def _ci(recall: dict[str, float]) -> str:
    return f"{_pct(recall['mean'])} [{_pct(recall['low'])}, {_pct(recall['high'])}]"


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.1f}%"


def _summary(results: dict[str, Any]) -> None:
    ds = results["dataset"]
    env = results["environment"]
    out.print(
        f"[bold]{ds['name']}[/] {ds['rows']:,} x {ds['dim']} ({ds['metric']}), "
        f"{ds['queries']} tuning + {ds['holdout_queries']} holdout queries; "
        f"PostgreSQL {env['postgresql']}, pgvector {env['pgvector']}"
    )
    table = Table(title="Index builds searched (full table)")
    for col in (
        "search",
        "index",
        "build s",
        "size MB",
        "fits mwm",
        "setting",
        "recall (95% CI)",
        "cost ms/q",
        "QPS",
        "p50 ms",
        "p99 ms",
    ):
        table.add_column(col, justify="right" if col not in ("index", "search") else "left")
    for method, search in results["searches"].items():
        for ev in search["evaluations"]:
            b, c = ev["build"], ev["chosen"]
            recall = "-" if not c else _ci(c["recall"])
            table.add_row(
                method,
                ev["index"],
                f"{b['seconds']:.1f}",
                f"{b['size_bytes'] / 1048576:.1f}",
                "yes" if b["graph_fits_in_maintenance_work_mem"] else "no",
                f"{c['param']}={c['value']}" if c else "target not reached",
                recall,
                f"{c['cost_ms']:.3f}" if c else "-",
                f"{c['qps']:.0f}" if c else "-",
                f"{c['latency']['p50_ms']:.2f}" if c else "-",
                f"{c['latency']['p99_ms']:.2f}" if c else "-",
            )
    out.print(table)
    rec = results["recommendation"]
    if rec is None:
        out.print(
            f"[bold red]No configuration reached recall {results['options']['target_recall']}"
            "[/] with confidence; widen the grid or lower the target."
        )
        return
    hold = rec.get("holdout") or {}
    hold_recall = (hold.get("recall") or {}).get("mean")
    full = rec["full_table"]
    out.print(
        f"[bold green]Recommended:[/] {rec['index']} with {rec['param']} = {rec['value']}: "
        f"recall {_ci(rec['recall'])} (95% CI), "
        f"holdout {_pct(hold_recall)}, {rec['qps']:.0f} QPS on 1 client"
    )
    out.print(
        f"Full table ({full['rows']:,} rows): build ~{full['build_seconds']:.0f} s, "
        f"index ~{full['size_bytes'] / 1048576:.0f} MB, "
        f"maintenance_work_mem >= {full['maintenance_work_mem']}"
        f"{'' if full['memory_measured'] else ' (estimate)'}"
    )
    for line in rec["sql"]:
        out.print(f"  {line}", markup=False)
    _comparison(results)
    _concurrency(results)
    _filtered(results)


def _comparison(results: dict[str, Any]) -> None:
    comparison = results.get("comparison") or {}
    if not comparison.get("both_found"):
        return
    a, e = comparison["adaptive_choice"], comparison["exhaustive_best"]
    out.print(
        f"Adaptive {a['index']} = {a['value']} against exhaustive {e['index']} = {e['value']}: "
        f"QPS ratio {comparison['qps_ratio']:.2f} and cost ratio {comparison['cost_ratio']:.2f} "
        f"(head to head), in {comparison['time_ratio']:.2f} of the time"
    )


def _best_evaluations(results: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        ev for s in results["searches"].values() for ev in s["evaluations"] if ev.get("concurrency")
    ]


def _concurrency(results: dict[str, Any]) -> None:
    rows = [(ev["index"], c) for ev in _best_evaluations(results) for c in ev["concurrency"]]
    if not rows:
        return
    table = Table(title="Throughput by concurrency (at each index's chosen setting)")
    for col in ("index", "clients", "QPS", "p50 ms", "p95 ms", "p99 ms", "client"):
        table.add_column(col, justify="left" if col in ("index", "client") else "right")
    for index, c in rows:
        lat = c["latency"]
        table.add_row(
            index,
            str(c["clients"]),
            f"{c['qps']:.0f}",
            f"{lat['p50_ms']:.2f}",
            f"{lat['p95_ms']:.2f}",
            f"{lat['p99_ms']:.2f}",
            c["client"],
        )
    out.print(table)


def _filtered(results: dict[str, Any]) -> None:
    rows = [(ev["index"], f) for ev in _best_evaluations(results) for f in ev.get("filtered") or []]
    if not rows:
        return
    table = Table(title="Filtered search: WHERE u < selectivity")
    for col in (
        "index",
        "selectivity",
        "iterative_scan",
        "recall",
        "recall loss",
        "short results",
        "p50 ms",
    ):
        table.add_column(col, justify="left" if col in ("index", "iterative_scan") else "right")
    for index, f in rows:
        table.add_row(
            index,
            f"{f['selectivity']:g}",
            f["iterative_scan"],
            _pct(f["recall"]),
            _pct(f["recall_loss"]),
            f"{f['short_results']}/{f['queries']}",
            f"{f['latency']['p50_ms']:.2f}",
        )
    out.print(table)
