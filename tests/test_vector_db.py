"""The vector benchmark's pieces against the real PostgreSQL 18 with pgvector:
scratch schema lifecycle, binary loading, builds and their notices, memory
predictions, plan checks, recall, pgbench and filtered search."""

from __future__ import annotations

import math
import re
from collections.abc import Iterator

import numpy as np
import pytest
from psycopg.rows import tuple_row

from pgtune_hx.bench.vector.build import BuildSettings, IndexConfig, build_index, drop_index
from pgtune_hx.bench.vector.compare import Contender, head_to_head
from pgtune_hx.bench.vector.datasets import synthetic
from pgtune_hx.bench.vector.filtered import filtered_sweep
from pgtune_hx.bench.vector.lab import Lab
from pgtune_hx.bench.vector.metric import Metric
from pgtune_hx.bench.vector.pgbench import run_pgbench, script
from pgtune_hx.bench.vector.pgtypes import register_vector
from pgtune_hx.bench.vector.predict import measure_graph_memory, measure_kmeans_memory, predict
from pgtune_hx.bench.vector.recommend import Evaluation
from pgtune_hx.bench.vector.results import environment
from pgtune_hx.bench.vector.scratch import SCHEMA_PREFIX, scratch_schema
from pgtune_hx.errors import PgtuneError
from tests.helpers.servers import PgTarget, TestDatabase

HNSW = IndexConfig("hnsw", m=8, ef_construction=32)
IVF = IndexConfig("ivfflat", lists=20)


def scratch_schemas(db: TestDatabase) -> list[str]:
    rows = db.execute(
        "SELECT nspname FROM pg_namespace WHERE nspname LIKE %s", [SCHEMA_PREFIX + "%"]
    )
    return [r["nspname"] for r in rows]


def vector_installed(db: TestDatabase) -> bool:
    return bool(db.execute("SELECT 1 FROM pg_extension WHERE extname = 'vector'"))


@pytest.fixture
def lab(db18: TestDatabase) -> Iterator[Lab]:
    ds = synthetic(3000, 16, 60, seed=11, metric=Metric.l2)
    with scratch_schema(db18.dsn) as scratch, scratch.connect() as conn:
        lab = Lab(scratch, ds, 10, BuildSettings("64MB", 0), conn, seed=11)
        lab.load()
        yield lab


def test_scratch_schema_dropped_after_success_error_and_ctrl_c(db18: TestDatabase) -> None:
    assert not vector_installed(db18)
    with scratch_schema(db18.dsn) as scratch:
        assert scratch.created_extension  # pgvector lives in the scratch schema...
        assert scratch_schemas(db18) == [scratch.schema]
    assert scratch_schemas(db18) == []
    assert not vector_installed(db18)  # ...and left with it
    with pytest.raises(RuntimeError, match="boom"):
        with scratch_schema(db18.dsn):
            raise RuntimeError("boom")
    assert scratch_schemas(db18) == []
    with pytest.raises(KeyboardInterrupt), scratch_schema(db18.dsn) as scratch:  # noqa: PT012
        with scratch.connect() as conn:
            conn.execute("CREATE TABLE t (v vector(3))")
            raise KeyboardInterrupt
    assert scratch_schemas(db18) == []


def test_an_installed_pgvector_is_used_and_kept(db18: TestDatabase) -> None:
    db18.execute("CREATE EXTENSION vector")
    with scratch_schema(db18.dsn) as scratch:
        assert not scratch.created_extension
        assert scratch.extension_schema == "public"
    assert vector_installed(db18)


def test_binary_copy_loads_the_exact_vectors(lab: Lab) -> None:
    with lab.scratch.connect() as conn:
        register_vector(conn)
        rows = (
            conn.cursor(binary=True, row_factory=tuple_row)
            .execute(f'SELECT id, embedding, u FROM "{lab.scratch.schema}".items ORDER BY id')
            .fetchall()
        )
    assert len(rows) == lab.dataset.rows
    np.testing.assert_array_equal(np.vstack([r[1] for r in rows]), lab.dataset.train)
    np.testing.assert_array_equal(
        np.array([r[2] for r in rows], dtype=np.float32), lab.filter_values
    )


