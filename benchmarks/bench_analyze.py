"""Analyzer speed on the 10,000-table snapshot of the collectors benchmark.

Builds (or reuses) the collectors benchmark database (benchmarks/bench_collect.py:
10,000 tables, 20,000 indexes, 5,000 distinct statements) on a throwaway
embedded server, takes one real snapshot of it, then times ``analyze()`` on that
snapshot ``--runs`` times in two configurations:

- defaults: every rule with its documented thresholds;
- everything: thresholds at zero where that makes rules report every candidate
  (20,000 unused-index findings and so on), the worst case for the engine;

and once more as an interval (a second snapshot taken after a few statements).
Loading the snapshot file is timed apart. Writes benchmarks/results/analyze.json
with medians and the target: analysis with the default thresholds, of one
snapshot and of an interval, <= 2 s (the "everything" figure is a stress test
without a target).

    .venv/bin/python benchmarks/bench_analyze.py [--quick] [--runs 5] [--base-dir DIR]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import statistics
import time
from pathlib import Path
from typing import Any

from _common import machine, quick_results, write_result

from pgtune_hx.analyze.engine import run
from pgtune_hx.collect import load, save
from pgtune_hx.collect.model import Snapshot
from pgtune_hx.collect.snapshot import collect_snapshot
from pgtune_hx.db import Guard, connect
from pgtune_hx.embedded import EmbeddedServer

HERE = Path(__file__).parent
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
    parser.add_argument("--quick", action="store_true", help="short run (smoke check)")
    parser.add_argument("--tables", type=int, default=None)
    parser.add_argument("--statements", type=int, default=None)
    parser.add_argument("--runs", type=int, default=None)
    parser.add_argument("--base-dir", type=Path, default=None)
    args = parser.parse_args()
    load_before = os.getloadavg()
    if args.quick:
        quick_results()
    tables = args.tables or (500 if args.quick else 10_000)
    statements = args.statements or (250 if args.quick else 5_000)
    runs = args.runs or (2 if args.quick else 5)
    # its own server and data: the builder rebuilds a schema of another shape
    base = args.base_dir or Path("/tmp/pgtune_hx-bench-analyze" + ("-quick" if args.quick else ""))

    bench_collect = _collect_bench()
    base.mkdir(parents=True, exist_ok=True)
    base.chmod(0o755)
    server = EmbeddedServer(base)
    server.start()
    try:
        shape = bench_collect.build(server, tables, statements)
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
        path = save(second, base / "analyze-bench.json.gz")
    finally:
        # a fast shutdown checkpoints 10,000 tables: give it time on a busy machine
        server.stop(timeout=900)
    started = time.perf_counter()
    loaded = load(path)
    load_s = time.perf_counter() - started

    defaults = _timed(loaded, None, runs)
    interval = _timed(loaded, first, runs)
    everything = _timed(loaded, None, runs, **EVERYTHING)
    summary = {
        "analyze_defaults_s": defaults["median_s"],
        "analyze_interval_s": interval["median_s"],
        "analyze_everything_s": everything["median_s"],
        "everything_findings": everything["findings"],
        "tables": len(loaded.rows("tables")),
        "indexes": len(loaded.rows("indexes")),
        "statements": len(loaded.rows("statements")),
        "load_snapshot_s": round(load_s, 3),
    }
    # the target is the analysis as run: default thresholds, one snapshot or an
    # interval; "everything" (every candidate a finding) is a stress figure only
    target = {
        "analyze_defaults_s": {"max": TARGET_SECONDS},
        "analyze_interval_s": {"max": TARGET_SECONDS},
    }
    written = write_result(
        "analyze",
        summary,
        target=target,
        defaults=defaults,
        interval=interval,
        everything=everything,
        snapshot={
            "file_bytes": path.stat().st_size,
            "rows": {n: len(s.rows) for n, s in loaded.sections.items()},
            "sections_ms": {n: round(s.elapsed_ms) for n, s in loaded.sections.items()},
            "server_version": loaded.server.get("server_version"),
        },
        database=shape,
        runs=runs,
        quick=args.quick,
        machine=machine(load_before, note="timings are medians of the runs in one process"),
    )
    print(json.dumps(summary, indent=2))
    print(f"wrote {written}")


if __name__ == "__main__":
    main()
