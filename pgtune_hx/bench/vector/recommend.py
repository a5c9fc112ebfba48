"""Which index and search setting to use for a target recall.

A setting *reaches* the target when the lower end of the 95% Wilson interval
of recall@k on the tuning queries is at or above it. Among settings that
reach it, the *cheapest* is the one whose queries cost least: the server
backend's CPU time per query when the server is on this machine (robust to
other work on the host, comparable across index types), else the client's
mean latency (see SweepPoint.cost_ms). Client QPS is measured and reported
for every pass, but on a busy machine the same setting can measure at
several times the QPS of another pass, so it does not choose.

The adaptive search (adaptive.py, what the CLI runs) and the exhaustive
sweep (here) choose by the same rule; benchmarks/bench_vector.py runs both
and compares their choices head to head (compare.py).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pgtune_hx.bench.vector.build import BuildResult, IndexConfig
from pgtune_hx.bench.vector.lab import Lab
from pgtune_hx.bench.vector.sweep import QuerySet, Searcher, SweepPoint, search_ladder

EARLY_STOP_MIN_QUERIES = 200
WARMUP_QUERIES = 100

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

    @property
    def cost_ms(self) -> float:
        return self.chosen.cost_ms if self.chosen else math.inf

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
    run_at: Callable[[int, bool], SweepPoint],
    ladder: list[int],
    target: float,
    start: int = 0,
    bound: float | None = None,
) -> tuple[SweepPoint | None, list[SweepPoint]]:
    """The first ladder value whose pass reaches the target, assuming recall
    grows along the ladder, found by walking from index ``start``: down while
    the next lower value still reaches, else up until one does.
    ``run_at(value, quick)`` runs a pass; quick=True allows stopping on a
    quarter of the queries. Returns the point chosen (None if no value
    reaches) and every point run.

    Walking rather than bisecting: the cost of a pass doubles along the
    ladder, so a walk from a good hint runs one or two cheap passes more than
    needed, where bisection would start by probing the expensive middle."""
    points: list[SweepPoint] = []
    cache: dict[int, SweepPoint] = {}

    def ok(i: int) -> bool:
        if i not in cache:
            point = run_at(ladder[i], True)
            points.append(point)
            cache[i] = point
        return cache[i].reaches(target)

    i = min(max(start, 0), len(ladder) - 1)
    if ok(i):
        while i > 0 and ok(i - 1):
            i -= 1
        return cache[i], points
    while i < len(ladder) - 1:
        if bound is not None and cache[i].cost_ms > bound:
            break
        i += 1
        if ok(i):
            return cache[i], points
    return None, points


def hint_index(ladder: list[int], value: int | None) -> int:
    """Nearest ladder index to ``value`` (in ratio: the ladder doubles); with
    no hint, a third of the way up, where targets of 0.9-0.99 usually land.

    >>> hint_index([10, 20, 40, 80, 160, 320, 640, 1000], 50), hint_index([1, 2, 4, 8], None)
    (2, 1)
    """
    if value is None:
        return len(ladder) // 3
    return min(range(len(ladder)), key=lambda i: abs(math.log(ladder[i] / max(value, 1))))


def warm_up(searcher: Searcher, config: IndexConfig, value: int, queries: QuerySet) -> None:
    """One unmeasured pass so the index is in shared buffers (warm runs)."""
    searcher.run(config, value, queries.head(WARMUP_QUERIES), short_is_flag=False)


def probe(
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


def cheapest(evaluations: list[Evaluation]) -> Evaluation | None:
    """The evaluation whose chosen setting costs least per query; among
    costs within 2% (measurement noise), the one that built faster."""
    reaching = [e for e in evaluations if e.chosen is not None]
    if not reaching:
        return None
    low = min(e.cost_ms for e in reaching)
    close = [e for e in reaching if e.cost_ms <= low * 1.02]
    return min(close, key=lambda e: (e.build.seconds, e.cost_ms))


def scaled_hint(previous: Evaluation | None, config: IndexConfig) -> int | None:
    """The setting ``previous`` needed, carried over to ``config``: probes
    scale with the lists (the share of the table scanned stays the same)."""
    if previous is None or previous.chosen is None or previous.config.kind != config.kind:
        return None
    value = previous.chosen.value
    if config.kind == "ivfflat":
        assert config.lists is not None and previous.config.lists is not None
        return max(1, round(value * config.lists / previous.config.lists))
    return value


@dataclass
class SearchOutcome:
    method: str
    target: float
    seconds: float  # search time, without on_index work
    evaluations: list[Evaluation]
    # adaptive only: the runoffs between close candidates and the last winner
    runoffs: list[dict[str, Any]] = field(default_factory=list)
    winner: Evaluation | None = None

    @property
    def best(self) -> Evaluation | None:
        """The runoff's winner when there was a decision between candidates,
        else the cheapest by its own pass."""
        if self.winner is not None and self.winner.chosen is not None:
            return self.winner
        return cheapest(self.evaluations)

    def points(self) -> list[SweepPoint]:
        """Every pass on the full table (curves included)."""
        return [p for e in self.evaluations for p in [*e.points, *e.curve]]

    def to_dict(self) -> dict[str, object]:
        best = self.best
        return {
            "method": self.method,
            "target_recall": self.target,
            "search_seconds": self.seconds,
            "builds": len(self.evaluations),
            "passes": sum(len(e.points) for e in self.evaluations)
            + sum(int(r["passes"]) for r in self.runoffs),
            "best": best.to_dict() if best else None,
            "evaluations": [e.to_dict() for e in self.evaluations],
            "runoffs": self.runoffs,
        }


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
            warm_up(searcher, config, ladder[hint_index(ladder, None)], full.tuning)
            lab.progress.task(f"sweeping {config.label}", total=len(ladder))
            points = []
            for value in ladder:
                points.append(searcher.run(config, value, full.tuning))
                lab.progress.advance()
        reaching = [p for p in points if p.reaches(target)]
        chosen = min(reaching, key=lambda p: p.cost_ms) if reaching else None
        evaluations.append(Evaluation(config, full.rows, build, points, chosen))
    outcome = SearchOutcome("exhaustive", target, time.perf_counter() - started, evaluations)
    if on_index is not None:
        report_best(lab, outcome, on_index)
    return outcome


def best_by_kind(evaluations: list[Evaluation]) -> dict[str, Evaluation]:
    best: dict[str, Evaluation] = {}
    for kind in ("hnsw", "ivfflat"):
        ev = cheapest([e for e in evaluations if e.config.kind == kind])
        if ev is not None:
            best[kind] = ev
    return best


def report_best(
    lab: Lab, outcome: SearchOutcome, on_index: OnIndex, skip: set[str] | None = None
) -> None:
    """Rebuild the best index of each type and run the reporting hook on it
    (after the search, so its time is not search time). The hook may raise a
    setting that missed the target on the rebuild; when another configuration
    of that type then costs less, it is reported too, until the best stands."""
    reported: set[int] = set()
    while True:
        pending = [
            ev
            for kind, ev in best_by_kind(outcome.evaluations).items()
            if kind not in (skip or set()) and id(ev) not in reported
        ]
        if not pending:
            return
        for ev in pending:
            reported.add(id(ev))
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
