"""Recall, its confidence interval and latency percentiles: pure numpy."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

Z95 = 1.959963984540054
# distances closer than this (relative) to the k-th true distance count as ties
TIE_TOLERANCE = 1e-6


def recall_by_ids(found: list[list[int]], truth: npt.NDArray[np.int64], k: int) -> list[float]:
    """Per query: the share of the true k nearest ids among the ids found.

    >>> import numpy as np
    >>> recall_by_ids([[1, 2, 9]], np.array([[1, 2, 3]]), 3)
    [0.6666666666666666]
    """
    out = []
    for ids, true_ids in zip(found, truth, strict=True):
        wanted = set(int(i) for i in true_ids[:k])
        out.append(len(wanted.intersection(ids[:k])) / k)
    return out


def recall_by_distance(
    found_distances: list[npt.NDArray[np.float64]],
    truth_distances: npt.NDArray[np.float64],
    k: int,
) -> list[float]:
    """Per query: the share of results at least as near as the true k-th
    neighbour. Unlike recall by ids, a tie at the k-th distance is no miss.

    >>> import numpy as np
    >>> recall_by_distance([np.array([0.1, 0.5, 0.5])], np.array([[0.1, 0.2, 0.5]]), 3)
    [1.0]
    """
    out = []
    for dists, true in zip(found_distances, truth_distances, strict=True):
        limit = float(true[k - 1])
        limit += TIE_TOLERANCE * max(1.0, abs(limit))
        out.append(min(k, int(np.count_nonzero(np.asarray(dists)[:k] <= limit))) / k)
    return out


@dataclass(frozen=True)
class Interval:
    mean: float
    low: float
    high: float
    n: int

    def to_dict(self) -> dict[str, float | int]:
        return {"mean": self.mean, "low": self.low, "high": self.high, "n": self.n}


def wilson(values: list[float] | npt.NDArray[np.float64], z: float = Z95) -> Interval:
    """Wilson score interval for a mean of values in [0, 1], with n = len(values).

    Per-query recall is bounded in [0, 1], so its variance is at most
    mean * (1 - mean): the Bernoulli-based Wilson interval is conservative for
    it, and it stays sensible at a mean of 1.0 where a bootstrap collapses.

    >>> r = wilson([1.0] * 100)
    >>> (r.mean, round(r.low, 3), r.high)
    (1.0, 0.963, 1.0)
    """
    arr = np.asarray(values, dtype=np.float64)
    n = int(arr.size)
    if n == 0:
        return Interval(math.nan, 0.0, 1.0, 0)
    p = float(arr.mean())
    denom = 1.0 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(max(p * (1 - p), 0.0) / n + z * z / (4 * n * n)) / denom
    return Interval(p, max(0.0, centre - half), min(1.0, centre + half), n)


def percentiles_ms(samples_ns: list[int] | npt.NDArray[np.int64]) -> dict[str, float]:
    """p50/p95/p99 and mean in milliseconds.

    >>> percentiles_ms([1_000_000] * 10)["p99_ms"]
    1.0
    """
    arr = np.asarray(samples_ns, dtype=np.float64) / 1e6
    if arr.size == 0:
        return {"mean_ms": math.nan, "p50_ms": math.nan, "p95_ms": math.nan, "p99_ms": math.nan}
    p50, p95, p99 = np.percentile(arr, [50, 95, 99])
    return {
        "mean_ms": float(arr.mean()),
        "p50_ms": float(p50),
        "p95_ms": float(p95),
        "p99_ms": float(p99),
    }