def test_exact_settings_give_exact_recall_and_forced_seq_scan_is_flagged(lab: Lab) -> None:
    table = lab.tables["items"]
    with lab.index(IVF, table) as (build, searcher):
        assert build.size_bytes > 0 and build.seconds > 0
        exact = searcher.run(IVF, 20, table.tuning)  # probes = lists: every list scanned
        assert exact.valid and exact.plan.uses_index
        assert exact.recall is not None and exact.recall.mean == 1.0
        assert exact.recall_by_distance is not None and exact.recall_by_distance.mean == 1.0
        assert exact.latency["p99_ms"] >= exact.latency["p50_ms"] > 0
        assert exact.round_trip_ms > 0
        seq = searcher.run(
            IVF,
            20,
            table.tuning,
            extra_settings={"enable_indexscan": "off", "enable_seqscan": "on"},
        )
        assert not seq.valid and seq.recall is None
        assert "sequential scan" in seq.flags[0]
        assert seq.observed_recall == 1.0  # exact, which is why it must not count


def test_short_results_are_flagged(lab: Lab) -> None:
    table = lab.tables["items"]
    with lab.index(HNSW, table) as (_, searcher):
        short = searcher.run(HNSW, 5, table.tuning)  # ef_search 5 < k 10
        assert short.short_results == len(table.tuning)
        assert short.recall is None and "fewer than 10 rows" in short.flags[0]


def test_graph_overflow_notice_and_measured_memory(lab: Lab) -> None:
    memory = measure_graph_memory(lab.conn, lab.scratch, HNSW, Metric.l2, lab.dataset.rows)
    assert memory.exact  # 3,000 rows do not fit in 1MB
    rows = lab.dataset.rows
    need = memory.bytes_per_tuple * rows
    for factor, overflow in ((1.3, False), (0.5, True)):
        # pgvector fills its graph memory in whole MB; 1MB is the minimum
        mb = max(1, math.ceil(need * factor / 2**20))
        settings = BuildSettings(f"{mb}MB", 0)
        result = build_index(lab.conn, lab.scratch, HNSW, Metric.l2, settings, rows=rows)
        drop_index(lab.conn, lab.scratch, HNSW)
        assert (result.graph_overflow_after is not None) is overflow, (factor, result.notices)
        if overflow:
            assert "no longer fits" in result.notices[0]
    predicted = predict(result, rows * 10, memory)
    assert predicted.memory_bytes == pytest.approx(need * 10, rel=1e-6)
    assert predicted.size_bytes == pytest.approx(result.size_bytes * 10, rel=1e-3)
    assert predicted.build_seconds > result.seconds * 10  # n log n


def test_ivfflat_memory_is_read_from_pgvectors_own_check(lab: Lab) -> None:
    big, small = IndexConfig("ivfflat", lists=60), IndexConfig("ivfflat", lists=4)
    mb = measure_kmeans_memory(lab.conn, lab.scratch, big, Metric.l2)
    assert mb is not None and mb >= 2
    # it really needs that much: one MB less fails, that much succeeds
    with pytest.raises(PgtuneError, match="memory required"):
        build_index(
            lab.conn, lab.scratch, big, Metric.l2, BuildSettings(f"{mb - 1}MB", 0), rows=3000
        )
    build_index(lab.conn, lab.scratch, big, Metric.l2, BuildSettings(f"{mb}MB", 0), rows=3000)
    drop_index(lab.conn, lab.scratch, big)
    assert measure_kmeans_memory(lab.conn, lab.scratch, small, Metric.l2) is None
    assert lab.conn.execute(
        "SELECT count(*) AS n FROM pg_indexes WHERE indexname LIKE 'vb_%'"
    ).fetchone() == {"n": 0}


def test_pgbench_runs_the_knn_script_at_concurrency(lab: Lab, pg18: PgTarget) -> None:
    assert pg18.server is not None
    text = script(lab.scratch, Metric.l2, 10, len(lab.dataset.queries))
    with lab.index(HNSW, lab.tables["items"]):
        result = run_pgbench(
            pg18.server.bin("pgbench"), lab.scratch.dsn, text, clients=2, seconds=1,
            settings={"hnsw.ef_search": "40"},
            search_path=f"{lab.scratch.schema},{lab.scratch.extension_schema}",
        )  # fmt: skip
    assert result.tps > 0 and result.failed == 0
    assert result.transactions > 0
    assert result.latency["p99_ms"] >= result.latency["p50_ms"] > 0


