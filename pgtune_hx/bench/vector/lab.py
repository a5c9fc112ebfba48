"""The bench's working state: the scratch tables, their ground truth, and
"build this index, search it, drop it" as one step.

Only one index exists at a time on a table, so the planner can only pick the
index under test (the plan check verifies it did).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
from psycopg import sql

from pgtune_hx.bench.vector.build import (
    BuildResult,
    BuildSettings,
    IndexConfig,
    build_index,
    drop_index,
)
from pgtune_hx.bench.vector.datasets import Dataset
from pgtune_hx.bench.vector.groundtruth import Neighbors, exact_knn
from pgtune_hx.bench.vector.scratch import ITEMS, Scratch, load_table
from pgtune_hx.bench.vector.sweep import QuerySet, Searcher
from pgtune_hx.db import Connection, translated

FILTER_COLUMN = "u"


class Progress(Protocol):
    """What the headless core tells a progress display; the CLI draws it."""

    def task(self, description: str, total: int | None = None) -> None:
        """A new step begins."""

    def advance(self, steps: int = 1) -> None:
        """Part of the current step is done."""


class NoProgress:
    def task(self, description: str, total: int | None = None) -> None:
        pass

    def advance(self, steps: int = 1) -> None:
        pass


@dataclass
class Table:
    name: str
    rows: int
    tuning: QuerySet
    holdout: QuerySet


@dataclass
class Lab:
    scratch: Scratch
    dataset: Dataset
    k: int
    settings: BuildSettings
    conn: Connection
    seed: int
    progress: Progress = field(default_factory=NoProgress)
    tables: dict[str, Table] = field(default_factory=dict)
    filter_values: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.float32))

    def load(self) -> Table:
        """The full table, its filter column and the pgbench query table."""
        ds = self.dataset
        self.progress.task(f"loading {ds.rows:,} x {ds.dim} vectors")
        self.filter_values = np.random.default_rng(self.seed + 1).random(ds.rows, dtype=np.float32)
        load_table(
            self.conn,
            self.scratch.items,
            ds.train,
            extra_column=FILTER_COLUMN,
            extra=self.filter_values,
        )
        load_table(self.conn, self.scratch.queries, ds.queries, id_column="qid", primary_key=True)
        self.progress.task("computing exact ground truth")
        tuning = (
            ds.neighbors if ds.neighbors is not None and ds.neighbors.shape[1] >= self.k else None
        )
        table = Table(
            ITEMS,
            ds.rows,
            QuerySet("tuning", ds.queries, self.truth(ds.queries, ds.rows, tuning)),
            QuerySet(
                "holdout",
                ds.holdout,
                self.truth(
                    ds.holdout, ds.rows, ds.holdout_neighbors if tuning is not None else None
                ),
            ),
        )
        self.tables[ITEMS] = table
        return table

    def truth(self, queries: np.ndarray, rows: int, given: np.ndarray | None = None) -> Neighbors:
        """Exact neighbours among the first ``rows`` rows. Ids that came with
        the data (HDF5) are kept; their distances are recomputed exactly."""
        train = self.dataset.train[:rows]
        if given is None:
            return exact_knn(queries, train, self.k, self.dataset.metric)
        from pgtune_hx.bench.vector.metric import paired_distances

        ids = np.asarray(given[:, : self.k], dtype=np.int64)
        return Neighbors(ids, paired_distances(queries, train[ids], self.dataset.metric))

    def twin_table(self) -> Table:
        """A copy of the full table, rows in the same order, sharing its query
        sets and ground truth: two indexes can then be searched side by side,
        each the only index on its table."""
        name = f"{ITEMS}_twin"
        if name in self.tables:
            return self.tables[name]
        with translated("copying the table for a side-by-side comparison"):
            self.conn.execute(
                sql.SQL("CREATE TABLE {} AS SELECT * FROM {} ORDER BY id").format(
                    self.scratch.ident(name), self.scratch.items
                )
            )
            self.conn.execute(sql.SQL("VACUUM (ANALYZE) {}").format(self.scratch.ident(name)))
        full = self.tables[ITEMS]
        table = Table(name, full.rows, full.tuning, full.holdout)
        self.tables[name] = table
        return table

    @contextmanager
    def index(self, config: IndexConfig, table: Table) -> Iterator[tuple[BuildResult, Searcher]]:
        """Build, yield a searcher on it, drop it whatever happens."""
        self.progress.task(f"building {config.label} on {table.rows:,} rows")
        build = build_index(
            self.conn,
            self.scratch,
            config,
            self.dataset.metric,
            self.settings,
            rows=table.rows,
            table=table.name,
        )
        searcher = Searcher(
            self.scratch, self.dataset.metric, self.k, self.dataset.train, table.name
        )
        try:
            yield build, searcher
        finally:
            searcher.close()
            drop_index(self.conn, self.scratch, config)
