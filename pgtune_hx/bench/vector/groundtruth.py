"""Exact k nearest neighbours with numpy, in chunks of queries.

Each chunk scores all points with one float32 matrix product (fast), keeps a
margin of extra candidates, and re-ranks those candidates with exact float64
distances, so float32 rounding in the product cannot change the answer.
Memory stays near ``budget_bytes`` whatever the data size.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from pgtune_hx.bench.vector.metric import FloatArray, Metric, paired_distances

DEFAULT_BUDGET = 64 * 1024 * 1024


@dataclass(frozen=True)
class Neighbors:
    ids: npt.NDArray[np.int64]  # (queries, k): row positions in the data, nearest first
    distances: npt.NDArray[np.float64]  # (queries, k): pgvector's distance, ascending


def _scores(
    chunk: FloatArray, points: FloatArray, sq_norms: FloatArray, metric: Metric
) -> FloatArray:
    """Something that orders like the distance: smaller is nearer."""
    dots = chunk @ points.T
    if metric is Metric.l2:
        return sq_norms[None, :] - 2.0 * dots  # ||q||^2 is the same along a row
    if metric is Metric.ip:
        return -dots
    return -dots / sq_norms[None, :]  # points pre-normalised below: sq_norms holds norms


def exact_knn(
    queries: FloatArray,
    points: FloatArray,
    k: int,
    metric: Metric,
    *,
    budget_bytes: int = DEFAULT_BUDGET,
) -> Neighbors:
    """The true k nearest points of each query under pgvector's metric."""
    pts = np.ascontiguousarray(points, dtype=np.float32)
    qs = np.ascontiguousarray(queries, dtype=np.float32)
    n = len(pts)
    k = min(k, n)
    if metric is Metric.l2:
        aux = np.einsum("nd,nd->n", pts, pts)
    elif metric is Metric.cosine:
        aux = np.linalg.norm(pts, axis=1)
    else:
        aux = np.zeros(n, dtype=np.float32)
    margin = min(n, k + max(8, k))
    chunk_rows = max(1, budget_bytes // max(1, n * 4))
    ids = np.empty((len(qs), k), dtype=np.int64)
    dists = np.empty((len(qs), k), dtype=np.float64)
    for start in range(0, len(qs), chunk_rows):
        chunk = qs[start : start + chunk_rows]
        scores = _scores(chunk, pts, aux, metric)
        if margin < n:
            cand = np.argpartition(scores, margin - 1, axis=1)[:, :margin]
        else:
            cand = np.broadcast_to(np.arange(n), (len(chunk), n))
        exact = paired_distances(chunk, pts[cand], metric)
        # stable sort on (distance, id) so ties resolve the same way every run
        order = np.lexsort((cand, exact), axis=1)
        top = order[:, :k]
        ids[start : start + len(chunk)] = np.take_along_axis(cand, top, axis=1)
        dists[start : start + len(chunk)] = np.take_along_axis(exact, top, axis=1)
    return Neighbors(ids, dists)