def test_filtered_search_loses_rows_without_iterative_scan(lab: Lab) -> None:
    table = lab.tables["items"]
    with lab.index(HNSW, table) as (build, searcher):
        chosen = searcher.run(HNSW, 40, table.tuning)
        ev = Evaluation(HNSW, table.rows, build, [chosen], chosen)
        points = {
            (p.selectivity, p.iterative_scan): p for p in filtered_sweep(lab, ev, searcher, (0.05,))
        }
    off, relaxed = points[(0.05, "off")], points[(0.05, "relaxed_order")]
    assert off.point.plan.uses_index and relaxed.point.plan.uses_index
    # 40 candidates x 5% = about 2 rows survive the filter without iterative scans
    assert off.point.short_results == off.point.queries
    assert relaxed.point.short_results == 0
    assert relaxed.point.observed_recall > off.point.observed_recall + 0.5
    loss = off.to_dict()["recall_loss"]
    assert isinstance(loss, float) and loss > 0.5


def test_environment_records_versions(lab: Lab) -> None:
    env = environment(lab.conn)
    assert env["postgresql"].startswith("18")
    assert re.fullmatch(r"\d+\.\d+\.\d+", env["pgvector"])
    assert env["settings"]["hnsw.ef_search"] == "40"
    assert env["host"]["cpus_logical"] >= 1


def test_passes_count_index_blocks_and_server_cpu(lab: Lab) -> None:
    table = lab.tables["items"]
    with lab.index(HNSW, table) as (_, searcher):
        assert searcher.backend is not None  # a Unix socket: the server is local
        low, again, high = (searcher.run(HNSW, ef, table.tuning) for ef in (20, 20, 160))
    # the block count is deterministic: the same setting twice, the same count
    assert low.blocks is not None and low.blocks > 1
    assert again.blocks == low.blocks
    assert high.blocks is not None and high.blocks > low.blocks * 2  # wider search, more work
    assert high.server_ms is not None and low.server_ms is not None
    assert high.cost_ms == high.server_ms and high.cost_source == "server_cpu"
    assert high.to_dict()["index_blocks_per_query"] == high.blocks
    # the backend's own CPU time cannot exceed the client's wall-clock time
    assert high.server_ms <= high.latency["mean_ms"] * 1.05 + 10 / high.queries


def test_head_to_head_searches_two_indexes_side_by_side(lab: Lab) -> None:
    a, b = Contender("adaptive", HNSW, 40), Contender("exhaustive", IVF, 4)
    table = lab.tables["items"]
    with lab.index(IVF, table) as (_, searcher):
        alone = searcher.run(IVF, 4, table.tuning)
    duel = head_to_head(lab, a, b, rounds=3)
    assert duel["rounds"] == 3 and not duel["same_choice"]
    assert duel["adaptive"]["valid"] and duel["exhaustive"]["valid"]  # each used its own index
    # the copy holds the same rows: the same recall, but for k-means on a
    # random sample (pgvector samples anew for every build)
    assert alone.recall is not None
    assert duel["exhaustive"]["recall"]["mean"] == pytest.approx(alone.recall.mean, abs=0.03)
    assert len(duel["paired_qps_ratios"]) == 3
    assert duel["qps_ratio"] == pytest.approx(sorted(duel["paired_qps_ratios"])[1])
    assert duel["cost_source"] == "server_cpu"
    assert not lab.conn.execute(
        "SELECT 1 FROM pg_indexes WHERE schemaname = %s AND indexname LIKE %s",
        [lab.scratch.schema, "vb_%"],
    ).fetchall()  # both indexes dropped afterwards
    same = head_to_head(lab, a, Contender("exhaustive", HNSW, 40), rounds=2)
    assert same["same_choice"] and same["qps_ratio"] == 1.0
