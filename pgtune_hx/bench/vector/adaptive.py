"""The adaptive search: the cheapest setting reaching a target recall without
the exhaustive grid (what `pgtune-hx bench vector` runs).

1. HNSW: one build at full size, of the richest graph in the grid (largest m,
   then largest ef_construction). A richer graph needs a smaller ef_search for
   the same recall; the choice ranks query cost, not build time. Measured at
   100,000 rows (docs/bench-vector.md): the richest graph was the exhaustive
   sweep's best on GloVe and within 4% of it on synthetic data, while a 1/8
   subset ranked small m first on both (a sparse graph loses recall as the
   table grows), so screening on a subset chose worse and cost more.
2. IVFFlat: every lists value at full size (a build is a k-means on a sample
   and one pass over the rows), probes walked from the setting the previous
   lists needed, scaled by the lists.
3. A walk up the ladder stops once a pass that misses the target already costs
   more than ``RUNOFF_MARGIN`` times the best so far: higher settings cost more.
4. A candidate reaching the target within ``RUNOFF_MARGIN`` of the best so far
   meets it in a runoff: both indexes exist at once (one on the table, one on
   its twin) and ``RUNOFF_ROUNDS`` alternating passes decide by the median of
   the paired cost ratios. Single passes minutes apart differ by 20% and more on
   a 2-core machine, more than the differences that decide the choice; passes
   side by side cancel the drift. The winner's index stays for the next runoff.

Everything counts as search time except ``on_index`` work (holdout checks,
concurrency, filters), which runs on the winner's index after the search.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import Any

from pgtune_hx.bench.vector.build import IndexConfig
from pgtune_hx.bench.vector.compare import alternate
from pgtune_hx.bench.vector.lab import Lab, Table
from pgtune_hx.bench.vector.recommend import (
    Evaluation,
    OnIndex,
    SearchOutcome,
    hint_index,
    probe,
    report_best,
    scaled_hint,
    smallest_reaching,
    warm_up,
)
from pgtune_hx.bench.vector.sweep import Searcher, SweepPoint, search_ladder

RUNOFF_MARGIN = 1.3
RUNOFF_ROUNDS = 3


@dataclass
class Live:
    """An evaluated index that still exists, with its searcher."""

    evaluation: Evaluation
    searcher: Searcher
    table: Table
    stack: ExitStack
    cost_ms: float = 0.0  # the best estimate so far: its pass, or its runoff median


def candidates(grid: list[IndexConfig]) -> list[IndexConfig]:
    """The richest HNSW graph of the grid, then every IVFFlat by lists."""
    hnsw = [c for c in grid if c.kind == "hnsw"]
    richest = [max(hnsw, key=lambda c: (c.m or 0, c.ef_construction or 0))] if hnsw else []
    return richest + sorted(c for c in grid if c.kind == "ivfflat")


def runoff_winner(paired_ratios: list[float]) -> str:
    """ "candidate" when its cost over the best's, paired by round, has a
    median below 1, else "best" (a tie keeps the incumbent).

    >>> runoff_winner([0.9, 1.2, 0.95]), runoff_winner([1.0, 0.8, 1.1])
    ('candidate', 'best')
    """
    return "candidate" if statistics.median(paired_ratios) < 1.0 else "best"


def adaptive_search(
    lab: Lab, grid: list[IndexConfig], target: float, on_index: OnIndex | None = None
) -> SearchOutcome:
    started = time.perf_counter()
    full = lab.tables["items"]
    configs = candidates(grid)
    tables = [full, lab.twin_table()] if len(configs) > 1 else [full]
    evaluations: list[Evaluation] = []
    runoffs: list[dict[str, Any]] = []
    best: Live | None = None
    with ExitStack() as cleanup:
        for config in configs:
            table = next(t for t in tables if best is None or t is not best.table)
            same_kind = [e for e in evaluations if e.config.kind == config.kind and e.chosen]
            hint = scaled_hint(same_kind[-1] if same_kind else None, config)
            bound = best.cost_ms * RUNOFF_MARGIN if best is not None else None
            live = cleanup.enter_context(_open(lab, config, table))
            _walk(lab, live, target, hint, bound)
            evaluations.append(live.evaluation)
            chosen = live.evaluation.chosen
            if chosen is None or (bound is not None and chosen.cost_ms > bound):
                live.stack.close()
                continue
            live.cost_ms = chosen.cost_ms
            if best is None:
                best = live
                continue
            duel = _runoff(lab, best, live)
            runoffs.append(duel)
            winner, loser = (live, best) if duel["winner"] == "candidate" else (best, live)
            loser.stack.close()
            best = winner
        seconds = time.perf_counter() - started
        outcome = SearchOutcome(
            "adaptive",
            target,
            seconds,
            evaluations,
            runoffs=runoffs,
            winner=best.evaluation if best else None,
        )
        if on_index is not None and best is not None:
            on_index(best.evaluation, best.searcher)
    if on_index is not None:
        # the best of the other type, for the report (rebuilt: not search time)
        report_best(lab, outcome, on_index, skip={best.evaluation.config.kind} if best else None)
    return outcome


@contextmanager
def _open(lab: Lab, config: IndexConfig, table: Table) -> Iterator[Live]:
    """Build ``config`` on ``table``; it is dropped when ``Live.stack`` closes,
    or at the latest when this context ends."""
    stack = ExitStack()
    build, searcher = stack.enter_context(lab.index(config, table))
    with stack:
        yield Live(Evaluation(config, table.rows, build), searcher, table, stack)


def _walk(lab: Lab, live: Live, target: float, hint_value: int | None, bound: float | None) -> None:
    """The cheapest ladder value of ``live``'s index reaching the target."""
    config, evaluation, queries = live.evaluation.config, live.evaluation, live.table.tuning
    ladder = search_ladder(config, lab.k)
    hint = hint_index(ladder, hint_value)
    warm_up(live.searcher, config, ladder[hint], queries)
    lab.progress.task(f"searching {config.label}", total=len(ladder))

    def run_at(value: int, quick: bool) -> SweepPoint:
        lab.progress.advance()
        return probe(live.searcher, config, value, queries, target, quick)

    chosen, points = smallest_reaching(run_at, ladder, target, hint, bound)
    evaluation.points, evaluation.chosen = points, chosen


