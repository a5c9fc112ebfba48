"""The regression gate and the CLI, on a real short run and baselines made from it."""

from __future__ import annotations

import contextlib
import copy
import io
import json
import os
import subprocess
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest

from pgtune_hx.bench.pgbench import gate
from pgtune_hx.bench.pgbench.results import load_results, save_results
from pgtune_hx.bench.pgbench.scripts import builtin_spec
from pgtune_hx.bench.pgbench.session import BenchOptions, run_benchmark
from pgtune_hx.bench.target import BenchTarget
from pgtune_hx.cli.main import run
from pgtune_hx.embedded import EmbeddedServer
from pgtune_hx.errors import InvalidInputFile, UsageError, WriteNotAllowed


@dataclass(frozen=True)
class CliResult:
    returncode: int
    stdout: str
    stderr: str


def cli(*args: str) -> CliResult:
    """The CLI in this process (an interpreter start costs seconds on a busy machine)."""
    stdout, stderr = io.StringIO(), io.StringIO()
    with (
        contextlib.redirect_stdout(stdout),
        contextlib.redirect_stderr(stderr),
        pytest.raises(SystemExit) as info,
    ):
        run(list(args))
    code = info.value.code
    return CliResult(code if isinstance(code, int) else 1, stdout.getvalue(), stderr.getvalue())


def cli_process(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "pgtune_hx", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )


def database_exists(server: EmbeddedServer, name: str) -> bool:
    with psycopg.connect(server.dsn(), autocommit=True) as conn:
        row = conn.execute("select 1 from pg_database where datname = %s", (name,)).fetchone()
    return row is not None


def drop_database(server: EmbeddedServer, name: str) -> None:
    with psycopg.connect(server.dsn(), autocommit=True) as conn:
        conn.execute(f'drop database if exists "{name}" with (force)')


