"""Benchmark: query facts for 5,000 distinct statements (target: at most 3 s).

Run: .venv/bin/python benchmarks/bench_facts.py [--statements 5000] [--repeat 5] [--quick]

Writes benchmarks/results/facts.json (benchmarks/README.md conventions). The
statements are pg_stat_statements-like texts from benchmarks/workload_sql.py
($n parameters, ORM-style target lists, joins, CTEs, sub-queries,
UPDATE/DELETE/INSERT ... ON CONFLICT). Wall and CPU time are both recorded,
with the CPU model and the load around the run.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import pglast
from _common import machine, quick_results, write_result
from workload_sql import statements

from pgtune_hx.analyze.query import extract_many
from pgtune_hx.analyze.query_model import QueryFacts

TARGET_S = 3.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--statements", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="500 statements, 2 runs")
    args = parser.parse_args()
    if args.quick:
        quick_results()
        args.statements, args.repeat = 500, 2

    texts = statements(args.statements)
    assert len(set(texts)) == args.statements
    extract_many(texts[:200])  # warm-up: imports, pglast caches
    load_before = os.getloadavg()
    runs = []
    for _ in range(args.repeat):
        cpu0, wall0 = time.process_time(), time.perf_counter()
        results = extract_many(texts)
        runs.append({"wall_s": time.perf_counter() - wall0, "cpu_s": time.process_time() - cpu0})
    facts = [r for r in results if isinstance(r, QueryFacts)]
    best_wall = min(r["wall_s"] for r in runs)
    best_cpu = min(r["cpu_s"] for r in runs)
    summary = {
        "facts_s_best_wall": round(best_wall, 3),
        "facts_s_best_cpu": round(best_cpu, 3),
        "facts_s_median_wall": round(statistics.median(r["wall_s"] for r in runs), 3),
        "per_statement_us_cpu": round(best_cpu / args.statements * 1e6, 1),
        "statements": args.statements,
        "failed": len(results) - len(facts),
    }
    # the target is for 5,000 statements; a smaller run scales it
    limit = TARGET_S * args.statements / 5000
    path = write_result(
        "facts",
        summary,
        target={"facts_s_best_wall": {"max": limit}, "failed": {"max": 0}},
        benchmark="query facts (pglast visitors) of pg_stat_statements-like texts",
        parsed=len(facts),
        predicates=sum(len(f.predicates) for f in facts),
        joins=sum(len(f.joins) for f in facts),
        mean_length_chars=round(sum(map(len, texts)) / len(texts), 1),
        runs=[{k: round(v, 3) for k, v in r.items()} for r in runs],
        target_met_wall=best_wall <= limit,
        target_met_cpu=best_cpu <= limit,
        machine=machine(load_before, pglast=pglast.__version__),
    )
    print(f"{path}: {summary}")


if __name__ == "__main__":
    main()
