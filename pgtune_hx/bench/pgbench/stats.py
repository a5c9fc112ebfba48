"""Numbers of one run, computed from its per-transaction log records.

Latency percentiles are over successful transactions only (pgbench reports
failed ones separately); throughput counts successful transactions.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

import numpy as np

from pgtune_hx.bench.pgbench.parse import FAILURE_KINDS, SKIPPED, LogRecord

PERCENTILES = (50, 90, 95, 99)


@dataclass(frozen=True)
class LogStats:
    transactions: int  # successful
    failed: int
    failures: dict[str, int]  # by kind: failed (unspecified), serialization, deadlock
    skipped: int
    retried: int  # transactions that needed at least one retry
    retries: int  # retries in total
    duration_s: float  # first transaction start to last transaction end
    tps: float  # successful transactions / duration_s
    latency_ms: dict[str, float | None]  # mean, stddev, min, p50, p90, p95, p99, max
    per_second: list[int] = field(default_factory=list)  # successful tx completed per second
    per_script: dict[str, int] = field(default_factory=dict)  # successful tx by script number

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def _round(value: float) -> float:
    return float(round(value, 4))


def summarize(records: Sequence[LogRecord], *, duration_s: float) -> LogStats:
    """Aggregate a run. duration_s is the run's requested length, used when the
    log cannot tell it (fewer than two transactions)."""
    ok = [r for r in records if r.outcome == "ok"]
    failures = {kind: 0 for kind in FAILURE_KINDS}
    for record in records:
        if record.outcome in failures:
            failures[record.outcome] += 1
    latencies = np.fromiter(
        (r.latency_us for r in ok if r.latency_us is not None), dtype=np.float64, count=len(ok)
    )
    latencies /= 1000.0
    span = duration_s
    per_second: list[int] = []
    if records:
        ends = np.array([r.end_time for r in records], dtype=np.float64)
        first_start = (
            min(r.end_time - (r.latency_us or 0) / 1e6 for r in records if r.outcome == "ok")
            if ok
            else float(ends.min())
        )
        measured = float(ends.max()) - first_start
        if len(records) > 1 and measured > 0:
            span = measured
        if ok:
            ok_ends = np.array([r.end_time for r in ok], dtype=np.float64)
            buckets = np.floor(ok_ends - first_start).astype(np.int64)
            per_second = [int(n) for n in np.bincount(buckets, minlength=max(1, math.ceil(span)))]
    latency: dict[str, float | None]
    if latencies.size:
        latency = {
            "mean": _round(float(latencies.mean())),
            "stddev": _round(float(latencies.std())),
            "min": _round(float(latencies.min())),
            **{
                f"p{p}": _round(float(np.percentile(latencies, p, method="linear")))
                for p in PERCENTILES
            },
            "max": _round(float(latencies.max())),
        }
    else:
        latency = dict.fromkeys(("mean", "stddev", "min", *(f"p{p}" for p in PERCENTILES), "max"))
    return LogStats(
        transactions=len(ok),
        failed=sum(failures.values()),
        failures=failures,
        skipped=sum(1 for r in records if r.outcome == SKIPPED),
        retried=sum(1 for r in records if r.retries > 0),
        retries=sum(r.retries for r in records),
        duration_s=_round(span),
        tps=_round(len(ok) / span) if span > 0 else 0.0,
        latency_ms=latency,
        per_second=per_second,
        per_script={str(k): v for k, v in sorted(Counter(r.script_no for r in ok).items())},
    )
