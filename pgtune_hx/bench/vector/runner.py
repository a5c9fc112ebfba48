"""One benchmark run from options to a results dictionary.

dataset -> scratch schema (dropped at the end, Ctrl-C included) -> tables and
ground truth -> adaptive and/or exhaustive search -> for the best index of
each type, while it exists: the holdout check, the recall/QPS curve, pgbench
at each concurrency level and the filtered-search sweep -> predictions for
the full table -> results.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pgtune_hx.bench.target import BenchTarget
from pgtune_hx.bench.vector import datasets, hdf5
from pgtune_hx.bench.vector.adaptive import adaptive_search
from pgtune_hx.bench.vector.build import BuildSettings, IndexConfig, hnsw_grid, ivfflat_grid
from pgtune_hx.bench.vector.compare import ROUNDS, Contender, head_to_head
from pgtune_hx.bench.vector.filtered import SELECTIVITIES, filtered_sweep
from pgtune_hx.bench.vector.lab import Lab, NoProgress, Progress
from pgtune_hx.bench.vector.metric import Metric
from pgtune_hx.bench.vector.pgbench import run_pgbench, script
from pgtune_hx.bench.vector.predict import (
    full_table_config,
    measure_graph_memory,
    measure_kmeans_memory,
    predict,
)
from pgtune_hx.bench.vector.recommend import (
    Evaluation,
    SearchOutcome,
    exhaustive_search,
    pareto_front,
    warm_up,
)
from pgtune_hx.bench.vector.results import environment
from pgtune_hx.bench.vector.scratch import scratch_schema
from pgtune_hx.bench.vector.spec import DatasetSpec, Source
from pgtune_hx.bench.vector.sweep import Searcher, SweepPoint, search_ladder
from pgtune_hx.db import Guard, connect
from pgtune_hx.db.redact import display_dsn
from pgtune_hx.errors import UsageError

SAMPLE_GUARD = Guard(read_only=True, statement_timeout_ms=600_000)


@dataclass
class BenchOptions:
    dataset: DatasetSpec
    rows: int = 10_000
    dim: int = 64
    queries: int = 500
    k: int = 10
    metric: Metric | None = None
    target: float = 0.95
    concurrency: list[int] = field(default_factory=lambda: [1, 4])
    seed: int = 42
    search: str = "adaptive"  # adaptive, exhaustive or both
    build: BuildSettings = field(default_factory=BuildSettings)
    hnsw_m: tuple[int, ...] = (8, 16, 32)
    hnsw_ef_construction: tuple[int, ...] = (32, 64, 128)
    pgbench_seconds: int = 5
    selectivities: tuple[float, ...] = SELECTIVITIES
    curves: bool = True
    filtered: bool = True
    head_to_head_rounds: int = ROUNDS

    def to_dict(self) -> dict[str, Any]:
        return {
            "dataset": str(self.dataset),
            "rows": self.rows,
            "dim": self.dim,
            "queries": self.queries,
            "k": self.k,
            "metric": self.metric.value if self.metric else None,
            "target_recall": self.target,
            "concurrency": self.concurrency,
            "seed": self.seed,
            "search": self.search,
            "maintenance_work_mem": self.build.maintenance_work_mem,
            "parallel_workers": self.build.parallel_workers,
            "hnsw_m": list(self.hnsw_m),
            "hnsw_ef_construction": list(self.hnsw_ef_construction),
            "pgbench_seconds": self.pgbench_seconds,
            "selectivities": list(self.selectivities),
            "head_to_head_rounds": self.head_to_head_rounds,
        }


def load_dataset(options: BenchOptions, dsn: str) -> datasets.Dataset:
    spec, seed = options.dataset, options.seed
    if options.k < 1:
        raise UsageError(f"--k must be positive, got {options.k}")
    if not 0.0 < options.target <= 1.0:
        raise UsageError(f"--target-recall must be in (0, 1], got {options.target}")
    if spec.source is Source.synthetic:
        metric = options.metric or Metric.l2
        return datasets.synthetic(
            options.rows, options.dim, options.queries, seed=seed, metric=metric
        )
    if spec.source is Source.glove:
        return datasets.glove(
            options.rows, options.queries, seed=seed, metric=options.metric or Metric.cosine
        )
    if spec.source is Source.hdf5:
        assert spec.path is not None
        return hdf5.read(
            Path(spec.path), rows=options.rows, queries=options.queries, metric=options.metric
        )
    from pgtune_hx.bench.vector.table_sample import sample_table

    with connect(dsn, SAMPLE_GUARD) as conn:
        return sample_table(
            conn,
            spec,
            rows=options.rows,
            queries=options.queries,
            seed=seed,
            metric=options.metric or Metric.l2,
        )


def grid(options: BenchOptions, rows: int) -> list[IndexConfig]:
    return hnsw_grid(options.hnsw_m, options.hnsw_ef_construction) + ivfflat_grid(rows)


@dataclass
class Reporter:
    """The on_index hook: measurements on the best index of each type while
    it exists. Results land in evaluation.extras."""

    lab: Lab
    options: BenchOptions
    pgbench: Path
    best_by_kind: dict[str, Evaluation] = field(default_factory=dict)

    def __call__(self, evaluation: Evaluation, searcher: Searcher) -> None:
        chosen = evaluation.chosen
        table = self.lab.tables["items"]
        if chosen is None:
            return
        chosen = self.rebuild_check(evaluation, chosen, searcher)
        self.lab.progress.task(f"holdout check of {evaluation.config.label}")
        holdout = searcher.run(evaluation.config, chosen.value, table.holdout)
        evaluation.extras["holdout"] = holdout.to_dict()
        if self.options.curves:
            ladder = search_ladder(evaluation.config, self.lab.k)
            self.lab.progress.task(
                f"recall/QPS curve of {evaluation.config.label}", total=len(ladder)
            )
            for value in ladder:
                evaluation.curve.append(searcher.run(evaluation.config, value, table.tuning))
                self.lab.progress.advance()
        evaluation.extras["concurrency"] = self.concurrency(
            evaluation, chosen.value, chosen.qps, chosen.latency, searcher.table
        )
        if self.options.filtered:
            points = filtered_sweep(self.lab, evaluation, searcher, self.options.selectivities)
            evaluation.extras["filtered"] = [p.to_dict() for p in points]

    def rebuild_check_only(self, evaluation: Evaluation, searcher: Searcher) -> None:
        """The on_index hook of the second search in a comparison: only the
        rebuild check, so that both searches' choices are held to the same rule."""
        if evaluation.chosen is not None:
            self.rebuild_check(evaluation, evaluation.chosen, searcher)

    def rebuild_check(
        self, evaluation: Evaluation, chosen: SweepPoint, searcher: Searcher
    ) -> SweepPoint:
        """The chosen setting again, on the index as it exists now: usually a
        rebuild, and IVFFlat's k-means (and HNSW's random levels) differ from
        build to build, so a setting that just reached the target on the
        search's build can miss it on the next one, as it would on the user's.
        Walks up the ladder on this build until the tuning queries reach the
        target again; the recommendation is the higher setting."""
        config, table = evaluation.config, self.lab.tables["items"]
        self.lab.progress.task(f"rebuild check of {config.label}")
        warm_up(searcher, config, chosen.value, table.tuning)  # a fresh build starts cold
        again = searcher.run(config, chosen.value, table.tuning)
        check: dict[str, object] = {
            "value": chosen.value,
            "search_build_recall": chosen.recall.to_dict() if chosen.recall else None,
            "this_build_recall": again.recall.to_dict() if again.recall else None,
        }
        # still reaching: the choice stands, with the search's own measurement
        final = chosen if again.reaches(self.options.target) else None
        if final is None:
            ladder = search_ladder(config, self.lab.k)
            for value in ladder[ladder.index(chosen.value) + 1 :]:
                point = searcher.run(config, value, table.tuning)
                if point.reaches(self.options.target):
                    final = point
                    break
        check["raised_to"] = final.value if final and final.value != chosen.value else None
        check["reached"] = final is not None
        evaluation.extras["rebuild_check"] = check
        if final is None or final is chosen:
            return chosen
        # raised: measured warm on this build; the search may now prefer another
        # configuration of this type, which report_best then checks in turn
        evaluation.chosen = final
        return final

    def concurrency(
        self,
        evaluation: Evaluation,
        value: int,
        qps: float,
        latency: dict[str, float],
        table: str,
    ) -> list[dict[str, object]]:
        from pgtune_hx.bench.vector.sweep import SEARCH_PARAM

        out: list[dict[str, object]] = []
        scratch = self.lab.scratch
        text = script(
            scratch, self.lab.dataset.metric, self.lab.k, len(self.lab.dataset.queries), table
        )
        for clients in self.options.concurrency:
            if clients == 1:
                out.append(
                    {"clients": 1, "qps": qps, "latency": latency, "client": "psycopg prepared"}
                )
                continue
            self.lab.progress.task(f"pgbench, {clients} clients, {evaluation.config.label}")
            result = run_pgbench(
                self.pgbench,
                scratch.dsn,
                text,
                clients=clients,
                seconds=self.options.pgbench_seconds,
                settings={SEARCH_PARAM[evaluation.config.kind]: str(value)},
                search_path=f"{scratch.schema},{scratch.extension_schema}",
            )
            out.append({**result.to_dict(), "client": "pgbench -M prepared"})
        return out


