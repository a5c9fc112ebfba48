"""ann-benchmarks HDF5 files: written, read back, neighbours kept when valid."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from pgtune_hx.bench.vector import hdf5
from pgtune_hx.bench.vector.groundtruth import exact_knn
from pgtune_hx.bench.vector.metric import Metric
from pgtune_hx.errors import InvalidInputFile, UsageError


def _file(tmp_path: Path, metric: Metric) -> tuple[Path, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(5)
    train = rng.normal(size=(400, 8)).astype(np.float32)
    test = rng.normal(size=(20, 8)).astype(np.float32)
    path = tmp_path / "tiny.hdf5"
    hdf5.write(path, train, test, exact_knn(test, train, 10, metric), metric)
    return path, train, test


@pytest.mark.parametrize("metric", list(Metric))
def test_round_trip(tmp_path: Path, metric: Metric) -> None:
    path, train, test = _file(tmp_path, metric)
    ds = hdf5.read(path, rows=None, queries=10, metric=None)
    assert ds.metric is metric  # taken from the file's "distance" attribute
    np.testing.assert_array_equal(ds.train, train)
    np.testing.assert_array_equal(ds.queries, test[:10])
    np.testing.assert_array_equal(ds.holdout, test[10:])
    assert ds.neighbors is not None and ds.holdout_neighbors is not None
    np.testing.assert_array_equal(ds.neighbors, exact_knn(test[:10], train, 10, metric).ids)
    np.testing.assert_array_equal(ds.holdout_neighbors, exact_knn(test[10:], train, 10, metric).ids)


def test_neighbours_dropped_when_they_no_longer_apply(tmp_path: Path) -> None:
    path, _, _ = _file(tmp_path, Metric.l2)
    assert hdf5.read(path, rows=100, queries=5, metric=None).neighbors is None
    assert hdf5.read(path, rows=None, queries=5, metric=Metric.ip).neighbors is None


def test_bad_files_are_clear_errors(tmp_path: Path) -> None:
    junk = tmp_path / "junk.hdf5"
    junk.write_text("not hdf5")
    with pytest.raises(InvalidInputFile, match="not an HDF5 file"):
        hdf5.read(junk, rows=None, queries=5, metric=None)
    with pytest.raises(InvalidInputFile, match="no such file"):
        hdf5.read(tmp_path / "missing.hdf5", rows=None, queries=5, metric=None)
    path, _, _ = _file(tmp_path, Metric.l2)
    with pytest.raises(UsageError, match="fewer than 2 x 50"):
        hdf5.read(path, rows=None, queries=50, metric=None)
