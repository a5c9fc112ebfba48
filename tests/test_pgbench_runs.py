"""Real pgbench runs (scale 1, a few seconds): numbers, failures, retries, workloads."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from pgtune_hx.bench.pgbench.scripts import builtin_spec, file_spec
from pgtune_hx.bench.pgbench.session import BenchOptions, run_benchmark
from pgtune_hx.bench.pgbench.settings import SettingsFile
from pgtune_hx.bench.target import BenchTarget
from pgtune_hx.errors import InvalidSQL, MissingCapability, UsageError
from tests.helpers.bench import Recorder, target_of
from tests.helpers.servers import PgTarget, TestDatabase

WORKLOADS = Path(__file__).resolve().parent.parent / "benchmarks" / "workloads"


def test_tpcb_run_log_and_summary_agree(db: TestDatabase, pg: PgTarget, tmp_path: Path) -> None:
    recorder = Recorder()
    options = BenchOptions(
        scripts=(builtin_spec("tpcb"),),
        clients=(2,),
        duration_s=2,
        runs=1,
        database=db.name,
        keep_logs=tmp_path,
    )
    results = run_benchmark(target_of(pg), options, recorder)

    assert results["server"]["version_num"] // 10000 == pg.major
    assert int(results["pgbench"]["version"].split(".")[0]) == pg.major
    assert results["workload"]["initialized"] is True
    assert any(f"database {db.name}" in m for m in recorder.messages)
    assert results["host"]["cpu_count"] >= 1
    assert results["host"]["memory_bytes"] > 0
    in_force = results["configs"][0]["settings_in_force"]
    assert in_force["max_connections"]["source"] == "configuration file"

    [run] = results["runs"]
    log, summary = run["log"], run["pgbench"]
    assert run["threads"] == 2
    assert len(run["log_files"]) == 2  # one per pgbench thread, all read
    assert log["transactions"] == summary["transactions"] > 0
    assert log["failed"] == summary["failed"] == 0
    assert log["tps"] == pytest.approx(summary["tps"], rel=0.15)
    latency = log["latency_ms"]
    assert latency["min"] <= latency["p50"] <= latency["p95"] <= latency["p99"] <= latency["max"]
    assert latency["mean"] == pytest.approx(summary["latency_avg_ms"], rel=0.05)
    assert sum(log["per_second"]) == log["transactions"]
    assert recorder.progress_lines, "pgbench -P lines reach the observer"
    [row] = results["results"]
    assert row["tps"]["median"] == pytest.approx(summary["tps"], abs=1e-3)

    again = run_benchmark(target_of(pg), replace(options, duration_s=1, keep_logs=None))
    assert again["workload"]["initialized"] is False  # same scale: data kept


def test_serialization_failures_and_retries(
    db18: TestDatabase, pg18: PgTarget, tmp_path: Path
) -> None:
    (tmp_path / "hot.setup.sql").write_text(
        "drop table if exists hot;\ncreate table hot (id int primary key, v bigint);\n"
        "insert into hot values (1, 0);\n"
    )
    script = tmp_path / "hot.sql"
    script.write_text(
        "begin transaction isolation level repeatable read;\n"
        "update hot set v = v + 1 where id = 1;\n"
        "select pg_sleep(0.001);\n"
        "commit;\n"
    )
    base = BenchOptions(
        scripts=(file_spec(str(script)),), clients=(4,), duration_s=2, runs=1, database=db18.name
    )
    no_retry = run_benchmark(target_of(pg18), replace(base, max_tries=1))["runs"][0]
    assert no_retry["log"]["failures"]["serialization"] > 0
    assert (
        no_retry["log"]["failures"]["serialization"]
        == no_retry["pgbench"]["serialization_failures"]
    )
    assert no_retry["log"]["retries"] == 0

    retried = run_benchmark(target_of(pg18), replace(base, max_tries=50))["runs"][0]
    assert retried["log"]["retries"] > 0
    assert retried["log"]["retries"] == retried["pgbench"]["retries"]
    assert retried["log"]["retried"] == retried["pgbench"]["retried"]
    # the setup recreated the table before the second benchmark; since then every
    # committed transaction added 1: the probe's and the run's
    committed = db18.execute("select v from hot")[0]["v"]
    assert committed == retried["log"]["transactions"] + 1


def test_gateway_workload_inserts_one_usage_row_per_transaction(
    db18: TestDatabase, pg18: PgTarget
) -> None:
    spec = file_spec(str(WORKLOADS / "gateway.sql"))
    recorder = Recorder()
    options = BenchOptions(scripts=(spec,), clients=(2,), duration_s=1, runs=1, database=db18.name)
    results = run_benchmark(target_of(pg18), options, recorder)
    [run] = results["runs"]
    assert run["log"]["failed"] == 0
    assert run["log"]["transactions"] > 0
    assert results["workload"]["setup"][0]["file"].endswith("gateway.setup.sql")
    logged = db18.execute("select count(*) as n from gw_usage_logs")[0]["n"]
    assert logged == 20_000 + 1 + run["log"]["transactions"]  # setup + probe + the run
    assert any("probing gateway.sql" in m for m in recorder.messages)


def test_read_workloads_mixed_on_pg18(db18: TestDatabase, pg18: PgTarget) -> None:
    """workflow@1 + vector_topk@1 in one run: both setups applied, both scripts ran."""
    specs = (
        file_spec(str(WORKLOADS / "workflow.sql")),
        file_spec(str(WORKLOADS / "vector_topk.sql")),
    )
    options = BenchOptions(scripts=specs, clients=(2,), duration_s=1, runs=1, database=db18.name)
    results = run_benchmark(target_of(pg18), options)
    [run] = results["runs"]
    assert run["log"]["failed"] == 0
    assert len(results["workload"]["setup"]) == 2
    by_script = run["log"]["per_script"]
    assert set(by_script) == {"0", "1"}
    assert all(count > 0 for count in by_script.values())
    assert sum(by_script.values()) == run["log"]["transactions"]


def test_vector_workload_needs_pgvector(pg: PgTarget, db: TestDatabase) -> None:
    if pg.major >= 18:
        pytest.skip("the embedded PostgreSQL 18 has pgvector")
    recorder = Recorder()
    spec = file_spec(str(WORKLOADS / "vector_topk.sql"))
    options = BenchOptions(scripts=(spec,), clients=(1,), duration_s=1, runs=1, database=db.name)
    with pytest.raises(MissingCapability, match="vector"):
        run_benchmark(target_of(pg), options, recorder)
    assert recorder.started == []


def test_probe_rejects_a_script_the_server_refuses(
    db18: TestDatabase, pg18: PgTarget, tmp_path: Path
) -> None:
    script = tmp_path / "bad.sql"
    script.write_text("\\set id random(1, 10)\nselect * from no_such_table where id = :id;\n")
    recorder = Recorder()
    options = BenchOptions(
        scripts=(file_spec(str(script)),), clients=(1,), duration_s=5, runs=1, database=db18.name
    )
    with pytest.raises(InvalidSQL, match='relation "no_such_table" does not exist'):
        run_benchmark(target_of(pg18), options, recorder)
    assert recorder.started == []


def test_compare_needs_the_embedded_server(pg18: PgTarget) -> None:
    target = BenchTarget(pg18.admin_dsn, None)
    options = BenchOptions(
        scripts=(builtin_spec("tpcb"),),
        database="never_created",
        configs=(SettingsFile("default"), SettingsFile("b.conf", {"work_mem": "8MB"})),
    )
    with pytest.raises(UsageError, match="works only on the embedded server"):
        run_benchmark(target, options)
