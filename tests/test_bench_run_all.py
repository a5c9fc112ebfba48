"""benchmarks/run_all.py: runs every bench_*.py, checks results and targets, one table."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"
COMMON = (BENCHMARKS / "_common.py").read_text()

GOOD = """
from _common import arguments, write_result
args = arguments("a fast one")
write_result("fast", {"seconds_p50": 0.5 if args.quick else 0.7, "rows": 1000},
             target={"seconds_p50": {"max": 0.6}}, samples=[0.5, 0.7])
"""
CRASHES = "raise SystemExit('boom: no server')\n"
FORGETS = "print('measured nothing')\n"


@pytest.fixture
def bench_dir(tmp_path: Path) -> Path:
    (tmp_path / "_common.py").write_text(COMMON)
    (tmp_path / "bench_fast.py").write_text(GOOD)
    return tmp_path


def run_all(bench_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(BENCHMARKS / "run_all.py"), "--dir", str(bench_dir), *args],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "200"},
        timeout=120,
        check=False,
    )


def test_results_table_and_targets(bench_dir: Path) -> None:
    quick = run_all(bench_dir, "--quick", "--strict")
    assert quick.returncode == 0, quick.stdout + quick.stderr
    assert "seconds_p50 = 0.5" in quick.stdout
    assert "met seconds_p50 0.5 <= 0.6" in quick.stdout
    # a quick run never replaces a committed result
    assert not (bench_dir / "results" / "fast.json").exists()
    document = json.loads((bench_dir / "results" / "tmp" / "quick" / "fast.json").read_text())
    assert document["name"] == "fast"
    assert document["summary"] == {"seconds_p50": 0.5, "rows": 1000}
    assert document["samples"] == [0.5, 0.7]

    full = run_all(bench_dir)
    assert (bench_dir / "results" / "fast.json").exists()
    assert full.returncode == 0  # a missed target is shown, not fatal without --strict
    assert "MISSED seconds_p50 0.7 <= 0.6" in full.stdout
    assert run_all(bench_dir, "--strict").returncode == 1


def test_failures_are_reported_and_fail_the_run(bench_dir: Path) -> None:
    (bench_dir / "bench_crashes.py").write_text(CRASHES)
    (bench_dir / "bench_forgets.py").write_text(FORGETS)
    result = run_all(bench_dir)
    assert result.returncode == 1
    assert "exit 1" in result.stdout
    assert "boom: no server" in result.stdout
    assert "no result" in result.stdout
    assert "forgets.json not written" in result.stdout
    assert "2 benchmark(s) failed" in result.stdout
    assert (
        bench_dir / "results" / "tmp" / "logs" / "forgets.log"
    ).read_text() == "measured nothing\n"
    only = run_all(bench_dir, "--only", "fast")
    assert only.returncode == 0
    assert "crashes" not in only.stdout
    assert run_all(bench_dir, "--only", "nope").returncode == 2
