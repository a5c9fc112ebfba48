"""Query passes: one search setting, one query set, recall and latency together.

A pass sets hnsw.ef_search or ivfflat.probes, checks with EXPLAIN that the
planner uses the index, then runs every query as a prepared statement, timing
each execute + fetch on the client with perf_counter_ns. A pass whose plan is
not the index scan, or that returns fewer than k rows for any query, is
flagged and its recall is *not* reported as recall (``recall`` is None).

The round trip of a trivial prepared ``SELECT 1`` is measured in each pass
and recorded beside it: that is the harness's share of every latency.

Two measures of the work a setting costs, less noisy than client QPS on a
busy machine, are taken around the queries of each pass:

- ``blocks``: buffer accesses (hits + reads) of the index under test per
  query, a deterministic count. The pass runs in one transaction block and
  reads pg_stat_get_xact_blocks_fetched before and after: a backend flushes
  its pending statistics only between transactions, so the delta is exact.
  Blocks compare settings of one index type only (an IVFFlat page holds many
  vectors, an HNSW element is one distance computation).
- ``server_ms``: the server backend's CPU time per query (from the operating
  system: /proc/PID/schedstat in nanoseconds, else user + system time in
  clock ticks), when the server runs on this machine. CPU time leaves out
  time spent waiting for a core, which is most of the noise in client QPS on
  a shared machine, and it compares across index types.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import psutil
from psycopg import sql
from psycopg.rows import tuple_row

from pgtune_hx.bench.vector.build import IndexConfig
from pgtune_hx.bench.vector.datasets import Vectors
from pgtune_hx.bench.vector.groundtruth import Neighbors
from pgtune_hx.bench.vector.metric import Metric, paired_distances
from pgtune_hx.bench.vector.pgtypes import register_vector
from pgtune_hx.bench.vector.plan import PlanCheck, check_plan
from pgtune_hx.bench.vector.scratch import ITEMS, Scratch
from pgtune_hx.bench.vector.stats import (
    Interval,
    percentiles_ms,
    recall_by_distance,
    recall_by_ids,
    wilson,
)
from pgtune_hx.db import Connection, translated

SEARCH_PARAM = {"hnsw": "hnsw.ef_search", "ivfflat": "ivfflat.probes"}
ITERATIVE_PARAM = {"hnsw": "hnsw.iterative_scan", "ivfflat": "ivfflat.iterative_scan"}
HNSW_EF_MAX = 1000  # pgvector's upper limit for hnsw.ef_search
ROUND_TRIP_SAMPLES = 100
SESSION_SETTINGS = {"plan_cache_mode": "force_custom_plan", "enable_seqscan": "off"}


def search_ladder(config: IndexConfig, k: int) -> list[int]:
    """The search settings a sweep tries, cheapest first, doubling each step.

    >>> search_ladder(IndexConfig("hnsw", m=16, ef_construction=64), 10)
    [10, 20, 40, 80, 160, 320, 640, 1000]
    >>> search_ladder(IndexConfig("ivfflat", lists=100), 10)
    [1, 2, 4, 8, 16, 32, 64, 100]
    """
    if config.kind == "hnsw":
        start, top = max(k, 10), HNSW_EF_MAX
    else:
        assert config.lists is not None
        start, top = 1, config.lists
    values, value = [], start
    while value < top:
        values.append(value)
        value *= 2
    return [*values, top]


@dataclass
class QuerySet:
    name: str  # "tuning" or "holdout"
    vectors: Vectors
    truth: Neighbors

    def head(self, n: int) -> QuerySet:
        return QuerySet(
            self.name, self.vectors[:n], Neighbors(self.truth.ids[:n], self.truth.distances[:n])
        )

    def __len__(self) -> int:
        return len(self.vectors)


@dataclass
class SweepPoint:
    config: IndexConfig
    param: str
    value: int
    query_set: str
    queries: int
    plan: PlanCheck
    short_results: int
    recall: Interval | None
    recall_by_distance: Interval | None
    observed_recall: float
    latency: dict[str, float]
    qps: float
    round_trip_ms: float
    settings: dict[str, str] = field(default_factory=dict)
    flags: list[str] = field(default_factory=list)
    per_query_recall: list[float] = field(default_factory=list, repr=False)
    server_ms: float | None = None  # backend CPU per query, when measurable
    blocks: float | None = None  # index buffer accesses per query

    @property
    def valid(self) -> bool:
        return not self.flags

    @property
    def cost_ms(self) -> float:
        """What a query costs, lower is better: the server's CPU time when it
        was measured, else the client's mean latency."""
        if self.server_ms is not None:
            return self.server_ms
        return self.latency.get("mean_ms", math.inf)

    @property
    def cost_source(self) -> str:
        return "server_cpu" if self.server_ms is not None else "client_latency"

    def reaches(self, target: float) -> bool:
        """The lower confidence bound, not the mean, must reach the target."""
        return self.recall is not None and self.recall.low >= target

    def to_dict(self) -> dict[str, Any]:
        return {
            "index": self.config.label,
            "config": self.config.to_dict(),
            "param": self.param,
            "value": self.value,
            "query_set": self.query_set,
            "queries": self.queries,
            "valid": self.valid,
            "flags": self.flags,
            "plan": self.plan.to_dict(),
            "short_results": self.short_results,
            "recall": self.recall.to_dict() if self.recall else None,
            "recall_by_distance": (
                self.recall_by_distance.to_dict() if self.recall_by_distance else None
            ),
            "observed_recall": self.observed_recall,
            "latency": self.latency,
            "qps": self.qps,
            "client_round_trip_ms": self.round_trip_ms,
            "server_cpu_ms_per_query": self.server_ms,
            "index_blocks_per_query": self.blocks,
            "cost_ms": self.cost_ms,
            "settings": self.settings,
        }


