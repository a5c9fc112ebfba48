"""The search logic without a server: the walk along the ladder (and where a
cost bound stops it), the cheapest choice, the adaptive search's candidates
and runoff rule, hints, the head-to-head summary and the Pareto frontier."""

from __future__ import annotations

import numpy as np
import pytest

from pgtune_hx.bench.vector.adaptive import candidates, runoff_winner
from pgtune_hx.bench.vector.build import BuildResult, IndexConfig
from pgtune_hx.bench.vector.compare import Contender, summarize
from pgtune_hx.bench.vector.plan import PlanCheck
from pgtune_hx.bench.vector.recommend import (
    Evaluation,
    cheapest,
    pareto_front,
    scaled_hint,
    smallest_reaching,
)
from pgtune_hx.bench.vector.stats import wilson
from pgtune_hx.bench.vector.sweep import SweepPoint

HNSW = IndexConfig("hnsw", m=16, ef_construction=64)


def point(
    value: int,
    recall: float,
    qps: float,
    config: IndexConfig = HNSW,
    server_ms: float | None = None,
) -> SweepPoint:
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
        qps=qps,
        round_trip_ms=0.1,
        latency={"mean_ms": 1000 / qps} if qps else {},
        server_ms=server_ms,
    )


LADDER = [10, 20, 40, 80, 160, 320, 640, 1000]


@pytest.mark.parametrize("start", range(len(LADDER)))
@pytest.mark.parametrize("threshold", [10, 40, 160, 1000, 2000])
def test_walk_finds_the_first_value_reaching_the_target(start: int, threshold: int) -> None:
    calls: list[int] = []

    def run_at(value: int, quick: bool) -> SweepPoint:
        calls.append(value)
        assert quick  # every search pass may stop early
        return point(value, 0.99 if value >= threshold else 0.5, 1000 / value)

    chosen, points = smallest_reaching(run_at, LADDER, 0.95, start)
    if threshold > LADDER[-1]:
        assert chosen is None
        assert calls == LADDER[start:]  # up to the top, then give up
    else:
        assert chosen is not None and chosen.value == threshold
        answer = LADDER.index(threshold)
        # one pass per step between the start and the answer, plus the one
        # below the answer that proves it is the first
        assert len(calls) == abs(answer - start) + 1 + (1 if start >= answer > 0 else 0)
    assert len(calls) == len(set(calls))  # never the same value twice
    assert len(points) == len(calls)


def test_walk_up_stops_when_a_miss_already_costs_more_than_the_bound() -> None:
    calls: list[int] = []

    def run_at(value: int, quick: bool) -> SweepPoint:
        calls.append(value)
        # cost grows with the value; only 320 and above reach the target
        return point(value, 0.99 if value >= 320 else 0.5, 100.0, server_ms=value / 10)

    chosen, _ = smallest_reaching(run_at, LADDER, 0.95, start=1, bound=5.0)
    assert chosen is None and calls == [20, 40, 80]  # 80 misses at 8 ms > 5 ms: stop
    calls.clear()
    chosen, _ = smallest_reaching(run_at, LADDER, 0.95, start=1, bound=50.0)
    assert chosen is not None and chosen.value == 320 and calls == [20, 40, 80, 160, 320]


def _ev(
    config: IndexConfig,
    cost: float | None,
    build_s: float = 1.0,
    value: int = 40,
    qps: float = 100.0,
) -> Evaluation:
    build = BuildResult(config, 100, build_s, 1, "64MB", 0)
    chosen = point(value, 0.99, qps, config, server_ms=cost) if cost is not None else None
    points = [chosen] if chosen else [point(1000, 0.5, 1.0, config)]
    return Evaluation(config, 100, build, points, chosen)


