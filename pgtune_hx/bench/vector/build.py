"""Index builds: the grids to try and one timed CREATE INDEX.

Only the CREATE INDEX statement is inside the timer. The session's
maintenance_work_mem and max_parallel_maintenance_workers are set before it
and recorded with the result, as are pgvector's NOTICEs: above all "hnsw
graph no longer fits into maintenance_work_mem after N tuples", after which
the build goes on disk and slows down by an order of magnitude.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field

from psycopg import errors as pgerrors
from psycopg import sql

from pgtune_hx.bench.vector.metric import Metric
from pgtune_hx.bench.vector.scratch import Scratch
from pgtune_hx.db import Connection, translated

GRAPH_OVERFLOW = re.compile(r"graph no longer fits into maintenance_work_mem after (\d+) tuples")
HNSW_M = (8, 16, 32)
HNSW_EF_CONSTRUCTION = (32, 64, 128)


@dataclass(frozen=True, order=True)
class IndexConfig:
    kind: str  # "hnsw" or "ivfflat"
    m: int | None = None
    ef_construction: int | None = None
    lists: int | None = None

    @property
    def label(self) -> str:
        if self.kind == "hnsw":
            return f"hnsw(m={self.m},ef_construction={self.ef_construction})"
        return f"ivfflat(lists={self.lists})"

    @property
    def index_name(self) -> str:
        if self.kind == "hnsw":
            return f"vb_hnsw_m{self.m}_efc{self.ef_construction}"
        return f"vb_ivfflat_l{self.lists}"

    def options(self) -> dict[str, int]:
        if self.kind == "hnsw":
            assert self.m is not None and self.ef_construction is not None
            return {"m": self.m, "ef_construction": self.ef_construction}
        assert self.lists is not None
        return {"lists": self.lists}

    def to_dict(self) -> dict[str, object]:
        return {k: v for k, v in asdict(self).items() if v is not None}


def hnsw_grid(
    m_values: tuple[int, ...] = HNSW_M, efc_values: tuple[int, ...] = HNSW_EF_CONSTRUCTION
) -> list[IndexConfig]:
    """pgvector requires ef_construction >= 2 * m; other pairs are skipped.

    >>> [(c.m, c.ef_construction) for c in hnsw_grid((16, 32), (32, 64))]
    [(16, 32), (16, 64), (32, 64)]
    """
    return [
        IndexConfig("hnsw", m=m, ef_construction=efc)
        for m in m_values
        for efc in efc_values
        if efc >= 2 * m
    ]


def ivfflat_lists(rows: int) -> list[int]:
    """Lists around pgvector's guidance, rows / 1000 (up to 1M rows) and
    sqrt(rows) (above), with a step either side.

    >>> ivfflat_lists(100_000)
    [50, 100, 200, 316]
    >>> ivfflat_lists(3_000)
    [3, 6, 54]
    """
    base = max(2, rows // 1000)
    values = {base // 2, base, base * 2, math.isqrt(rows)}
    # one list is a sequential scan in disguise; lists need ~10+ rows each
    return sorted(v for v in values if 2 <= v <= max(2, rows // 10))


def ivfflat_grid(rows: int) -> list[IndexConfig]:
    return [IndexConfig("ivfflat", lists=n) for n in ivfflat_lists(rows)]


@dataclass(frozen=True)
class BuildSettings:
    maintenance_work_mem: str | None = None  # e.g. "1GB"; None keeps the server's
    parallel_workers: int | None = None  # max_parallel_maintenance_workers


@dataclass
class BuildResult:
    config: IndexConfig
    rows: int
    seconds: float
    size_bytes: int
    maintenance_work_mem: str
    parallel_workers: int
    graph_overflow_after: int | None = None  # tuples, from pgvector's NOTICE
    notices: list[str] = field(default_factory=list)

    @property
    def fits_in_memory(self) -> bool:
        return self.graph_overflow_after is None

    def to_dict(self) -> dict[str, object]:
        return {
            "config": self.config.to_dict(),
            "label": self.config.label,
            "rows": self.rows,
            "seconds": self.seconds,
            "size_bytes": self.size_bytes,
            "maintenance_work_mem": self.maintenance_work_mem,
            "parallel_workers": self.parallel_workers,
            "graph_fits_in_maintenance_work_mem": self.fits_in_memory,
            "graph_overflow_after_tuples": self.graph_overflow_after,
            "notices": self.notices,
        }


@contextmanager
def collect_notices(
    conn: Connection, on_notice: Callable[[list[str]], None] | None = None
) -> Iterator[list[str]]:
    """pgvector reports build trouble as NOTICEs; keep their text."""
    seen: list[str] = []

    def handler(diag: pgerrors.Diagnostic) -> None:
        seen.append(" ".join(p for p in (diag.message_primary, diag.message_detail) if p))
        if on_notice is not None:
            on_notice(seen)

    conn.add_notice_handler(handler)
    try:
        yield seen
    finally:
        conn.remove_notice_handler(handler)


def overflow_tuples(notices: list[str]) -> int | None:
    for text in notices:
        match = GRAPH_OVERFLOW.search(text)
        if match:
            return int(match.group(1))
    return None


def apply_settings(conn: Connection, settings: BuildSettings) -> tuple[str, int]:
    """Set the build's session settings; returns those in force."""
    with translated("setting build parameters"):
        if settings.maintenance_work_mem is not None:
            conn.execute(
                "SELECT set_config('maintenance_work_mem', %s, false)",
                [settings.maintenance_work_mem],
            )
        if settings.parallel_workers is not None:
            conn.execute(
                "SELECT set_config('max_parallel_maintenance_workers', %s, false)",
                [str(settings.parallel_workers)],
            )
        row = conn.execute(
            "SELECT current_setting('maintenance_work_mem') AS mwm,"
            " current_setting('max_parallel_maintenance_workers')::int AS workers"
        ).fetchone()
    assert row is not None
    return str(row["mwm"]), int(row["workers"])


