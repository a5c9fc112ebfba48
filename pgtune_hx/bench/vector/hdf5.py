"""ann-benchmarks HDF5 files: datasets ``train``, ``test``, ``neighbors``,
``distances`` and the attribute ``distance`` (euclidean, angular or dot).

h5py is the optional extra "hdf5"; it is imported only here, when used.
"""

from __future__ import annotations

from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from pgtune_hx.bench.vector.datasets import Dataset, Vectors, check_sizes
from pgtune_hx.bench.vector.groundtruth import Neighbors
from pgtune_hx.bench.vector.metric import Metric
from pgtune_hx.errors import InvalidInputFile, MissingCapability, UsageError

# ann-benchmarks' names for the metrics pgvector has
METRIC_NAMES = {"euclidean": Metric.l2, "angular": Metric.cosine, "dot": Metric.ip}
FILE_NAMES = {metric: name for name, metric in METRIC_NAMES.items()}


def _h5py() -> ModuleType:
    try:
        import h5py
    except ImportError:
        raise MissingCapability(
            "reading and writing HDF5 files needs h5py", hint="pip install 'pgtune_hx[hdf5]'"
        ) from None
    return h5py  # type: ignore[no-any-return]


def _open(h5py: ModuleType, path: Path) -> Any:
    if not path.is_file():
        raise InvalidInputFile(f"{path}: no such file")
    try:
        return h5py.File(path, "r")
    except OSError as exc:
        raise InvalidInputFile(f"{path}: not an HDF5 file ({exc})") from None


def read(path: Path, *, rows: int | None, queries: int, metric: Metric | None) -> Dataset:
    """Train rows are indexed; ``test`` is split into tuning queries and the
    held-out set. The file's neighbours are kept only when they still apply:
    same metric and all train rows used."""
    h5py = _h5py()
    with _open(h5py, path) as f:
        for name in ("train", "test"):
            if name not in f or len(f[name].shape) != 2:
                raise InvalidInputFile(f"{path}: missing 2-d dataset {name!r}")
        train_ds, test_ds = f["train"], f["test"]
        if train_ds.shape[1] != test_ds.shape[1]:
            raise InvalidInputFile(f"{path}: train and test dimensions differ")
        own = METRIC_NAMES.get(str(f.attrs.get("distance", "")).lower())
        chosen = metric or own or Metric.l2
        total = int(train_ds.shape[0])
        take = total if rows is None else min(rows, total)
        check_sizes(take, int(train_ds.shape[1]), queries)
        if 2 * queries > test_ds.shape[0]:
            raise UsageError(
                f"{path}: test holds {test_ds.shape[0]} queries, fewer than 2 x {queries}"
            )
        train = np.asarray(train_ds[:take], dtype=np.float32)
        test = np.asarray(test_ds[: 2 * queries], dtype=np.float32)
        neighbors = None
        if "neighbors" in f and take == total and chosen == own:
            neighbors = np.asarray(f["neighbors"][: 2 * queries], dtype=np.int64)
    return Dataset(
        name=f"hdf5:{path.name}",
        train=train,
        queries=test[:queries],
        holdout=test[queries:],
        metric=chosen,
        neighbors=None if neighbors is None else neighbors[:queries],
        holdout_neighbors=None if neighbors is None else neighbors[queries:],
        details={"file": str(path), "file_metric": own.value if own else None},
    )


def write(path: Path, train: Vectors, test: Vectors, truth: Neighbors, metric: Metric) -> None:
    """Write a file ann-benchmarks (and ``read``) understands."""
    h5py = _h5py()
    with h5py.File(path, "w") as f:
        f.attrs["distance"] = FILE_NAMES[metric]
        f.attrs["dimension"] = int(train.shape[1])
        f.attrs["point_type"] = "float"
        f.create_dataset("train", data=np.asarray(train, dtype=np.float32))
        f.create_dataset("test", data=np.asarray(test, dtype=np.float32))
        f.create_dataset("neighbors", data=truth.ids.astype(np.int32))
        f.create_dataset("distances", data=truth.distances.astype(np.float32))
