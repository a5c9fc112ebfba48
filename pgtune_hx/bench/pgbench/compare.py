"""A/B comparison on a noisy machine: alternate, pair, take ratios, judge the spread.

Runs alternate A B A B ... at each client count, so that slow drift (other
load, a checkpoint, a warming cache) hits both configurations alike. Run i of
B is paired with run i of A; the ratio B/A of each pair is one observation.
The verdict uses the whole spread of those ratios (min..max): when it covers
1.0 there is no significant difference; a direction needs at least MIN_PAIRS
pairs, all on the same side of 1.0. The sign test's p-value and a bootstrap
interval of the median are recorded alongside; with 3 pairs the sign test
cannot go below p = 0.25, so the verdict text carries it, and more runs firm
a direction up.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass

import numpy as np

BOOTSTRAP_RESAMPLES = 2000
BOOTSTRAP_SEED = 20240601  # fixed, so a results file recomputes to the same interval

# metric -> (where it is in a run's dict, higher is better)
METRICS: dict[str, tuple[tuple[str, ...], bool]] = {
    "tps": (("pgbench", "tps"), True),
    "latency_p50_ms": (("log", "latency_ms", "p50"), False),
    "latency_p95_ms": (("log", "latency_ms", "p95"), False),
    "latency_p99_ms": (("log", "latency_ms", "p99"), False),
}
NO_DIFFERENCE = "no significant difference"
MIN_PAIRS = 3


@dataclass(frozen=True)
class PlannedRun:
    index: int
    config: str
    clients: int
    repeat: int  # pair number within this client count


def plan_runs(configs: Sequence[str], clients: Sequence[int], runs: int) -> list[PlannedRun]:
    """ABAB... at each client count, client counts in the order given.

    >>> [(p.config, p.clients, p.repeat) for p in plan_runs(["A", "B"], [1, 4], 2)]
    [('A', 1, 0), ('B', 1, 0), ('A', 1, 1), ('B', 1, 1), ('A', 4, 0), ('B', 4, 0), ('A', 4, 1), ('B', 4, 1)]
    """  # noqa: E501
    plan: list[PlannedRun] = []
    for count in clients:
        for repeat in range(runs):
            for config in configs:
                plan.append(PlannedRun(len(plan), config, count, repeat))
    return plan


def metric_value(run: Mapping[str, object], metric: str) -> float | None:
    path, _ = METRICS[metric]
    value: object = run
    for key in path:
        if not isinstance(value, Mapping):
            return None
        value = value.get(key)
    return float(value) if isinstance(value, int | float) else None


@dataclass(frozen=True)
class RatioStats:
    n: int
    ratios: list[float]
    median: float | None
    min: float | None
    max: float | None
    ci95: tuple[float, float] | None  # bootstrap percentile interval of the median
    sign_test_p: float | None  # two-sided, ratios on one side of 1.0
    higher_is_better: bool
    verdict: str

    def to_dict(self) -> dict[str, object]:
        data = asdict(self)
        data["ci95"] = list(self.ci95) if self.ci95 else None
        return data


def _sign_test(ratios: Sequence[float]) -> float | None:
    above = sum(1 for r in ratios if r > 1.0)
    below = sum(1 for r in ratios if r < 1.0)
    n = above + below
    if n == 0:
        return None
    k = max(above, below)
    tail = sum(math.comb(n, i) for i in range(k, n + 1)) / float(1 << n)
    return min(1.0, 2 * tail)


def _bootstrap(ratios: Sequence[float]) -> tuple[float, float] | None:
    if len(ratios) < 2:
        return None
    rng = np.random.default_rng(BOOTSTRAP_SEED)
    data = np.asarray(ratios, dtype=np.float64)
    samples = rng.choice(data, size=(BOOTSTRAP_RESAMPLES, data.size), replace=True)
    medians = np.median(samples, axis=1)
    low, high = np.percentile(medians, [2.5, 97.5])
    return float(round(low, 4)), float(round(high, 4))


def verdict(ratios: Sequence[float], higher_is_better: bool) -> str:
    """What the spread of B/A ratios says; a direction needs MIN_PAIRS pairs that agree.

    >>> verdict([1.10, 1.20, 1.15], True)
    'B better: +15.0% (all 3 pairs agree; sign test p=0.25)'
    >>> verdict([0.95, 1.10, 1.02], True)
    'no significant difference'
    >>> verdict([0.9, 0.8], True)
    'too few pairs (2) to judge: use --runs 3 or more'
    """
    if len(ratios) < MIN_PAIRS:
        return f"too few pairs ({len(ratios)}) to judge: use --runs {MIN_PAIRS} or more"
    low, high = min(ratios), max(ratios)
    if low <= 1.0 <= high:
        return NO_DIFFERENCE
    median = float(np.median(ratios))
    change = (median - 1.0) * 100
    better = (median > 1.0) == higher_is_better
    p_value = _sign_test(ratios)
    return (
        f"B {'better' if better else 'worse'}: {change:+.1f}% "
        f"(all {len(ratios)} pairs agree; sign test p={p_value:.2g})"
    )


def ratio_stats(ratios: Sequence[float], higher_is_better: bool) -> RatioStats:
    values = [float(round(r, 4)) for r in ratios]
    return RatioStats(
        n=len(values),
        ratios=values,
        median=float(round(float(np.median(values)), 4)) if values else None,
        min=min(values) if values else None,
        max=max(values) if values else None,
        ci95=_bootstrap(values),
        sign_test_p=_sign_test(values),
        higher_is_better=higher_is_better,
        verdict=verdict(values, higher_is_better) if values else "no complete pair",
    )


def compare(
    runs: Sequence[Mapping[str, object]], *, a: str = "A", b: str = "B"
) -> list[dict[str, object]]:
    """Per client count: the B/A ratio of each pair for every metric, and its verdict."""
    by_key: dict[tuple[str, int, int], Mapping[str, object]] = {}
    for run in runs:
        config, clients, repeat = run.get("config"), run.get("clients"), run.get("repeat")
        if isinstance(config, str) and isinstance(clients, int) and isinstance(repeat, int):
            by_key[(config, clients, repeat)] = run
    client_counts = sorted({k[1] for k in by_key})
    rows: list[dict[str, object]] = []
    for clients in client_counts:
        repeats = sorted({k[2] for k in by_key if k[1] == clients})
        row: dict[str, object] = {"clients": clients, "pairs": 0, "metrics": {}}
        metrics: dict[str, object] = {}
        for metric, (_, higher_is_better) in METRICS.items():
            ratios: list[float] = []
            for repeat in repeats:
                run_a, run_b = by_key.get((a, clients, repeat)), by_key.get((b, clients, repeat))
                if run_a is None or run_b is None:
                    continue
                value_a, value_b = metric_value(run_a, metric), metric_value(run_b, metric)
                if value_a and value_b is not None:
                    ratios.append(value_b / value_a)
            metrics[metric] = ratio_stats(ratios, higher_is_better).to_dict()
            row["pairs"] = max(int(str(row["pairs"])), len(ratios))
        row["metrics"] = metrics
        rows.append(row)
    return rows


def aggregate(runs: Sequence[Mapping[str, object]]) -> list[dict[str, object]]:
    """Per configuration and client count: median, min and max of every metric."""
    groups: dict[tuple[str, int], list[Mapping[str, object]]] = {}
    for run in runs:
        config, clients = run.get("config"), run.get("clients")
        if isinstance(config, str) and isinstance(clients, int):
            groups.setdefault((config, clients), []).append(run)
    rows: list[dict[str, object]] = []
    for (config, clients), members in groups.items():
        row: dict[str, object] = {"config": config, "clients": clients, "runs": len(members)}
        for metric in METRICS:
            values = [v for v in (metric_value(r, metric) for r in members) if v is not None]
            row[metric] = (
                {
                    "median": float(round(float(np.median(values)), 4)),
                    "min": float(round(min(values), 4)),
                    "max": float(round(max(values), 4)),
                }
                if values
                else None
            )
        failed = [_log_int(r, "failed") for r in members]
        retries = [_log_int(r, "retries") for r in members]
        row["failed"] = sum(failed)
        row["retries"] = sum(retries)
        rows.append(row)
    return rows


def _log_int(run: Mapping[str, object], key: str) -> int:
    log = run.get("log")
    value = log.get(key) if isinstance(log, Mapping) else None
    return int(value) if isinstance(value, int) else 0
