"""Two choices measured head to head, in alternating passes.

The adaptive search and the exhaustive sweep each measure their points once,
minutes apart; on a shared machine the same setting can measure at several
times the QPS in one pass than in another. To compare the two *choices*, both
indexes exist at the same time (the second on a copy of the table, so each is
the only index on its table and the planner cannot swap them) and passes
alternate A B, B A, A B ... on the full tuning query set. Each round gives a
paired QPS ratio in which slow drift of the machine's load cancels; the
median over rounds is the reported ratio. The server CPU time per query of
each side (when measurable) gives a second ratio, free of waiting for a core.
None of this is counted as search time: it is the referee, not a player.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any

from pgtune_hx.bench.vector.build import IndexConfig
from pgtune_hx.bench.vector.lab import Lab
from pgtune_hx.bench.vector.sweep import QuerySet, Searcher, SweepPoint

ROUNDS = 7
WARMUP_QUERIES = 100


@dataclass(frozen=True)
class Contender:
    name: str  # "adaptive", "exhaustive"
    config: IndexConfig
    value: int


def head_to_head(lab: Lab, a: Contender, b: Contender, rounds: int = ROUNDS) -> dict[str, Any]:
    """QPS and cost of ``a`` against ``b`` in ``rounds`` alternating rounds;
    ratios are a over b for QPS and b's cost over a's (above 1: a is faster)."""
    same = a.config == b.config and a.value == b.value
    full = lab.tables["items"]
    with ExitStack() as stack:
        searchers: dict[str, Searcher] = {}
        _, first = stack.enter_context(lab.index(a.config, full))
        searchers[a.name] = first
        if a.config == b.config:
            searchers[b.name] = first
        else:
            _, second = stack.enter_context(lab.index(b.config, lab.twin_table()))
            searchers[b.name] = second
        sides = [(a.name, searchers[a.name], a.config, a.value)]
        if not same:
            sides.append((b.name, searchers[b.name], b.config, b.value))
        lab.progress.task(f"head to head, {rounds} rounds", total=rounds)
        passes = alternate(sides, full.tuning, rounds, lab.progress.advance)
    return summarize(a, b, passes[a.name], passes[a.name] if same else passes[b.name])


# (name, searcher on its own table, index configuration, search setting)
Side = tuple[str, Searcher, IndexConfig, int]


def alternate(
    sides: list[Side], queries: QuerySet, rounds: int, advance: Callable[[], None] | None = None
) -> dict[str, list[SweepPoint]]:
    """Warm every side, then ``rounds`` rounds of one pass each, the order
    reversed every other round (A B, B A, ...) so drift hits both alike."""
    for _, searcher, config, value in sides:
        searcher.run(config, value, queries.head(WARMUP_QUERIES), short_is_flag=False)
    passes: dict[str, list[SweepPoint]] = {name: [] for name, *_ in sides}
    for r in range(rounds):
        for name, searcher, config, value in sides if r % 2 == 0 else sides[::-1]:
            passes[name].append(searcher.run(config, value, queries))
        if advance is not None:
            advance()
    return passes


def summarize(
    a: Contender, b: Contender, a_passes: list[SweepPoint], b_passes: list[SweepPoint]
) -> dict[str, Any]:
    same = a.config == b.config and a.value == b.value
    paired = [pa.qps / pb.qps for pa, pb in zip(a_passes, b_passes, strict=True) if pb.qps > 0]
    cost_a = statistics.median(p.cost_ms for p in a_passes)
    cost_b = statistics.median(p.cost_ms for p in b_passes)
    server = all(p.server_ms is not None for p in [*a_passes, *b_passes])
    return {
        "rounds": len(a_passes),
        "same_choice": same,
        "cost_source": "server_cpu" if server else "client_latency",
        a.name: _side(a, a_passes),
        b.name: _side(b, b_passes),
        # one setting measured twice is the same choice: its ratio is 1 by definition
        "qps_ratio": 1.0 if same else statistics.median(paired) if paired else None,
        "qps_ratio_of_medians": 1.0
        if same
        else statistics.median(p.qps for p in a_passes)
        / statistics.median(p.qps for p in b_passes),
        "paired_qps_ratios": paired,
        "cost_ratio": 1.0 if same else cost_b / cost_a,
    }


def _side(c: Contender, passes: list[SweepPoint]) -> dict[str, Any]:
    first = passes[0]
    return {
        "index": c.config.label,
        "config": c.config.to_dict(),
        "param": first.param,
        "value": c.value,
        "recall": first.recall.to_dict() if first.recall else None,
        "valid": all(p.valid for p in passes),
        "median_qps": statistics.median(p.qps for p in passes),
        "median_cost_ms": statistics.median(p.cost_ms for p in passes),
        "qps": [p.qps for p in passes],
        "cost_ms": [p.cost_ms for p in passes],
        "index_blocks_per_query": first.blocks,
    }
