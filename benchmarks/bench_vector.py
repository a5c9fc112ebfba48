"""pgvector benchmark at full size: adaptive recommendation against an
exhaustive sweep of the same grid, on the embedded server.

    .venv/bin/python benchmarks/bench_vector.py --rows 100000 --dim 128
    .venv/bin/python benchmarks/bench_vector.py --dataset glove-50 --rows 400000

Writes benchmarks/results/vector-<dataset>-<rows>x<dim>.{json,csv,png,svg}.
The JSON's "acceptance" block holds the measured comparisons: the QPS of the
adaptive choice over that of the exhaustive sweep's best, both measured head
to head in alternating passes (median of the paired rounds), the same for
server CPU cost, the ratio of search times, the adaptive choice's recall on
the held-out query set, and the load average at the start and the end.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from pgtune_hx.bench.target import BenchTarget
from pgtune_hx.bench.vector.build import BuildSettings
from pgtune_hx.bench.vector.metric import Metric
from pgtune_hx.bench.vector.results import acceptance, point_rows, write_csv, write_json
from pgtune_hx.bench.vector.runner import BenchOptions, run_bench
from pgtune_hx.bench.vector.spec import parse_dataset
from pgtune_hx.embedded import EmbeddedServer
from pgtune_hx.report.vector_charts import plot_recall_qps

RESULTS = Path(__file__).parent / "results"


class Printer:
    def __init__(self) -> None:
        self.started = time.perf_counter()

    def task(self, description: str, total: int | None = None) -> None:
        elapsed = time.perf_counter() - self.started
        print(f"  [{elapsed:5.0f} s] {description}", file=sys.stderr, flush=True)

    def advance(self, steps: int = 1) -> None:
        pass


def ints(text: str) -> tuple[int, ...]:
    return tuple(int(x) for x in text.split(","))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="synthetic", help="synthetic or glove-50")
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--dim", type=int, default=64)
    parser.add_argument("--queries", type=int, default=500)
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--metric", default=None)
    parser.add_argument("--target-recall", type=float, default=0.95)
    parser.add_argument("--hnsw-m", default="8,16,32")
    parser.add_argument("--hnsw-ef-construction", default="32,64,128")
    parser.add_argument("--maintenance-work-mem", default="1GB")
    parser.add_argument("--build-workers", type=int, default=1)
    parser.add_argument("--concurrency", default="1,4")
    parser.add_argument("--pgbench-seconds", type=int, default=5)
    parser.add_argument("--head-to-head-rounds", type=int, default=7)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--data-dir", type=Path, default=None, help="embedded server base dir")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()

    options = BenchOptions(
        dataset=parse_dataset(args.dataset),
        rows=args.rows,
        dim=args.dim,
        queries=args.queries,
        k=args.k,
        metric=Metric.parse(args.metric) if args.metric else None,
        target=args.target_recall,
        concurrency=list(ints(args.concurrency)),
        seed=args.seed,
        search="both",
        build=BuildSettings(args.maintenance_work_mem, args.build_workers),
        hnsw_m=ints(args.hnsw_m),
        hnsw_ef_construction=ints(args.hnsw_ef_construction),
        pgbench_seconds=args.pgbench_seconds,
        curves=False,  # the exhaustive sweep measures every point already
        head_to_head_rounds=args.head_to_head_rounds,
    )
    load_start = list(os.getloadavg())
    base = args.data_dir or Path(tempfile.mkdtemp(prefix="pgtune_hx-bench-vector-"))
    base.chmod(0o755)
    server = EmbeddedServer(base, settings={"shared_buffers": "'1GB'"})
    started_here = not server.start().already_running
    try:
        results = run_bench(
            BenchTarget(server.dsn(), server), options, server.bin("pgbench"), Printer()
        )
    finally:
        if started_here:
            server.stop()
        if args.data_dir is None:
            shutil.rmtree(base, ignore_errors=True)
    results["acceptance"] = {
        **acceptance(results),
        "load_average_start": load_start,
        "load_average_end": list(os.getloadavg()),
    }
    ds = results["dataset"]
    stem = args.out / f"vector-{ds['name']}-{ds['rows']}x{ds['dim']}"
    args.out.mkdir(parents=True, exist_ok=True)
    write_json(stem.with_suffix(".json"), results)
    write_csv(stem.with_suffix(".csv"), point_rows(results))
    plot_recall_qps(results, stem.with_suffix(".png"))
    plot_recall_qps(results, stem.with_suffix(".svg"))
    print(f"wrote {stem}.json/.csv/.png/.svg")
    print(results["acceptance"])
    print(results["comparison"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
