"""Which index and search setting to use for a target recall.

"Cheapest" means the highest single-client QPS among settings whose recall
reaches the target with confidence: the lower end of the 95% Wilson interval
of recall@k on the tuning queries must be at or above the target.

Adaptive search (what the CLI runs), instead of an exhaustive grid:

1. Screening, when the table is large enough: every build configuration is
   built on a random subset (1/8 of the rows, at least 5,000), a cost of
   about one full-size build in all. IVFFlat lists scale with the subset.
2. For each configuration the smallest search setting on the ladder that
   reaches the target is found by binary search (recall grows with
   ef_search and probes), starting from a hint; a probe whose first quarter
   of queries already cannot reach the target stops early.
3. Only one configuration per index type is built at full size: of those
   within 10% of the type's best screening QPS, the fastest to build. It is
   searched the same way, starting from the setting screening found.

The exhaustive search builds every configuration at full size and runs every
setting of the ladder; benchmarks/bench_vector.py runs both and records how
close the adaptive choice comes and how much time it saves.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from pgtune_hx.bench.vector.build import BuildResult, IndexConfig
from pgtune_hx.bench.vector.lab import Lab, Table
from pgtune_hx.bench.vector.sweep import QuerySet, Searcher, SweepPoint, search_ladder

SCREEN_FRACTION = 8
SCREEN_MIN_ROWS = 5000
FINALIST_MARGIN = 0.10
EARLY_STOP_MIN_QUERIES = 200
WARMUP_QUERIES = 200

# Called while an index exists (for holdout checks, concurrency, filters):
# its time is not counted as search time.
OnIndex = Callable[["Evaluation", Searcher], None]


@dataclass
class Evaluation:
    config: IndexConfig
    table_rows: int
    build: BuildResult
    points: list[SweepPoint] = field(default_factory=list)
    chosen: SweepPoint | None = None
    curve: list[SweepPoint] = field(default_factory=list)
    extras: dict[str, object] = field(default_factory=dict)

    @property
    def qps(self) -> float:
        return self.chosen.qps if self.chosen else 0.0

    def to_dict(self) -> dict[str, object]:
        return {
            "index": self.config.label,
            "config": self.config.to_dict(),
            "rows": self.table_rows,
            "build": self.build.to_dict(),
            "chosen": self.chosen.to_dict() if self.chosen else None,
            "passes": len(self.points),
            "points": [p.to_dict() for p in self.points],
            "curve": [p.to_dict() for p in self.curve],
            **self.extras,
        }


def smallest_reaching(
    run_at: Callable[[int, bool], SweepPoint], ladder: list[int], target: float, hint: int = 0
) -> tuple[SweepPoint | None, list[SweepPoint]]:
    """Binary search for the first ladder value whose point reaches the
    target, assuming recall grows along the ladder. ``run_at(value, quick)``
    runs a pass; quick=True allows stopping on a quarter of the queries.
    Returns the point chosen (None if no value reaches) and all points run."""
    points: list[SweepPoint] = []
    cache: dict[int, SweepPoint] = {}

    def ok(i: int) -> bool:
        if i not in cache:
            point = run_at(ladder[i], True)
            points.append(point)
            cache[i] = point
        return cache[i].reaches(target)

    lo, hi = 0, len(ladder) - 1
    found: int | None = None
    probe = min(max(hint, lo), hi)
    while lo <= hi:
        if ok(probe):
            found, hi = probe, probe - 1
        else:
            lo = probe + 1
        probe = (lo + hi) // 2
    return (cache[found] if found is not None else None), points


def evaluate(
    lab: Lab,
    config: IndexConfig,
    table: Table,
    target: float,
    *,
    hint_value: int | None = None,
    on_index: OnIndex | None = None,
) -> tuple[Evaluation, float]:
    """Build ``config`` on ``table`` and find its cheapest setting reaching the
    target. Returns the evaluation and the seconds spent in ``on_index``."""
    ladder = search_ladder(config, lab.k)
    hint = _hint_index(ladder, hint_value)
    with lab.index(config, table) as (build, searcher):
        _warm_up(searcher, config, ladder, table.tuning)
        lab.progress.task(f"searching {config.label}", total=len(ladder))

        def run_at(value: int, quick: bool) -> SweepPoint:
            lab.progress.advance()
            return _probe(searcher, config, value, table.tuning, target, quick)

        chosen, points = smallest_reaching(run_at, ladder, target, hint)
        evaluation = Evaluation(config, table.rows, build, points, chosen)
        spent = 0.0
        if on_index is not None:
            started = time.perf_counter()
            on_index(evaluation, searcher)
            spent = time.perf_counter() - started
    return evaluation, spent


def _hint_index(ladder: list[int], value: int | None) -> int:
    if value is None:
        return len(ladder) // 2
    return min(range(len(ladder)), key=lambda i: abs(ladder[i] - value))


def _warm_up(searcher: Searcher, config: IndexConfig, ladder: list[int], queries: QuerySet) -> None:
    """One unmeasured pass so the index is in shared buffers (warm runs)."""
    searcher.run(
        config, ladder[len(ladder) // 2], queries.head(WARMUP_QUERIES), short_is_flag=False
    )


def _probe(
    searcher: Searcher,
    config: IndexConfig,
    value: int,
    queries: QuerySet,
    target: float,
    quick: bool,
) -> SweepPoint:
    if quick and len(queries) >= EARLY_STOP_MIN_QUERIES:
        first = searcher.run(config, value, queries.head(len(queries) // 4))
        if first.recall is None or first.recall.high < target:
            return first  # cannot reach the target: the rest would not change that
    return searcher.run(config, value, queries)


def screening_rows(rows: int) -> int | None:
    """Rows of the screening subset, or None when screening would not save
    anything (the table is small).

    >>> screening_rows(100_000), screening_rows(8_000)
    (12500, None)
    """
    subset = max(SCREEN_MIN_ROWS, rows // SCREEN_FRACTION)
    return subset if subset * 2 <= rows else None


def scaled(config: IndexConfig, rows: int, full_rows: int) -> IndexConfig:
    """IVFFlat lists for a subset keep the rows per list of the full table."""
    if config.kind != "ivfflat" or rows == full_rows:
        return config
    assert config.lists is not None
    return IndexConfig("ivfflat", lists=max(2, round(config.lists * rows / full_rows)))


def finalists(
    results: list[tuple[IndexConfig, Evaluation]], margin: float = FINALIST_MARGIN
) -> list[IndexConfig]:
    """One configuration per index type: among those whose screening QPS is
    within ``margin`` of the type's best, the one that built fastest (QPS
    that close is within measurement noise; build time is not). A type where
    nothing reached the target sends its best-recall configuration, so the
    full table gets a chance."""
    picked: list[IndexConfig] = []
    for kind in ("hnsw", "ivfflat"):
        mine = [(cfg, ev) for cfg, ev in results if cfg.kind == kind]
        if not mine:
            continue
        reaching = [(cfg, ev) for cfg, ev in mine if ev.chosen is not None]
        if not reaching:
            best = max(
                mine,
                key=lambda item: max((p.observed_recall for p in item[1].points), default=0.0),
            )
            picked.append(best[0])
            continue
        top = max(ev.qps for _, ev in reaching)
        close = [(cfg, ev) for cfg, ev in reaching if ev.qps >= top * (1 - margin)]
        picked.append(min(close, key=lambda item: (item[1].build.seconds, -item[1].qps))[0])
    return picked


@dataclass
class SearchOutcome:
    method: str
    target: float
    seconds: float  # search time, without on_index work
    evaluations: list[Evaluation]
    screening: list[Evaluation] = field(default_factory=list)
    screening_rows: int | None = None

    @property
    def best(self) -> Evaluation | None:
        reaching = [e for e in self.evaluations if e.chosen is not None]
        return max(reaching, key=lambda e: e.qps) if reaching else None

    def points(self) -> list[SweepPoint]:
        """Every pass on the full table (curves included), not screening."""
        return [p for e in self.evaluations for p in [*e.points, *e.curve]]

    def to_dict(self) -> dict[str, object]:
        best = self.best
        return {
            "method": self.method,
            "target_recall": self.target,
            "search_seconds": self.seconds,
            "builds": len(self.evaluations) + len(self.screening),
            "passes": sum(len(e.points) for e in [*self.evaluations, *self.screening]),
            "screening_rows": self.screening_rows,
            "best": best.to_dict() if best else None,
            "evaluations": [e.to_dict() for e in self.evaluations],
            "screening": [e.to_dict() for e in self.screening],
        }


def adaptive_search(
    lab: Lab, grid: list[IndexConfig], target: float, on_index: OnIndex | None = None
) -> SearchOutcome:
    started = time.perf_counter()
    excluded = 0.0
    full = lab.tables["items"]
    subset = screening_rows(full.rows)
    screening: list[Evaluation] = []
    hints: dict[IndexConfig, int | None] = {}
    chosen_configs = grid
    if subset is not None:
        table = lab.subset_table(subset, len(full.tuning))
        results = []
        for config in grid:
            ev, _ = evaluate(lab, scaled(config, subset, full.rows), table, target)
            screening.append(ev)
            results.append((config, ev))
            if ev.chosen is not None:
                # probes scale back up with the lists; ef_search carries over
                factor = full.rows / subset if config.kind == "ivfflat" else 1.0
                hints[config] = round(ev.chosen.value * factor)
        chosen_configs = finalists(results)
    evaluations = []
    for config in chosen_configs:
        # the only finalist of its type is that type's best: report on it now
        hook = on_index if _alone(config, chosen_configs) else None
        ev, spent = evaluate(lab, config, full, target, hint_value=hints.get(config), on_index=hook)
        excluded += spent
        evaluations.append(ev)
    seconds = time.perf_counter() - started - excluded
    outcome = SearchOutcome("adaptive", target, seconds, evaluations, screening, subset)
    if on_index is not None:
        done = {c.kind for c in chosen_configs if _alone(c, chosen_configs)}
        report_best(lab, outcome, on_index, skip=done)
    return outcome


def _alone(config: IndexConfig, configs: list[IndexConfig]) -> bool:
    return sum(1 for c in configs if c.kind == config.kind) == 1


def exhaustive_search(
    lab: Lab, grid: list[IndexConfig], target: float, on_index: OnIndex | None = None
) -> SearchOutcome:
    """Every configuration at full size, every setting of the ladder."""
    started = time.perf_counter()
    full = lab.tables["items"]
    evaluations = []
    for config in grid:
        ladder = search_ladder(config, lab.k)
        with lab.index(config, full) as (build, searcher):
            _warm_up(searcher, config, ladder, full.tuning)
            lab.progress.task(f"sweeping {config.label}", total=len(ladder))
            points = []
            for value in ladder:
                points.append(searcher.run(config, value, full.tuning))
                lab.progress.advance()
        reaching = [p for p in points if p.reaches(target)]
        chosen = max(reaching, key=lambda p: p.qps) if reaching else None
        evaluations.append(Evaluation(config, full.rows, build, points, chosen))
    outcome = SearchOutcome("exhaustive", target, time.perf_counter() - started, evaluations)
    if on_index is not None:
        report_best(lab, outcome, on_index)
    return outcome


def best_by_kind(evaluations: list[Evaluation]) -> dict[str, Evaluation]:
    best: dict[str, Evaluation] = {}
    for ev in evaluations:
        if ev.chosen is not None and (
            ev.config.kind not in best or ev.qps > best[ev.config.kind].qps
        ):
            best[ev.config.kind] = ev
    return best


def report_best(
    lab: Lab, outcome: SearchOutcome, on_index: OnIndex, skip: set[str] | None = None
) -> None:
    """Rebuild the best index of each type and run the reporting hook on it
    (after the search, so its time is not search time)."""
    for kind, ev in best_by_kind(outcome.evaluations).items():
        if kind in (skip or set()):
            continue
        with lab.index(ev.config, lab.tables["items"]) as (_, searcher):
            on_index(ev, searcher)


def pareto_front(points: list[SweepPoint]) -> list[SweepPoint]:
    """Valid points no other point beats on both recall and QPS, by recall."""
    valid = [p for p in points if p.recall is not None]
    front = []
    for p in valid:
        assert p.recall is not None
        dominated = any(
            q.recall is not None
            and q.recall.mean >= p.recall.mean
            and q.qps >= p.qps
            and (q.recall.mean > p.recall.mean or q.qps > p.qps)
            for q in valid
        )
        if not dominated:
            front.append(p)
    return sorted(front, key=lambda p: p.recall.mean if p.recall else 0.0)