def create_index_sql(
    scratch: Scratch, table: str, config: IndexConfig, metric: Metric
) -> sql.Composed:
    options = sql.SQL(", ").join(
        sql.SQL("{} = {}").format(sql.Identifier(k), sql.Literal(v))
        for k, v in config.options().items()
    )
    return sql.SQL("CREATE INDEX {} ON {} USING {} (embedding {}) WITH ({})").format(
        sql.Identifier(config.index_name),
        scratch.ident(table),
        sql.Identifier(config.kind),
        sql.Identifier(metric.opclass),
        options,
    )


def build_index(
    conn: Connection,
    scratch: Scratch,
    config: IndexConfig,
    metric: Metric,
    settings: BuildSettings,
    *,
    rows: int,
    table: str = "items",
) -> BuildResult:
    mwm, workers = apply_settings(conn, settings)
    statement = create_index_sql(scratch, table, config, metric)
    with collect_notices(conn) as notices, translated(f"building {config.label}"):
        started = time.perf_counter()
        conn.execute(statement)
        seconds = time.perf_counter() - started
    return BuildResult(
        config=config,
        rows=rows,
        seconds=seconds,
        size_bytes=index_size(conn, scratch, config.index_name),
        maintenance_work_mem=mwm,
        parallel_workers=workers,
        graph_overflow_after=overflow_tuples(notices),
        notices=list(notices),
    )


def index_size(conn: Connection, scratch: Scratch, name: str) -> int:
    with translated("reading the index size"):
        row = conn.execute(
            "SELECT pg_relation_size(c.oid) AS size FROM pg_class c"
            " JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = %s AND c.relname = %s",
            [scratch.schema, name],
        ).fetchone()
    return int(row["size"]) if row else 0


def drop_index(conn: Connection, scratch: Scratch, config: IndexConfig) -> None:
    with translated(f"dropping {config.label}"):
        conn.execute(sql.SQL("DROP INDEX IF EXISTS {}").format(scratch.ident(config.index_name)))