def run_bench(
    target: BenchTarget, options: BenchOptions, pgbench: Path, progress: Progress | None = None
) -> dict[str, Any]:
    progress = progress or NoProgress()
    started = time.perf_counter()
    progress.task("preparing the dataset")
    dataset = load_dataset(options, target.dsn)
    with scratch_schema(target.dsn) as scratch, scratch.connect() as conn:
        lab = Lab(scratch, dataset, options.k, options.build, conn, options.seed, progress)
        lab.load()
        env = environment(conn)
        configs = grid(options, dataset.rows)
        reporter = Reporter(lab, options, pgbench)
        outcomes: dict[str, SearchOutcome] = {}
        if options.search in ("adaptive", "both"):
            outcomes["adaptive"] = adaptive_search(lab, configs, options.target, reporter)
        if options.search in ("exhaustive", "both"):
            # both searches' choices must hold on a second build: the same rule
            hook = reporter.rebuild_check_only if "adaptive" in outcomes else reporter
            outcomes["exhaustive"] = exhaustive_search(lab, configs, options.target, hook)
        main = outcomes.get("adaptive") or outcomes["exhaustive"]
        recommendation = recommend(lab, main, dataset)
        comparison = (
            compare(outcomes, lab, options.head_to_head_rounds) if len(outcomes) == 2 else None
        )
    points = [p for o in outcomes.values() for p in o.points()]
    return {
        "schema_version": 1,
        "kind": "pgtune_hx.bench.vector",
        "target": {"dsn": display_dsn(target.dsn), "embedded": target.is_embedded},
        "options": options.to_dict(),
        "dataset": dataset.describe(),
        "environment": env,
        "recommendation": recommendation,
        "searches": {name: o.to_dict() for name, o in outcomes.items()},
        "pareto": [p.to_dict() for p in pareto_front(points)],
        "comparison": comparison,
        "elapsed_seconds": time.perf_counter() - started,
    }


