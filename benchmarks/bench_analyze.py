"""Analyzer speed on the 10,000-table snapshot of the collectors benchmark.

Builds (or reuses) the collectors benchmark database (benchmarks/bench_collect.py:
10,000 tables, 20,000 indexes, 5,000 distinct statements) on a throwaway
embedded server, takes one real snapshot of it, then times ``analyze()`` on that
snapshot ``--runs`` times in two configurations:

- defaults: every rule with its documented thresholds;
- everything: thresholds at zero where that makes rules report every candidate
  (20,000 unused-index findings and so on), the worst case for the engine;

and once more as an interval (the same snapshot file twice is not an interval:
a second snapshot is taken after a few statements). Loading the snapshot file
is timed apart. Writes benchmarks/results/analyze.json with medians and the
target (analysis <= 2 s).

    .venv/bin/python benchmarks/bench_analyze.py [--runs 5] [--base-dir DIR]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import statistics
import time
from pathlib import Path
from typing import Any

from pgtune_hx.analyze.engine import run
from pgtune_hx.collect import load, save
from pgtune_hx.collect.model import Snapshot
from pgtune_hx.collect.snapshot import collect_snapshot
from pgtune_hx.db import Guard, connect
from pgtune_hx.embedded import EmbeddedServer

HERE = Path(__file__).parent
RESULTS = HERE / "results" / "analyze.json"
TARGET_SECONDS = 2.0
EVERYTHING: dict[str, Any] = {
    "min_size_bytes": 0,
    "min_stats_age_days": 0,
    "min_table_bytes": 0,
    "min_seq_scans": 0,
    "min_seq_share": 0.0,
    "min_dead_tuples": 0,
    "max_dead_ratio": 0.0,
    "min_tuples": 0,
    "min_rows": 0,
    "min_updates": 0,
    "min_hot_ratio": 1.1,
    "min_bloat_bytes": 0,
    "min_bloat_ratio": 0.0,
    "top": 100_000,
    "min_share": 0.0,
    "min_total_ms": 0.0,
    "min_blocks": 0,
    "min_temp_bytes": 0,
    "min_table_writes": 0,
    "min_writes_per_scan": 0.0,
}


def _collect_bench() -> Any:
    spec = importlib.util.spec_from_file_location("bench_collect", HERE / "bench_collect.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _timed(
    snapshot: Snapshot, since: Snapshot | None, runs: int, **thresholds: Any
) -> dict[str, Any]:
    times = []
    findings = 0
    by_rule: dict[str, int] = {}
    for _ in range(runs):
        started = time.perf_counter()
        analysis = run(snapshot, since, **thresholds)
        times.append(time.perf_counter() - started)
        findings = len(analysis.findings)
        by_rule = {}
        for f in analysis.findings:
            by_rule[f.rule_id] = by_rule.get(f.rule_id, 0) + 1
    return {
        "median_s": round(statistics.median(times), 3),
        "runs_s": [round(t, 3) for t in times],
        "findings": findings,
        "findings_by_rule": dict(sorted(by_rule.items())),
        "rules_run": len(analysis.rules_run),
        "rules_skipped": analysis.rules_skipped,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tables", type=int, default=10_000)
    parser.add_argument("--statements", type=int, default=5_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--base-dir", type=Path, default=Path("/tmp/pgtune_hx-bench-analyze"))
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args()

    bench_collect = _collect_bench()
    args.base_dir.mkdir(parents=True, exist_ok=True)
    args.base_dir.chmod(0o755)
    server = EmbeddedServer(args.base_dir)
    server.start()
    try:
        shape = bench_collect.build(server, args.tables, args.statements)
        dsn = server.dsn(bench_collect.DBNAME)
        # a generous statement timeout: the snapshot must be complete here, and
        # the collectors' own benchmark times collection, not this one
        guard = Guard(statement_timeout_ms=300_000)
        with connect(dsn, guard) as conn:
            first = collect_snapshot(conn)
        bench_collect.psql(server, dsn, "-c", "select count(*) from t1; select count(*) from t2;")
        with connect(dsn, guard) as conn:
            second = collect_snapshot(conn)
        if second.errors():
            raise SystemExit(f"snapshot sections failed: {second.errors()}")
        path = save(second, args.base_dir / "analyze-bench.json.gz")
    finally:
        # a fast shutdown checkpoints 10,000 tables: give it time on a busy machine
        server.stop(timeout=900)
    started = time.perf_counter()
    loaded = load(path)
    load_s = time.perf_counter() - started

    defaults = _timed(loaded, None, args.runs)
    everything = _timed(loaded, None, args.runs, **EVERYTHING)
    interval = _timed(loaded, first, args.runs)
    worst = max(defaults["median_s"], everything["median_s"], interval["median_s"])
    result: dict[str, Any] = {
        "benchmark": "analyze",
        "summary": {
            "analyze_defaults_s": defaults["median_s"],
            "analyze_everything_s": everything["median_s"],
            "analyze_interval_s": interval["median_s"],
            "load_snapshot_s": round(load_s, 3),
            "snapshot_file_bytes": path.stat().st_size,
            "rows": {n: len(s.rows) for n, s in loaded.sections.items()},
            "snapshot_sections_ms": {n: round(s.elapsed_ms) for n, s in loaded.sections.items()},
            "database": shape,
            "server_version": loaded.server.get("server_version"),
        },
        "defaults": defaults,
        "everything": everything,
        "interval": interval,
        "target": {"analyze_s_max": TARGET_SECONDS, "analyze_s_met": worst <= TARGET_SECONDS},
        "machine": {
            "cpus": os.cpu_count(),
            "load_avg_1min": round(os.getloadavg()[0], 2),
            "python": platform.python_version(),
            "note": "2 cores shared with other jobs running at the same time; "
            "timings are medians of --runs runs in one process",
        },
    }
    print(json.dumps(result["summary"] | result["target"], indent=2))
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
