"""A small `bench vector` run in a fresh database on the PG 18 test server."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

from pgtune_hx.bench.target import BenchTarget
from pgtune_hx.bench.vector.build import BuildSettings
from pgtune_hx.bench.vector.runner import BenchOptions, run_bench
from pgtune_hx.bench.vector.spec import parse_dataset
from pgtune_hx.embedded import EmbeddedServer
from tests.conftest import _make_db
from tests.helpers.servers import PgTarget

# 10,000 x 8: a CI-sized table where both index types reach 0.9 in seconds
SMALL = BenchOptions(
    dataset=parse_dataset("synthetic"),
    rows=10_000,
    dim=8,
    queries=100,
    target=0.9,
    concurrency=[1],
    seed=5,
    search="both",
    build=BuildSettings("64MB", 0),
    hnsw_m=(8, 16),
    hnsw_ef_construction=(32,),
    curves=False,
    filtered=False,
    head_to_head_rounds=3,
)


@contextmanager
def small_bench(server: EmbeddedServer, **changes: Any) -> Iterator[dict[str, Any]]:
    """The results of ``SMALL`` with ``changes``; the database is dropped after."""
    target = PgTarget("pg18", 18, server.dsn(), server)
    databases = _make_db(target)
    db = next(databases)
    try:
        options = replace(SMALL, **changes)
        yield run_bench(BenchTarget(db.dsn, None), options, server.bin("pgbench"))
    finally:
        next(databases, None)