def recommend(lab: Lab, outcome: SearchOutcome, dataset: datasets.Dataset) -> dict[str, Any] | None:
    best = outcome.best
    if best is None or best.chosen is None:
        return None
    graph, kmeans_mb = None, None
    lab.progress.task(f"measuring the build memory of {best.config.label}")
    if best.config.kind == "hnsw":
        graph = measure_graph_memory(
            lab.conn, lab.scratch, best.config, dataset.metric, dataset.rows
        )
    else:
        full = full_table_config(best.config, dataset.rows, dataset.full_rows)
        kmeans_mb = measure_kmeans_memory(lab.conn, lab.scratch, full, dataset.metric)
    prediction = predict(best.build, dataset.full_rows, graph, kmeans_mb)
    chosen = best.chosen
    holdout = best.extras.get("holdout")
    return {
        "index": best.config.label,
        "config": best.config.to_dict(),
        "param": chosen.param,
        "value": chosen.value,
        "target_recall": outcome.target,
        "recall": chosen.recall.to_dict() if chosen.recall else None,
        "recall_by_distance": chosen.recall_by_distance.to_dict()
        if chosen.recall_by_distance
        else None,
        "holdout": holdout,
        "rebuild_check": best.extras.get("rebuild_check"),
        "qps": chosen.qps,
        "cost_ms": chosen.cost_ms,
        "cost_source": chosen.cost_source,
        "latency": chosen.latency,
        "build": best.build.to_dict(),
        "graph_memory": graph.to_dict() if graph else None,
        "kmeans_memory_mb": kmeans_mb,
        "full_table": prediction.to_dict(),
        "sql": sql_text(
            best.config,
            chosen.param,
            chosen.value,
            prediction.config,
            prediction.to_dict()["maintenance_work_mem"],
            dataset.metric,
        ),
    }