@dataclass
class Work:
    blocks: int | None = None
    cpu_seconds: float | None = None


def local_backend(conn: Connection) -> psutil.Process | None:
    """This session's server process, when the server runs on this machine:
    connected through a Unix-domain socket (which is local by nature) and the
    process with the backend's pid is a PostgreSQL process."""
    host = conn.info.host or ""
    if not host.startswith("/"):
        return None
    with translated("reading the backend pid"):
        row = conn.execute("SELECT pg_backend_pid() AS pid").fetchone()
    assert row is not None
    try:
        process = psutil.Process(int(row["pid"]))
        if "postgres" not in process.name():
            return None
        process.cpu_times()
    except psutil.Error:
        return None
    return process


def cpu_seconds(process: psutil.Process | None) -> float | None:
    """CPU time of ``process`` so far: from /proc/PID/schedstat (nanoseconds
    on a CPU) where the kernel provides it, else user + system time in
    clock ticks."""
    if process is None:
        return None
    try:
        with open(f"/proc/{process.pid}/schedstat") as f:
            ns = int(f.read().split()[0])
        if ns > 0:
            return ns / 1e9
    except (OSError, ValueError, IndexError):
        pass
    try:
        times = process.cpu_times()
    except psutil.Error:
        return None
    return float(times.user + times.system)