def test_cheapest_is_least_server_cost_not_noisy_qps() -> None:
    a, b, c = (IndexConfig("hnsw", m=m, ef_construction=64) for m in (8, 16, 32))
    # a measured the highest QPS in its one pass, but costs the server most
    evs = [_ev(a, 2.0, qps=900), _ev(b, 1.0, 9.0, qps=300), _ev(c, 1.01, 3.0, qps=200)]
    best = cheapest(evs)
    # b and c cost the same within 2% (one CPU tick): the faster build wins
    assert best is not None and best.config == c
    assert cheapest([_ev(a, 2.0), _ev(b, 1.5, 9.0)]) is not None
    assert cheapest([_ev(a, 2.0), _ev(b, 1.5, 9.0)]).config == b  # type: ignore[union-attr]
    assert cheapest([_ev(a, None)]) is None
    # without server CPU time the client's mean latency is the cost
    slow, fast = _ev(a, None), _ev(b, None)
    slow.chosen, fast.chosen = point(40, 0.99, 100, a), point(40, 0.99, 400, b)
    assert cheapest([slow, fast]) is fast and fast.chosen.cost_source == "client_latency"


def test_hints_carry_over_and_scale_with_lists() -> None:
    i100, i400 = IndexConfig("ivfflat", lists=100), IndexConfig("ivfflat", lists=400)
    assert scaled_hint(_ev(i100, 1.0, value=8), i400) == 32
    assert scaled_hint(_ev(i400, 1.0, value=3), i100) == 1  # never below one probe
    assert scaled_hint(_ev(HNSW, 1.0, value=80), IndexConfig("hnsw", m=8, ef_construction=32)) == 80
    assert scaled_hint(_ev(HNSW, 1.0, value=80), i100) is None  # another index type
    assert scaled_hint(_ev(i100, None), i400) is None  # nothing reached
    assert scaled_hint(None, i400) is None


def test_head_to_head_summary_pairs_rounds() -> None:
    ivf = IndexConfig("ivfflat", lists=100)
    a, b = Contender("adaptive", HNSW, 40), Contender("exhaustive", ivf, 8)
    # the machine slows down over the rounds; a is 10% slower within each round
    b_passes = [point(8, 0.99, q, ivf, server_ms=1.0) for q in (1000, 500, 800, 250, 900)]
    a_passes = [point(40, 0.98, p.qps * 0.9, server_ms=1.25) for p in b_passes]
    out = summarize(a, b, a_passes, b_passes)
    assert out["qps_ratio"] == pytest.approx(0.9)  # drift cancels in the pairs
    assert out["cost_ratio"] == pytest.approx(0.8)
    assert out["cost_source"] == "server_cpu" and not out["same_choice"]
    assert out["adaptive"]["median_qps"] == pytest.approx(720)
    assert out["exhaustive"]["index"] == "ivfflat(lists=100)"
    same = summarize(a, Contender("exhaustive", HNSW, 40), a_passes, a_passes)
    assert same["same_choice"] and same["qps_ratio"] == 1.0 and same["cost_ratio"] == 1.0


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


def test_adaptive_candidates_are_the_richest_graph_and_every_ivfflat() -> None:
    grid = [
        IndexConfig("ivfflat", lists=316),
        IndexConfig("hnsw", m=8, ef_construction=128),
        IndexConfig("hnsw", m=32, ef_construction=64),
        IndexConfig("hnsw", m=32, ef_construction=128),
        IndexConfig("hnsw", m=16, ef_construction=128),
        IndexConfig("ivfflat", lists=100),
    ]
    assert candidates(grid) == [
        IndexConfig("hnsw", m=32, ef_construction=128),
        IndexConfig("ivfflat", lists=100),
        IndexConfig("ivfflat", lists=316),
    ]
    only_ivf = [IndexConfig("ivfflat", lists=50)]
    assert candidates(only_ivf) == only_ivf


def test_runoff_decides_on_the_median_paired_ratio() -> None:
    # one lucky round does not carry the candidate
    assert runoff_winner([0.5, 1.1, 1.2]) == "best"
    assert runoff_winner([0.97, 0.99, 1.4]) == "candidate"
    assert runoff_winner([1.0, 1.0, 1.0]) == "best"  # a tie keeps the incumbent