def sql_text(
    built: IndexConfig, param: str, value: int, full: IndexConfig, mwm: object, metric: Metric
) -> list[str]:
    """What to run on the real table, as text for people (never executed)."""
    options = ", ".join(f"{k} = {v}" for k, v in full.options().items())
    lines = [
        f"SET maintenance_work_mem = '{mwm}';",
        f"CREATE INDEX ON <table> USING {full.kind} (<column> {metric.opclass}) WITH ({options});",
    ]
    if full.kind == "ivfflat" and full.lists and built.lists and full.lists != built.lists:
        value = max(1, round(value * full.lists / built.lists))
    lines.append(f"SET {param} = {value};")
    return lines


def compare(outcomes: dict[str, SearchOutcome], lab: Lab, rounds: int = ROUNDS) -> dict[str, Any]:
    """How the adaptive choice compares with the exhaustive sweep's best of
    the same grid, chosen by the same rule: time ratio (every build and pass
    of each search), and QPS and cost ratios from a head-to-head measurement
    of the two choices in alternating passes (compare.py). The ratio from
    the exhaustive sweep's own single passes is kept beside it."""
    adaptive, exhaustive = outcomes["adaptive"], outcomes["exhaustive"]
    a, e = adaptive.best, exhaustive.best
    result: dict[str, Any] = {
        "adaptive_seconds": adaptive.seconds,
        "exhaustive_seconds": exhaustive.seconds,
        "time_ratio": adaptive.seconds / exhaustive.seconds if exhaustive.seconds else None,
        "adaptive_builds": len(adaptive.evaluations),
        "exhaustive_builds": len(exhaustive.evaluations),
        "adaptive_build_seconds": sum(ev.build.seconds for ev in adaptive.evaluations),
        "exhaustive_build_seconds": sum(ev.build.seconds for ev in exhaustive.evaluations),
    }
    if a is None or e is None or a.chosen is None or e.chosen is None:
        return {**result, "both_found": False}
    same = [p for p in exhaustive.points() if p.config == a.config and p.value == a.chosen.value]
    single = same[0] if same else None
    lab.progress.task("head to head: adaptive choice against the exhaustive best")
    duel = head_to_head(
        lab,
        Contender("adaptive", a.config, a.chosen.value),
        Contender("exhaustive", e.config, e.chosen.value),
        rounds,
    )
    return {
        **result,
        "both_found": True,
        "adaptive_choice": _choice(a),
        "exhaustive_best": _choice(e),
        "head_to_head": duel,
        "qps_ratio": duel["qps_ratio"],
        "cost_ratio": duel["cost_ratio"],
        "qps_ratio_single_pass": single.qps / e.chosen.qps if single else None,
        "adaptive_choice_reaches_in_exhaustive": bool(single and single.reaches(adaptive.target)),
    }


def _choice(ev: Evaluation) -> dict[str, Any]:
    assert ev.chosen is not None
    return {
        "index": ev.config.label,
        "value": ev.chosen.value,
        "qps": ev.chosen.qps,
        "cost_ms": ev.chosen.cost_ms,
        "cost_source": ev.chosen.cost_source,
        "recall": ev.chosen.recall.to_dict() if ev.chosen.recall else None,
    }