def _runoff(lab: Lab, best: Live, candidate: Live) -> dict[str, Any]:
    """Alternating passes of the best so far and a close candidate."""
    sides = {"best": best, "candidate": candidate}
    assert best.evaluation.chosen is not None and candidate.evaluation.chosen is not None
    lab.progress.task(
        f"runoff: {candidate.evaluation.config.label} against {best.evaluation.config.label}",
        total=RUNOFF_ROUNDS,
    )
    passes = alternate(
        [
            (name, live.searcher, live.evaluation.config, live.evaluation.chosen.value)
            for name, live in sides.items()
            if live.evaluation.chosen is not None
        ],
        best.table.tuning,
        RUNOFF_ROUNDS,
        lab.progress.advance,
    )
    ratios = [
        c.cost_ms / b.cost_ms
        for b, c in zip(passes["best"], passes["candidate"], strict=True)
        if b.cost_ms > 0
    ]
    winner = runoff_winner(ratios)
    for name, live in sides.items():
        live.cost_ms = statistics.median(p.cost_ms for p in passes[name])
    return {
        "best": _side(best, passes["best"]),
        "candidate": _side(candidate, passes["candidate"]),
        "rounds": RUNOFF_ROUNDS,
        "passes": sum(len(p) for p in passes.values()),
        "paired_cost_ratios": ratios,
        "median_cost_ratio": statistics.median(ratios),
        "winner": winner,
    }


def _side(live: Live, passes: list[SweepPoint]) -> dict[str, Any]:
    chosen = live.evaluation.chosen
    assert chosen is not None
    return {
        "index": live.evaluation.config.label,
        "value": chosen.value,
        "search_cost_ms": chosen.cost_ms,
        "cost_ms": [p.cost_ms for p in passes],
        "median_cost_ms": statistics.median(p.cost_ms for p in passes),
    }
