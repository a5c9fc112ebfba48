"""Regression gate: a results file against a stored baseline, for CI.

Both files are summarized again from their raw runs (not from their stored
summaries), per configuration and client count. A metric regresses when it is
worse than the baseline's median by more than the allowed fraction: TPS lower,
p95 latency higher. The Markdown table is meant for a CI job's log or step
summary.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pgtune_hx.bench.pgbench.compare import METRICS, aggregate
from pgtune_hx.errors import InvalidInputFile, ThresholdExceeded, UsageError

GATED_METRICS = ("tps", "latency_p95_ms")


def parse_threshold(text: str) -> float:
    """'5%' or '0.05' -> 0.05; a bare number of 1 or more is ambiguous and refused.

    >>> parse_threshold("5%"), parse_threshold("0.05"), parse_threshold("60 %")
    (0.05, 0.05, 0.6)
    """
    value = text.strip()
    percent = value.endswith("%")
    number_text = value.removesuffix("%").strip()
    if not re.fullmatch(r"\d+(?:\.\d+)?|\.\d+", number_text):
        raise UsageError(f"--max-regression: expected e.g. 5% or 0.05, got {text!r}")
    number = float(number_text)
    if percent:
        number /= 100
    elif number >= 1:
        raise UsageError(
            f"--max-regression {text!r} is ambiguous: write {number_text}% or a fraction below 1"
        )
    if number <= 0:
        raise UsageError("--max-regression must be above 0")
    return round(number, 6)


@dataclass(frozen=True)
class GateRow:
    config: str
    clients: int
    metric: str
    baseline: float | None
    current: float | None
    change: float | None  # fraction, positive = worse
    passed: bool
    note: str = ""


@dataclass(frozen=True)
class GateResult:
    rows: list[GateRow]
    max_regression: float

    @property
    def passed(self) -> bool:
        return all(r.passed for r in self.rows)

    @property
    def failures(self) -> list[GateRow]:
        return [r for r in self.rows if not r.passed]

    def to_dict(self) -> dict[str, object]:
        return {
            "passed": self.passed,
            "max_regression": self.max_regression,
            "rows": [r.__dict__ for r in self.rows],
        }


def _workload_key(results: Mapping[str, Any]) -> tuple[object, ...]:
    workload = results.get("workload")
    if not isinstance(workload, Mapping):
        raise InvalidInputFile("results file has no 'workload' section")
    scripts = workload.get("scripts") or []
    names = tuple(
        sorted(
            (str(s.get("name")), int(s.get("weight", 1))) for s in scripts if isinstance(s, dict)
        )
    )
    return names, workload.get("scale")


def check_compatible(baseline: Mapping[str, Any], workload: Mapping[str, Any]) -> None:
    """Refuse a baseline recorded with other scripts, weights or scale."""
    mine = _workload_key({"workload": workload})
    theirs = _workload_key(baseline)
    if mine != theirs:
        raise InvalidInputFile(
            f"the baseline was recorded with another workload or scale: baseline {theirs}, "
            f"this run {mine}"
        )


def parse_metrics(names: Sequence[str] | None) -> tuple[str, ...]:
    """--gate-metric values; none given means GATED_METRICS."""
    if not names:
        return GATED_METRICS
    unknown = [n for n in names if n not in METRICS]
    if unknown:
        raise UsageError(f"unknown gate metric {', '.join(unknown)} (known: {', '.join(METRICS)})")
    return tuple(dict.fromkeys(names))


def evaluate(
    current: Mapping[str, Any],
    baseline: Mapping[str, Any],
    max_regression: float,
    metrics: Sequence[str] = GATED_METRICS,
) -> GateResult:
    check_compatible(baseline, current.get("workload") or {})
    now = {_group_key(r): r for r in aggregate(current["runs"])}
    before = {_group_key(r): r for r in aggregate(baseline["runs"])}
    rows: list[GateRow] = []
    for key in sorted(now.keys() | before.keys()):
        config, clients = key
        for metric in metrics:
            rows.append(
                _row(config, clients, metric, now.get(key), before.get(key), max_regression)
            )
    if not any(r.baseline is not None and r.current is not None for r in rows):
        raise InvalidInputFile(
            "no configuration and client count in common with the baseline "
            f"(baseline: {sorted(before)}, this run: {sorted(now)})"
        )
    return GateResult(rows, max_regression)


def _group_key(row: Mapping[str, object]) -> tuple[str, int]:
    return str(row["config"]), int(str(row["clients"]))


def _median(group: Mapping[str, Any] | None, metric: str) -> float | None:
    if group is None or not isinstance(group.get(metric), Mapping):
        return None
    return float(group[metric]["median"])


def _row(
    config: str,
    clients: int,
    metric: str,
    now: Mapping[str, Any] | None,
    before: Mapping[str, Any] | None,
    limit: float,
) -> GateRow:
    current, baseline = _median(now, metric), _median(before, metric)
    if baseline is None or current is None:
        note = "not in baseline" if baseline is None else "not in this run"
        return GateRow(config, clients, metric, baseline, current, None, True, note)
    higher_is_better = METRICS[metric][1]
    if baseline == 0:
        return GateRow(config, clients, metric, baseline, current, None, True, "baseline is 0")
    change = (1 - current / baseline) if higher_is_better else (current / baseline - 1)
    passed = change <= limit
    return GateRow(config, clients, metric, baseline, current, round(change, 4), passed)


def markdown(result: GateResult, *, title: str = "pgbench regression gate") -> str:
    status = "PASSED" if result.passed else "FAILED"
    lines = [
        f"### {title}: {status}",
        "",
        f"Allowed regression: {result.max_regression:.1%} (TPS lower or latency higher "
        "than the baseline median).",
        "",
        "| config | clients | metric | baseline | current | change | result |",
        "|---|---:|---|---:|---:|---:|---|",
    ]
    for row in result.rows:
        change = ""
        if row.baseline and row.current is not None:
            change = f"{row.current / row.baseline - 1:+.1%}"
        verdict = row.note or ("ok" if row.passed else "**regression**")
        lines.append(
            f"| {row.config} | {row.clients} | {row.metric} | {_fmt(row.baseline)} | "
            f"{_fmt(row.current)} | {change} | {verdict} |"
        )
    return "\n".join(lines) + "\n"


def _fmt(value: float | None) -> str:
    return "" if value is None else f"{value:,.2f}"


def enforce(result: GateResult) -> None:
    """ThresholdExceeded (exit 1) naming the worst regression."""
    failures: Sequence[GateRow] = result.failures
    if not failures:
        return
    worst = max(failures, key=lambda r: r.change or 0.0)
    raise ThresholdExceeded(
        f"{len(failures)} regression(s) past {result.max_regression:.1%}: worst is "
        f"{worst.metric} at {worst.clients} client(s), config {worst.config}, "
        f"{worst.change:.1%} worse than the baseline"
    )