@pytest.fixture(scope="module")
def real_results(pg18_server: EmbeddedServer, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One real tpcb benchmark: 1 and 2 clients, 2 runs of 1 s each."""
    name = f"gate_{uuid.uuid4().hex[:8]}"
    options = BenchOptions(
        scripts=(builtin_spec("tpcb"),), clients=(1, 2), duration_s=1, runs=2, database=name
    )
    try:
        results = run_benchmark(BenchTarget(pg18_server.dsn(), pg18_server), options)
    finally:
        drop_database(pg18_server, name)
    path = tmp_path_factory.mktemp("gate") / "results.json"
    save_results(results, path)
    return path


def scaled(results: dict[str, Any], factor: float) -> dict[str, Any]:
    """The same runs, `factor` times faster: TPS times factor, latencies divided by it."""
    faster = copy.deepcopy(results)
    for one in faster["runs"]:
        one["pgbench"]["tps"] *= factor
        latency = one["log"]["latency_ms"]
        for key, value in latency.items():
            if value is not None:
                latency[key] = value / factor
    return faster


def write(path: Path, data: dict[str, Any]) -> Path:
    save_results(data, path)
    return path


def test_threshold_forms() -> None:
    assert gate.parse_threshold("5%") == gate.parse_threshold("0.05") == 0.05
    for bad in ("5", "abc", "0%", "-5%"):
        with pytest.raises(UsageError):
            gate.parse_threshold(bad)


def test_gate_against_itself_passes(real_results: Path) -> None:
    result = cli("bench", "pgbench-gate", str(real_results), "--baseline", str(real_results))
    assert result.returncode == 0, result.stderr
    assert "pgbench regression gate: PASSED" in result.stdout
    assert "| A " not in result.stdout
    rows = [ln for ln in result.stdout.splitlines() if ln.startswith("| current | ")]
    assert len(rows) == 4  # 2 client counts x (tps, p95)
    assert all(ln.endswith("| +0.0% | ok |") for ln in rows)


def test_gate_fails_against_a_faster_baseline(real_results: Path, tmp_path: Path) -> None:
    baseline = write(tmp_path / "base.json", scaled(load_results(real_results), 3.0))
    summary = tmp_path / "summary.md"
    result = cli(
        "bench", "pgbench-gate", str(real_results), "--baseline", str(baseline),
        "--max-regression", "60%", "--markdown", str(summary),
    )  # fmt: skip
    assert result.returncode == 1
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1
    assert lines[0].startswith("error: 4 regression(s) past 60.0%")
    assert "FAILED" in result.stdout
    assert "| -66.7% | **regression** |" in result.stdout  # TPS a third of the baseline
    assert "| +200.0% | **regression** |" in result.stdout  # p95 three times the baseline
    assert summary.read_text() == result.stdout.rstrip("\n") + "\n"


def test_gate_passes_a_slower_baseline_and_reports_json(real_results: Path, tmp_path: Path) -> None:
    baseline = write(tmp_path / "base.json", scaled(load_results(real_results), 0.5))
    result = cli(
        "bench", "pgbench-gate", str(real_results), "--baseline", str(baseline),
        "--max-regression", "0.01", "--format", "json",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    verdict = json.loads(result.stdout)
    assert verdict["passed"] is True
    assert verdict["max_regression"] == 0.01
    tps_rows = [r for r in verdict["rows"] if r["metric"] == "tps"]
    assert [r["change"] for r in tps_rows] == [-1.0, -1.0]  # twice the baseline's TPS


def test_gate_refuses_a_different_workload(real_results: Path, tmp_path: Path) -> None:
    other = load_results(real_results)
    other["workload"]["scale"] = 10
    baseline = write(tmp_path / "base.json", other)
    with pytest.raises(InvalidInputFile, match="another workload or scale"):
        gate.evaluate(load_results(real_results), load_results(baseline), 0.05)
    result = cli("bench", "pgbench-gate", str(real_results), "--baseline", str(baseline))
    assert result.returncode == InvalidInputFile.exit_code
    foreign = tmp_path / "foreign.json"
    foreign.write_text('{"summary": {}}')
    result = cli("bench", "pgbench-gate", str(real_results), "--baseline", str(foreign))
    assert result.returncode == InvalidInputFile.exit_code
    assert "not a pgtune_hx pgbench results file" in result.stderr


def test_cli_run_gate_plot_and_results(
    pg18_server: EmbeddedServer, real_results: Path, tmp_path: Path
) -> None:
    """The whole command: a real run, the plot, the JSON, and a gate that fails."""
    baseline = write(tmp_path / "base.json", scaled(load_results(real_results), 3.0))
    name = f"cli_{uuid.uuid4().hex[:8]}"
    output, plot = tmp_path / "out.json", tmp_path / "out.png"
    try:
        result = cli(
            "--data-dir", str(pg18_server.base_dir), "bench", "pgbench", "--dsn", "embedded",
            "--builtin", "tpcb", "--clients", "1,2", "--duration", "1", "--runs", "1",
            "--database", name, "--baseline", str(baseline), "--max-regression", "60%",
            "-o", str(output), "--plot", str(plot),
        )  # fmt: skip
    finally:
        drop_database(pg18_server, name)
    assert result.returncode == 1, result.stderr
    assert f"in database {name}" in result.stderr
    assert "run 2/2" in result.stderr or "run 2:" in result.stderr
    assert "TPS" in result.stdout  # the results table (narrow in tests: no terminal)
    assert "pgbench regression gate: FAILED" in result.stdout
    saved = load_results(output)
    assert saved["gate"]["passed"] is False
    assert [r["clients"] for r in saved["runs"]] == [1, 2]
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert plot.stat().st_size > 10_000


def test_cli_refuses_another_server_without_allow_writes(pg18_server: EmbeddedServer) -> None:
    dsn = pg18_server.tcp_dsn()
    result = cli_process(
        "bench", "pgbench", "--dsn", dsn, "--database", "refused_db", "--duration", "1"
    )
    assert result.returncode == WriteNotAllowed.exit_code
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1
    assert "would initialize its tables in database refused_db" in lines[0]
    assert "--allow-writes" in lines[0]
    assert pg18_server.password not in result.stdout + result.stderr
    assert not database_exists(pg18_server, "refused_db")


def test_cli_compare_elsewhere_is_refused_clearly(pg18_server: EmbeddedServer) -> None:
    result = cli(
        "bench", "pgbench", "--dsn", pg18_server.tcp_dsn(), "--allow-writes",
        "--database", "refused_db", "--compare", "default", "default",
    )  # fmt: skip
    assert result.returncode == UsageError.exit_code
    assert "works only on the embedded server" in result.stderr
    assert not database_exists(pg18_server, "refused_db")


@pytest.mark.parametrize(
    ("script", "code", "needle"),
    [
        ("\\set id random(1, 10\nselect :id;\n", InvalidInputFile.exit_code, "unbalanced"),
        ("select * fromm t;\n", 10, "syntax error"),
        ("", InvalidInputFile.exit_code, "is empty"),
    ],
)
def test_cli_rejects_invalid_scripts_before_any_run(
    pg18_server: EmbeddedServer, tmp_path: Path, script: str, code: int, needle: str
) -> None:
    path = tmp_path / "bad.sql"
    path.write_text(script)
    result = cli(
        "--data-dir", str(pg18_server.base_dir), "bench", "pgbench", "--script", str(path),
        "--database", "never_created",
    )  # fmt: skip
    assert result.returncode == code, result.stderr
    assert needle in result.stderr
    assert "initializing" not in result.stderr
    assert not database_exists(pg18_server, "never_created")


def test_gate_metric_selection(real_results: Path, tmp_path: Path) -> None:
    """A baseline with a third of the latency but the same TPS: only latency regresses."""
    quicker = load_results(real_results)
    for one in quicker["runs"]:
        latency = one["log"]["latency_ms"]
        for key, value in latency.items():
            if value is not None:
                latency[key] = value / 3
    baseline = write(tmp_path / "base.json", quicker)
    common = ("bench", "pgbench-gate", str(real_results), "--baseline", str(baseline))
    assert cli(*common, "--max-regression", "60%").returncode == 1
    only_tps = cli(*common, "--max-regression", "60%", "--gate-metric", "tps")
    assert only_tps.returncode == 0, only_tps.stderr
    assert "latency_p95_ms" not in only_tps.stdout
    unknown = cli(*common, "--gate-metric", "qps")
    assert unknown.returncode == UsageError.exit_code
    assert "unknown gate metric qps" in unknown.stderr
