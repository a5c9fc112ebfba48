"""Distance metrics as pgvector names them, and the same distances in numpy.

pgvector orders by a distance where smaller is nearer: ``<->`` is L2,
``<=>`` is cosine distance (1 - cosine similarity) and ``<#>`` is the
*negative* inner product. Ground truth uses exactly these conventions so ids
and distances compare one to one.
"""

from __future__ import annotations

from enum import StrEnum

import numpy as np
import numpy.typing as npt

from pgtune_hx.errors import UsageError

FloatArray = npt.NDArray[np.floating]


class Metric(StrEnum):
    l2 = "l2"
    cosine = "cosine"
    ip = "ip"

    @property
    def operator(self) -> str:
        return {"l2": "<->", "cosine": "<=>", "ip": "<#>"}[self.value]

    @property
    def opclass(self) -> str:
        return {"l2": "vector_l2_ops", "cosine": "vector_cosine_ops", "ip": "vector_ip_ops"}[
            self.value
        ]

    @classmethod
    def parse(cls, text: str) -> Metric:
        try:
            return cls(text.strip().lower())
        except ValueError:
            raise UsageError(f"unknown metric {text!r}: expected l2, cosine or ip") from None


def distances(queries: FloatArray, points: FloatArray, metric: Metric) -> npt.NDArray[np.float64]:
    """Exact pgvector distances in float64 from every query to every point,
    shape (len(queries), len(points)). For small inputs: it broadcasts.

    >>> import numpy as np
    >>> distances(np.array([[3.0, 4.0]]), np.array([[0.0, 0.0]]), Metric.l2).tolist()
    [[5.0]]
    """
    p = np.asarray(points, dtype=np.float64)
    return paired_distances(queries, np.broadcast_to(p, (len(queries), *p.shape)), metric)


def paired_distances(
    queries: FloatArray, candidates: FloatArray, metric: Metric
) -> npt.NDArray[np.float64]:
    """Exact float64 distances from query i (shape (b, d)) to each of its own
    candidates ``candidates[i]`` (shape (b, c, d)), giving (b, c)."""
    q = np.asarray(queries, dtype=np.float64)[:, None, :]
    c = np.asarray(candidates, dtype=np.float64)
    if metric is Metric.l2:
        diff = c - q
        out = np.sqrt(np.einsum("bcd,bcd->bc", diff, diff))
    else:
        dots = np.einsum("bcd,bcd->bc", np.broadcast_to(q, c.shape), c)
        if metric is Metric.ip:
            out = -dots
        else:
            out = 1.0 - dots / (np.linalg.norm(c, axis=2) * np.linalg.norm(q, axis=2))
    return np.asarray(out, dtype=np.float64)
