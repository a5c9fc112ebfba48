"""The search logic without a server: binary search along the ladder,
finalists, screening size and the Pareto frontier."""

from __future__ import annotations

import numpy as np
import pytest

from pgtune_hx.bench.vector.build import BuildResult, IndexConfig
from pgtune_hx.bench.vector.plan import PlanCheck
from pgtune_hx.bench.vector.recommend import (
    Evaluation,
    finalists,
    pareto_front,
    screening_rows,
    smallest_reaching,
)
from pgtune_hx.bench.vector.stats import wilson
from pgtune_hx.bench.vector.sweep import SweepPoint

HNSW = IndexConfig("hnsw", m=16, ef_construction=64)


def point(value: int, recall: float, qps: float, config: IndexConfig = HNSW) -> SweepPoint:
    per_query = [recall] * 1000
    return SweepPoint(
        config=config,
        param="hnsw.ef_search",
        value=value,
        query_set="tuning",
        queries=1000,
        plan=PlanCheck(True, ("Limit", "Index Scan")),
        short_results=0,
        recall=wilson(per_query),
        recall_by_distance=wilson(per_query),
        observed_recall=recall,
        latency={},
        qps=qps,
        round_trip_ms=0.1,
    )


LADDER = [10, 20, 40, 80, 160, 320, 640, 1000]


@pytest.mark.parametrize("hint", range(len(LADDER)))
@pytest.mark.parametrize("threshold", [10, 40, 160, 1000, 2000])
def test_binary_search_finds_the_first_value_reaching_the_target(hint: int, threshold: int) -> None:
    calls: list[int] = []

    def run_at(value: int, quick: bool) -> SweepPoint:
        calls.append(value)
        return point(value, 0.99 if value >= threshold else 0.5, 1000 / value)

    chosen, points = smallest_reaching(run_at, LADDER, 0.95, hint)
    if threshold > LADDER[-1]:
        assert chosen is None
    else:
        assert chosen is not None and chosen.value == threshold
    assert len(calls) == len(set(calls)) <= 4  # log2(8) + 1 at most, never twice the same
    assert len(points) == len(calls)


def _ev(
    config: IndexConfig, qps: float | None, build_s: float = 1.0
) -> tuple[IndexConfig, Evaluation]:
    build = BuildResult(config, 100, build_s, 1, "64MB", 0)
    chosen = point(40, 0.99, qps, config) if qps is not None else None
    points = [chosen] if chosen else [point(1000, 0.5, 1.0, config)]
    return config, Evaluation(config, 100, build, points, chosen)


def test_finalists_are_the_cheapest_build_close_to_each_types_best() -> None:
    a, b, c = (IndexConfig("hnsw", m=m, ef_construction=64) for m in (8, 16, 32))
    i1, i2 = IndexConfig("ivfflat", lists=10), IndexConfig("ivfflat", lists=20)
    results = [_ev(a, 1000, 9.0), _ev(b, 950, 3.0), _ev(c, 500, 1.0), _ev(i1, None), _ev(i2, 300)]
    # b is within 10% of a's QPS and builds 3x faster; c is fast to build but slow to query
    assert finalists(results) == [b, i2]
    assert finalists([_ev(a, 1000, 9.0), _ev(b, 800, 3.0)]) == [a]
    # nothing of a type reached the target: its best recall still gets a full-size try
    assert finalists([_ev(i1, None)]) == [i1]


def test_screening_only_when_it_saves_work() -> None:
    assert screening_rows(100_000) == 12_500
    assert screening_rows(400_000) == 50_000
    assert screening_rows(9_999) is None


def test_pareto_front_drops_dominated_and_invalid_points() -> None:
    good_fast, good_slow, bad_fast = (
        point(10, 0.9, 2000),
        point(20, 0.99, 800),
        point(30, 0.8, 1500),
    )
    dominated = point(40, 0.85, 700)
    invalid = point(50, 0.999, 5000)
    invalid.recall = None
    front = pareto_front([good_fast, good_slow, bad_fast, dominated, invalid])
    assert [p.value for p in front] == [10, 20]
    assert np.all(np.diff([p.qps for p in front]) < 0)
