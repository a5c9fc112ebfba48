"""Run every benchmarks/bench_*.py and print one summary table.

    .venv/bin/python benchmarks/run_all.py            # all of them
    .venv/bin/python benchmarks/run_all.py --quick    # short runs
    .venv/bin/python benchmarks/run_all.py --only pgbench --only collect

Each script runs in its own process (the same Python) and must write
results/<name>.json (see _common.py and README.md); with --quick they write
to results/tmp/quick/ instead, so a short run never replaces a committed one. A script fails when it
exits non-zero or leaves no fresh result with a "summary" object. Targets
are checked and shown; with --strict a missed target fails the run too.
Output of each script goes to results/tmp/logs/<name>.log (not committed).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

HERE = Path(__file__).resolve().parent
RESULTS_ENV = "PGTUNE_HX_BENCH_RESULTS"
HEADLINES = 6  # summary entries shown per benchmark


@dataclass
class Outcome:
    name: str
    status: str
    seconds: float
    summary: dict[str, Any] = field(default_factory=dict)
    targets: list[tuple[str, bool, str]] = field(default_factory=list)  # key, met, text
    detail: str = ""
    result_file: str = ""

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    @property
    def targets_met(self) -> bool:
        return all(met for _, met, _ in self.targets)


def check_targets(
    summary: Mapping[str, Any], target: Mapping[str, Any]
) -> list[tuple[str, bool, str]]:
    checks: list[tuple[str, bool, str]] = []
    for key, bound in target.items():
        value = summary.get(key)
        if not isinstance(bound, Mapping) or not isinstance(value, int | float):
            checks.append((key, False, f"{key}: no value to check"))
            continue
        met = True
        parts = []
        if "max" in bound:
            met = met and value <= bound["max"]
            parts.append(f"<= {bound['max']}")
        if "min" in bound:
            met = met and value >= bound["min"]
            parts.append(f">= {bound['min']}")
        checks.append((key, met, f"{key} {value:g} {' and '.join(parts)}"))
    return checks


def run_one(script: Path, results: Path, logs: Path, quick: bool, timeout: float) -> Outcome:
    name = script.stem.removeprefix("bench_")
    result_file = results / f"{name}.json"
    log_file = logs / f"{name}.log"
    log_file.parent.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, RESULTS_ENV: str(results)}
    command = [sys.executable, str(script), *(["--quick"] if quick else [])]
    started = time.time()
    try:
        with log_file.open("w") as log:
            code = subprocess.run(
                command, stdout=log, stderr=subprocess.STDOUT, env=env, timeout=timeout, check=False
            ).returncode
    except subprocess.TimeoutExpired:
        return Outcome(name, "timeout", time.time() - started, detail=f"over {timeout:.0f}s")
    seconds = time.time() - started
    if code != 0:
        tail = log_file.read_text(errors="replace").strip().splitlines()[-1:] or [""]
        return Outcome(name, f"exit {code}", seconds, detail=tail[0][:120])
    if not result_file.exists() or result_file.stat().st_mtime < started:
        return Outcome(name, "no result", seconds, detail=f"{result_file.name} not written")
    try:
        document = json.loads(result_file.read_text())
    except json.JSONDecodeError as exc:
        return Outcome(name, "bad result", seconds, detail=str(exc))
    summary = document.get("summary") if isinstance(document, dict) else None
    if not isinstance(summary, dict):
        return Outcome(name, "bad result", seconds, detail="no 'summary' object")
    target = document.get("target") or {}
    targets = check_targets(summary, target) if isinstance(target, Mapping) else []
    shown = result_file.relative_to(HERE) if result_file.is_relative_to(HERE) else result_file
    return Outcome(name, "ok", seconds, summary, targets, result_file=str(shown))


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.3g}" if abs(value) < 1000 else f"{value:,.0f}"
    return str(value)


def render(outcomes: list[Outcome], console: Console) -> None:
    table = Table(title="toolkit benchmarks", title_justify="left")
    for column in ("benchmark", "status", "seconds", "headline numbers", "targets"):
        table.add_column(column, justify="right" if column == "seconds" else "left")
    for outcome in outcomes:
        items = list(outcome.summary.items())
        headline = "\n".join(f"{k} = {_fmt(v)}" for k, v in items[:HEADLINES])
        if len(items) > HEADLINES:
            headline += f"\n(+{len(items) - HEADLINES} more in {outcome.result_file})"
        targets = (
            "\n".join(
                f"[{'green' if met else 'red'}]{'met' if met else 'MISSED'}[/] {text}"
                for _, met, text in outcome.targets
            )
            or "-"
        )
        status = f"[green]{outcome.status}[/]" if outcome.ok else f"[red]{outcome.status}[/]"
        table.add_row(
            outcome.name, status, f"{outcome.seconds:.1f}", headline or outcome.detail, targets
        )
    console.print(table)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run every benchmarks/bench_*.py script.")
    parser.add_argument("--quick", action="store_true", help="pass --quick to every script")
    parser.add_argument("--only", action="append", default=[], help="run only NAME (repeatable)")
    parser.add_argument("--strict", action="store_true", help="a missed target fails the run")
    parser.add_argument("--timeout", type=float, default=3600, help="seconds per script")
    parser.add_argument("--dir", type=Path, default=HERE, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    scripts = sorted(args.dir.glob("bench_*.py"))
    if args.only:
        wanted = set(args.only)
        unknown = wanted - {s.stem.removeprefix("bench_") for s in scripts}
        if unknown:
            parser.error(f"no such benchmark: {', '.join(sorted(unknown))}")
        scripts = [s for s in scripts if s.stem.removeprefix("bench_") in wanted]
    if not scripts:
        parser.error(f"no bench_*.py script in {args.dir}")
    console = Console(stderr=False)
    results = args.dir / "results"
    logs = results / "tmp" / "logs"
    if args.quick:
        results = results / "tmp" / "quick"
    outcomes: list[Outcome] = []
    for script in scripts:
        console.print(f"running {script.name} ...", style="dim")
        outcomes.append(run_one(script, results, logs, args.quick, args.timeout))
    render(outcomes, console)
    failed = [o for o in outcomes if not o.ok]
    missed = [o for o in outcomes if o.ok and not o.targets_met]
    if failed:
        console.print(f"{len(failed)} benchmark(s) failed; logs in {logs}")
        return 1
    if missed and args.strict:
        console.print(f"{len(missed)} benchmark(s) missed a target")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
