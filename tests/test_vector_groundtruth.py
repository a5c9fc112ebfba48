"""Exact k-NN in chunks against a plain brute force, for each metric."""

from __future__ import annotations

import numpy as np
import pytest

from pgtune_hx.bench.vector.datasets import synthetic
from pgtune_hx.bench.vector.groundtruth import exact_knn
from pgtune_hx.bench.vector.metric import Metric, distances


def brute_force(queries: np.ndarray, points: np.ndarray, k: int, metric: Metric) -> np.ndarray:
    out = []
    for q in queries.astype(np.float64):
        p = points.astype(np.float64)
        if metric is Metric.l2:
            d = np.sqrt(((p - q) ** 2).sum(axis=1))
        elif metric is Metric.ip:
            d = -(p @ q)
        else:
            d = 1 - (p @ q) / (np.linalg.norm(p, axis=1) * np.linalg.norm(q))
        out.append(np.argsort(d, kind="stable")[:k])
    return np.array(out)


@pytest.mark.parametrize("metric", list(Metric))
def test_chunked_knn_equals_brute_force(metric: Metric) -> None:
    rng = np.random.default_rng(7)
    points = rng.normal(size=(1500, 24)).astype(np.float32)
    queries = rng.normal(size=(37, 24)).astype(np.float32)
    # a budget this small forces one query per chunk
    truth = exact_knn(queries, points, 10, metric, budget_bytes=1)
    expected = brute_force(queries, points, 10, metric)
    assert truth.ids.shape == (37, 10)
    np.testing.assert_array_equal(truth.ids, expected)
    np.testing.assert_allclose(
        truth.distances, np.take_along_axis(distances(queries, points, metric), expected, axis=1)
    )
    assert np.all(np.diff(truth.distances, axis=1) >= 0)


def test_k_larger_than_data_returns_every_point() -> None:
    points = np.eye(4, dtype=np.float32)
    truth = exact_knn(points[:1], points, 10, Metric.l2)
    assert truth.ids.shape == (1, 4)
    assert truth.ids[0, 0] == 0 and truth.distances[0, 0] == 0.0


def test_synthetic_is_reproducible_from_the_seed() -> None:
    a = synthetic(500, 16, 20, seed=3, metric=Metric.l2)
    b = synthetic(500, 16, 20, seed=3, metric=Metric.l2)
    c = synthetic(500, 16, 20, seed=4, metric=Metric.l2)
    np.testing.assert_array_equal(a.train, b.train)
    np.testing.assert_array_equal(a.holdout, b.holdout)
    assert not np.array_equal(a.train, c.train)
    assert (
        a.train.shape == (500, 16) and a.queries.shape == (20, 16) and a.holdout.shape == (20, 16)
    )
    assert a.train.dtype == np.float32
