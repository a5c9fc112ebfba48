"""Build time, memory and size predicted for the full table.

- Size: bytes per row of the built index times the full row count.
- Time: HNSW inserts cost about log(n) each, so time scales as n log n;
  IVFFlat's k-means runs on a fixed sample (50 rows per list) and the rest
  is one assignment pass, so time scales as n.
- Memory, HNSW: measured, not modelled. A calibration build of the same
  configuration runs with maintenance_work_mem at its 1MB minimum; pgvector's
  NOTICE "graph no longer fits ... after N tuples" then gives the graph's
  bytes per tuple (1MB / N), and the build is cancelled at that moment.
- Memory, IVFFlat: pgvector's own check. Before k-means it compares what it
  needs (samples of 50 rows per list, centres, bounds) with
  maintenance_work_mem and stops with "memory required is N MB" when short;
  a build attempt at 1MB reads N. It depends on lists, not on the row count
  once the table has 50 rows per list.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from psycopg import sql

from pgtune_hx.bench.vector.build import (
    BuildResult,
    BuildSettings,
    IndexConfig,
    apply_settings,
    collect_notices,
    create_index_sql,
    drop_index,
    overflow_tuples,
)
from pgtune_hx.bench.vector.metric import Metric
from pgtune_hx.bench.vector.scratch import ITEMS, Scratch
from pgtune_hx.db import Connection, translated
from pgtune_hx.errors import PgtuneError

MIB = 1024 * 1024
CALIBRATION_MWM = "1MB"
CALIBRATION_ROWS = 5000


@dataclass(frozen=True)
class GraphMemory:
    bytes_per_tuple: float
    exact: bool  # False: the calibration table fitted, so this is an upper bound
    calibration_rows: int

    def to_dict(self) -> dict[str, object]:
        return {
            "bytes_per_tuple": self.bytes_per_tuple,
            "measured": self.exact,
            "calibration_rows": self.calibration_rows,
        }


KMEANS_MEMORY = re.compile(r"memory required is (\d+) MB")


def measure_kmeans_memory(
    conn: Connection, scratch: Scratch, config: IndexConfig, metric: Metric
) -> int | None:
    """MB pgvector's k-means needs for this IVFFlat build, from its own check:
    with maintenance_work_mem at 1MB the build stops at once with "memory
    required is N MB" (N rounded up). None: it needs less than 1MB."""
    apply_settings(conn, BuildSettings(CALIBRATION_MWM, 0))
    statement = create_index_sql(scratch, ITEMS, config, metric)
    try:
        with translated("IVFFlat memory check"):
            conn.execute(statement)
    except PgtuneError as exc:
        match = KMEANS_MEMORY.search(str(exc))
        if match is None:
            raise
        return int(match.group(1))
    drop_index(conn, scratch, config)
    return None


def measure_graph_memory(
    conn: Connection, scratch: Scratch, config: IndexConfig, metric: Metric, rows: int
) -> GraphMemory:
    """Calibration build on the first rows of ``items`` (see module doc)."""
    n = min(rows, CALIBRATION_ROWS)
    table = "calibration"
    with translated("creating the calibration table"):
        conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(scratch.ident(table)))
        conn.execute(
            sql.SQL("CREATE TABLE {} AS SELECT id, embedding FROM {} WHERE id < {}").format(
                scratch.ident(table), scratch.items, sql.Literal(n)
            )
        )
    apply_settings(conn, BuildSettings(CALIBRATION_MWM, 0))
    statement = create_index_sql(scratch, table, config, metric)
    cancelled = False

    def stop_at_overflow(notices: list[str]) -> None:
        nonlocal cancelled
        if not cancelled and overflow_tuples(notices) is not None:
            cancelled = True
            conn.cancel_safe()

    with collect_notices(conn, on_notice=stop_at_overflow) as notices:
        try:
            with translated("calibration build"):
                conn.execute(statement)
        except PgtuneError:
            if not cancelled:
                raise
        # a cancelled statement left nothing behind; a finished one is dropped with the table
    with translated("dropping the calibration table"):
        conn.execute(sql.SQL("DROP TABLE {}").format(scratch.ident(table)))
    after = overflow_tuples(notices)
    mwm_bytes = 1 * MIB
    if after is None:
        return GraphMemory(mwm_bytes / n, exact=False, calibration_rows=n)
    return GraphMemory(mwm_bytes / max(1, after), exact=True, calibration_rows=n)


@dataclass(frozen=True)
class Prediction:
    rows: int
    build_seconds: float
    size_bytes: int
    memory_bytes: int
    memory_measured: bool
    config: IndexConfig

    def to_dict(self) -> dict[str, object]:
        return {
            "rows": self.rows,
            "config": self.config.to_dict(),
            "label": self.config.label,
            "build_seconds": self.build_seconds,
            "size_bytes": self.size_bytes,
            "maintenance_work_mem_bytes": self.memory_bytes,
            "maintenance_work_mem": pretty_mem(self.memory_bytes),
            "memory_measured": self.memory_measured,
        }


def pretty_mem(n: int) -> str:
    """A maintenance_work_mem value rounded up to whole MB, in a unit that
    SET accepts.

    >>> pretty_mem(3 * MIB + 1), pretty_mem(5 * 1024 * MIB)
    ('4MB', '5GB')
    """
    mb = max(1, math.ceil(n / MIB))
    if mb % 1024 == 0:
        return f"{mb // 1024}GB"
    return f"{mb}MB"


def scale_time(seconds: float, built_rows: int, full_rows: int, kind: str) -> float:
    """>>> round(scale_time(10.0, 1000, 2000, "ivfflat"), 1)
    20.0
    """
    if full_rows == built_rows or built_rows < 2:
        return seconds
    if kind == "hnsw":
        return seconds * (full_rows * math.log(full_rows)) / (built_rows * math.log(built_rows))
    return seconds * full_rows / built_rows


def full_table_config(config: IndexConfig, built_rows: int, full_rows: int) -> IndexConfig:
    """IVFFlat lists scale with the rows, to keep rows per list; HNSW's
    parameters do not depend on the row count."""
    if config.kind != "ivfflat" or full_rows == built_rows:
        return config
    assert config.lists is not None
    return IndexConfig("ivfflat", lists=max(1, round(config.lists * full_rows / built_rows)))


def predict(
    build: BuildResult,
    full_rows: int,
    graph: GraphMemory | None = None,
    kmeans_mb: int | None = None,
) -> Prediction:
    config = full_table_config(build.config, build.rows, full_rows)
    size = round(build.size_bytes / max(1, build.rows) * full_rows)
    if config.kind == "hnsw":
        assert graph is not None
        memory, measured = round(graph.bytes_per_tuple * full_rows), graph.exact
    else:
        # None: under the 1MB the check ran with
        memory = (kmeans_mb or 1) * MIB
        measured = kmeans_mb is not None and full_rows == build.rows
    return Prediction(
        rows=full_rows,
        build_seconds=scale_time(build.seconds, build.rows, full_rows, config.kind),
        size_bytes=size,
        memory_bytes=memory,
        memory_measured=measured,
        config=config,
    )
