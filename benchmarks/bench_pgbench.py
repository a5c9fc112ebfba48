"""Committed pgbench run: server defaults (A) against a tuned configuration (B).

Two workloads, tpcb-like and the LLM gateway service workload
(workloads/gateway.sql), at 1 and 4 clients, runs alternating ABAB with a
restart of a private embedded PostgreSQL 18 before each run and a short
unmeasured warm-up. Writes results/pgbench.json (both results documents in
full) and results/pgbench.png (TPS and latency by clients).

    .venv/bin/python benchmarks/bench_pgbench.py [--quick] [--config-b FILE]

B is what `pgtune-hx tune --workload oltp` recommends for the benchmark's own
embedded server on this host (hardware detected, the server's statistics read),
written to results/pgbench-tuned.conf; --config-b FILE uses a settings file
instead (conf.d or the tuner's JSON).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from _common import HERE, quick_results, results_dir, write_result

from pgtune_hx.bench.pgbench.compare import PlannedRun
from pgtune_hx.bench.pgbench.parse import ProgressLine
from pgtune_hx.bench.pgbench.scripts import ScriptSpec, builtin_spec, file_spec
from pgtune_hx.bench.pgbench.session import BenchOptions, prepare, run_benchmark, with_dbname
from pgtune_hx.bench.pgbench.settings import SettingsFile, load_settings
from pgtune_hx.bench.target import BenchTarget
from pgtune_hx.embedded import embedded_server
from pgtune_hx.report.bench_charts import pgbench_chart

SHARED_NOTE = (
    "measured on a 2-vCPU, 24 GB virtual machine shared with other jobs (test suites, "
    "other benchmarks) while this ran; load averages at start and end are in host; "
    "numbers are noisy: trust a difference only when every pair agrees"
)


class Printer:
    def message(self, text: str) -> None:
        print(text, flush=True)

    def run_started(self, planned: PlannedRun, total: int, duration_s: int) -> None:
        print(f"  run {planned.index + 1}/{total} config {planned.config} "
              f"clients {planned.clients} ...", end="", flush=True)  # fmt: skip

    def progress(self, line: ProgressLine) -> None:
        pass

    def run_finished(self, planned: PlannedRun, run: Mapping[str, Any]) -> None:
        print(f" {run['pgbench']['tps']:.1f} tps, p95 {run['log']['latency_ms']['p95']} ms")


def headline(name: str, results: Mapping[str, Any]) -> dict[str, Any]:
    """Per client count: the median B/A TPS ratio, its verdict, then both medians."""
    numbers: dict[str, Any] = {}
    medians = {(row["config"], row["clients"]): row["tps"]["median"] for row in results["results"]}
    for row in results["comparison"]:
        clients, tps = row["clients"], row["metrics"]["tps"]
        numbers[f"{name}_{clients}c_tps_ratio_B_over_A"] = tps["median"]
        numbers[f"{name}_{clients}c_tps_ratio_min_max"] = [tps["min"], tps["max"]]
        numbers[f"{name}_{clients}c_verdict"] = tps["verdict"]
        numbers[f"{name}_{clients}c_tps_default"] = medians[("A", clients)]
        numbers[f"{name}_{clients}c_tps_tuned"] = medians[("B", clients)]
    return numbers


def plot(documents: list[dict[str, Any]], first: Mapping[str, Any]) -> Path:
    b_source = next(c["source"] for c in first["configs"] if c["label"] == "B")
    return pgbench_chart(
        documents,
        results_dir() / "pgbench.png",
        note=f"A = server defaults, B = {Path(b_source).name}; error bars: min-max of runs; "
        "shared 2-vCPU host under load, noisy",
    )


def tuned_conf(dsn: str) -> Path:
    """The tuner's recommendation for this server and host, as a conf.d file."""
    from pgtune_hx import tune as tuner
    from pgtune_hx.db import connect
    from pgtune_hx.tune import render
    from pgtune_hx.tune.model import Workload

    with connect(dsn) as conn:
        rec = tuner.live(conn, tuner.Request(workload=Workload.oltp))
    path = results_dir() / "pgbench-tuned.conf"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render.conf(rec))
    print(f"B: the tuner's {len(rec.changes)} changes, in {path}", flush=True)
    return path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short run (smoke check)")
    parser.add_argument("--config-b", type=Path, default=None, help="default: the tuner's output")
    parser.add_argument(
        "--replot", action="store_true", help="redraw results/pgbench.png from the stored JSON"
    )
    args = parser.parse_args()
    if args.replot:
        stored = json.loads((results_dir() / "pgbench.json").read_text())
        print(plot(list(stored["workloads"].values()), stored["workloads"]["tpcb"]))
        return 0
    quick = args.quick
    if quick:
        quick_results()
    workloads = {
        "tpcb": builtin_spec("tpcb"),
        "gateway": file_spec(str(HERE / "workloads" / "gateway.sql")),
    }
    documents: dict[str, dict[str, Any]] = {}
    scale = 1 if quick else 5

    def options(script: ScriptSpec, configs: tuple[SettingsFile, SettingsFile]) -> BenchOptions:
        return BenchOptions(
            scripts=(script,),
            scale=scale,
            clients=(1, 4),
            duration_s=5 if quick else 15,
            runs=2 if quick else 3,
            warmup_s=1 if quick else 3,
            configs=configs,
            notes=(SHARED_NOTE,),
        )

    with embedded_server() as server:  # private and temporary: nothing else shares it
        target = BenchTarget(server.dsn(), server)
        default = load_settings("default")
        if args.config_b is None:
            # the tuner sizes for the data it sees: load every workload's data first
            for script in workloads.values():
                prepare(target, options(script, (default, default)), Printer())
            config_b = tuned_conf(
                with_dbname(server.dsn(), options(workloads["tpcb"], (default, default)).database)
            )
        else:
            config_b = args.config_b
        configs = (default, load_settings(str(config_b)))
        for name, script in workloads.items():
            print(f"{name}:", flush=True)
            documents[name] = run_benchmark(target, options(script, configs), Printer())
    out = results_dir()
    chart = plot(list(documents.values()), documents["tpcb"])
    summary: dict[str, Any] = {}
    for name, document in documents.items():
        summary.update(headline(name, document))
    write_result(
        "pgbench",
        summary,
        target=None,
        quick=quick,
        note=SHARED_NOTE,
        plot=chart.name,
        workloads=documents,
    )
    print(f"wrote {out / 'pgbench.json'} and {chart}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