class Searcher:
    """Runs passes on one session; the index to search is whichever exists."""

    def __init__(
        self, scratch: Scratch, metric: Metric, k: int, train: Vectors, table: str = ITEMS
    ) -> None:
        self.scratch, self.metric, self.k, self.train = scratch, metric, k, train
        self.table = table
        self.conn: Connection = scratch.connect()
        register_vector(self.conn)
        # custom plans for the actual values, so EXPLAIN shows what runs; no
        # sequential scan where the index can serve (small tables would
        # otherwise skip the index under test); the plan check still verifies
        self.apply(SESSION_SETTINGS)
        self.cur = self.conn.cursor(row_factory=tuple_row)
        self.backend = local_backend(self.conn)

    def close(self) -> None:
        self.conn.close()

    def query_sql(self, filtered: bool) -> sql.Composed:
        where = sql.SQL("WHERE u < %s ") if filtered else sql.SQL("")
        return sql.SQL("SELECT id FROM {} {}ORDER BY embedding {} %s LIMIT %s").format(
            self.scratch.ident(self.table), where, sql.SQL(self.metric.operator)
        )

    def apply(self, settings: dict[str, str]) -> None:
        with translated("setting search parameters"):
            for name, value in settings.items():
                self.conn.execute("SELECT set_config(%s, %s, false)", [name, value])

    def explain(self, query: sql.Composed, params: Sequence[object]) -> Any:
        with translated("EXPLAIN of the benchmark query"):
            row = self.conn.execute(
                sql.SQL("EXPLAIN (FORMAT JSON) {}").format(query), params
            ).fetchone()
        assert row is not None
        return next(iter(row.values()))

    def params(self, vector: object, selectivity: float | None) -> tuple[object, ...]:
        """In the order of query_sql's placeholders."""
        if selectivity is None:
            return (vector, self.k)
        return (selectivity, vector, self.k)

    def round_trip_ms(self) -> float:
        samples = []
        for _ in range(ROUND_TRIP_SAMPLES):
            t0 = time.perf_counter_ns()
            self.cur.execute("SELECT 1", prepare=True)
            self.cur.fetchall()
            samples.append(time.perf_counter_ns() - t0)
        return percentiles_ms(samples)["p50_ms"]

    def run(
        self,
        config: IndexConfig,
        value: int,
        queries: QuerySet,
        *,
        selectivity: float | None = None,
        extra_settings: dict[str, str] | None = None,
        short_is_flag: bool = True,
    ) -> SweepPoint:
        param = SEARCH_PARAM[config.kind]
        settings = {param: str(value), **(extra_settings or {})}
        self.apply(settings)
        settings = {**SESSION_SETTINGS, **settings}
        query = self.query_sql(selectivity is not None)
        plan = check_plan(
            self.explain(query, self.params(queries.vectors[0], selectivity)),
            config.index_name,
            self.table,
        )
        with self._work(config.index_name) as work:
            found, latencies = self._execute(query, queries.vectors, selectivity)
        wall = sum(latencies) / 1e9
        short = sum(1 for ids in found if len(ids) < self.k)
        by_ids = recall_by_ids(found, queries.truth.ids, self.k)
        by_dist = recall_by_distance(
            self._distances(queries.vectors, found), queries.truth.distances, self.k
        )
        flags = []
        if not plan.uses_index:
            flags.append(plan.reason or "plan does not use the index")
        if short and short_is_flag:
            flags.append(f"{short} of {len(found)} queries returned fewer than {self.k} rows")
        valid = not flags
        return SweepPoint(
            config=config,
            param=param,
            value=value,
            query_set=queries.name,
            queries=len(found),
            plan=plan,
            short_results=short,
            recall=wilson(by_ids) if valid else None,
            recall_by_distance=wilson(by_dist) if valid else None,
            observed_recall=float(np.mean(by_ids)),
            latency=percentiles_ms(latencies),
            qps=len(found) / wall if wall > 0 else 0.0,
            round_trip_ms=self.round_trip_ms(),
            settings=settings,
            flags=flags,
            per_query_recall=by_ids,
            server_ms=work.cpu_seconds * 1000 / len(found)
            if work.cpu_seconds is not None and found
            else None,
            blocks=work.blocks / len(found) if work.blocks is not None and found else None,
        )

    @contextmanager
    def _work(self, index_name: str) -> Iterator[Work]:
        """Index blocks and backend CPU spent inside the block, which runs in
        one transaction (statistics are flushed only between transactions)."""
        work = Work()
        with translated("reading the index's block counters"):
            row = self.conn.execute(
                "SELECT c.oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
                " WHERE n.nspname = %s AND c.relname = %s",
                [self.scratch.schema, index_name],
            ).fetchone()
        oid = row["oid"] if row else None
        with self.conn.transaction():
            before = self._blocks(oid)
            cpu = cpu_seconds(self.backend)
            yield work
            if cpu is not None:
                after = cpu_seconds(self.backend)
                work.cpu_seconds = after - cpu if after is not None else None
            if before is not None:
                end = self._blocks(oid)
                work.blocks = end - before if end is not None else None

    def _blocks(self, oid: int | None) -> int | None:
        if oid is None:
            return None
        with translated("reading the index's block counters"):
            row = self.conn.execute(
                "SELECT pg_stat_get_xact_blocks_fetched(%s) AS n", [oid]
            ).fetchone()
        return int(row["n"]) if row and row["n"] is not None else None

    def _execute(
        self, query: sql.Composed, vectors: Vectors, selectivity: float | None
    ) -> tuple[list[list[int]], list[int]]:
        found: list[list[int]] = []
        latencies: list[int] = []
        cur = self.cur
        with translated("running benchmark queries"):
            for vec in vectors:
                params = self.params(vec, selectivity)
                t0 = time.perf_counter_ns()
                cur.execute(query, params, prepare=True, binary=True)
                rows = cur.fetchall()
                latencies.append(time.perf_counter_ns() - t0)
                found.append([int(r[0]) for r in rows])
        return found, latencies

    def _distances(self, vectors: Vectors, found: list[list[int]]) -> list[npt.NDArray[np.float64]]:
        out = []
        for vec, ids in zip(vectors, found, strict=True):
            if not ids:
                out.append(np.empty(0))
                continue
            cand = self.train[np.asarray(ids)][None, :, :]
            out.append(paired_distances(vec[None, :], cand, self.metric)[0])
        return out
