"""Recall by ids and by distance, the Wilson interval, the search ladder."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from pgtune_hx.bench.vector.build import IndexConfig, ivfflat_lists
from pgtune_hx.bench.vector.stats import recall_by_distance, recall_by_ids, wilson
from pgtune_hx.bench.vector.sweep import search_ladder


def test_recall_by_ids_counts_true_neighbours_found() -> None:
    truth = np.array([[1, 2, 3, 4], [5, 6, 7, 8]])
    assert recall_by_ids([[4, 3, 2, 1], [5, 9, 10, 11]], truth, 4) == [1.0, 0.25]
    # a short result counts its missing rows as misses
    assert recall_by_ids([[1], []], truth, 4) == [0.25, 0.0]


def test_recall_by_distance_forgives_ties_at_the_kth_distance() -> None:
    truth_d = np.array([[0.1, 0.2, 0.3]])
    # id order differs from the truth's, but 0.3 ties with the third neighbour
    assert recall_by_distance([np.array([0.1, 0.2, 0.3])], truth_d, 3) == [1.0]
    assert recall_by_distance([np.array([0.1, 0.2, 0.31])], truth_d, 3) == [2 / 3]


@given(st.lists(st.floats(0, 1), min_size=1, max_size=300))
def test_wilson_interval_holds_the_mean_within_zero_and_one(values: list[float]) -> None:
    ci = wilson(values)
    assert 0.0 <= ci.low <= ci.mean + 1e-12
    assert ci.mean - 1e-12 <= ci.high <= 1.0
    assert ci.n == len(values)


def test_wilson_narrows_with_more_queries() -> None:
    small, large = wilson([0.9] * 50), wilson([0.9] * 5000)
    assert large.high - large.low < (small.high - small.low) / 5


def test_ladders_and_lists() -> None:
    assert search_ladder(IndexConfig("hnsw", m=16, ef_construction=64), 100) == [
        100, 200, 400, 800, 1000,
    ]  # fmt: skip
    assert search_ladder(IndexConfig("ivfflat", lists=3), 10) == [1, 2, 3]
    assert ivfflat_lists(1_000_000) == [500, 1000, 2000]
