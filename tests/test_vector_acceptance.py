"""The benchmark's acceptance run, CI-sized: adaptive and exhaustive search of
the same grid on PG 18, the head-to-head comparison of their choices and the
acceptance block. What is asserted is the method (same grid, time counted,
same selection rule, both choices measured side by side), not the speed: the
measured ratios are in benchmarks/results/."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from pgtune_hx.bench.vector.build import IndexConfig
from pgtune_hx.bench.vector.results import acceptance
from pgtune_hx.bench.vector.sweep import search_ladder
from pgtune_hx.embedded import EmbeddedServer
from tests.helpers.vector import SMALL, small_bench

TARGET = SMALL.target


@pytest.fixture(scope="module")
def results(pg18_server: EmbeddedServer) -> Iterator[dict[str, Any]]:
    """One small run in a fresh database, shared by the tests below."""
    with small_bench(pg18_server) as out:
        yield out


def _evaluations(results: dict[str, Any], method: str) -> list[dict[str, Any]]:
    return list(results["searches"][method]["evaluations"])


def test_both_searches_cover_the_same_grid(results: dict[str, Any]) -> None:
    exhaustive = _evaluations(results, "exhaustive")
    grid = {ev["index"] for ev in exhaustive}
    assert grid == {
        "hnsw(m=8,ef_construction=32)",
        "hnsw(m=16,ef_construction=32)",
        "ivfflat(lists=5)",
        "ivfflat(lists=10)",
        "ivfflat(lists=20)",
        "ivfflat(lists=100)",
    }
    for ev in exhaustive:  # every setting of the ladder, at full size
        config = IndexConfig(**ev["config"])
        assert [p["value"] for p in ev["points"]] == search_ladder(config, 10)
        assert ev["rows"] == 10_000
    adaptive = results["searches"]["adaptive"]
    # the richest HNSW graph and every IVFFlat, at full size
    assert [ev["index"] for ev in adaptive["evaluations"]] == [
        "hnsw(m=16,ef_construction=32)",
        "ivfflat(lists=5)",
        "ivfflat(lists=10)",
        "ivfflat(lists=20)",
        "ivfflat(lists=100)",
    ]
    assert all(ev["rows"] == 10_000 for ev in adaptive["evaluations"])


def test_search_time_counts_every_build(results: dict[str, Any]) -> None:
    comparison = results["comparison"]
    for method in ("adaptive", "exhaustive"):
        search = results["searches"][method]
        builds = [ev["build"]["seconds"] for ev in search["evaluations"]]
        assert search["search_seconds"] > sum(builds) > 0
        assert comparison[f"{method}_build_seconds"] == pytest.approx(sum(builds))
    assert comparison["time_ratio"] == pytest.approx(
        comparison["adaptive_seconds"] / comparison["exhaustive_seconds"]
    )


def test_both_choose_by_the_same_rule(results: dict[str, Any]) -> None:
    for method in ("adaptive", "exhaustive"):
        search = results["searches"][method]
        reaching = [ev["chosen"] for ev in search["evaluations"] if ev["chosen"]]
        assert search["best"]["chosen"]["recall"]["low"] >= TARGET
        assert all(c["server_cpu_ms_per_query"] == c["cost_ms"] for c in reaching)
        assert all(c["index_blocks_per_query"] > 0 for c in reaching)
    exhaustive = results["searches"]["exhaustive"]
    reaching = [ev["chosen"] for ev in exhaustive["evaluations"] if ev["chosen"]]
    # the least server CPU per query (2% ties go to the faster build)
    assert exhaustive["best"]["chosen"]["cost_ms"] <= min(c["cost_ms"] for c in reaching) * 1.02
    for ev in _evaluations(results, "exhaustive"):
        ok = [p for p in ev["points"] if p["recall"] and p["recall"]["low"] >= TARGET]
        if ok:
            assert ev["chosen"]["cost_ms"] == min(p["cost_ms"] for p in ok)


def test_adaptive_choice_is_the_last_runoff_winner(results: dict[str, Any]) -> None:
    adaptive = results["searches"]["adaptive"]
    best = adaptive["best"]
    for duel in adaptive["runoffs"]:
        assert len(duel["best"]["cost_ms"]) == len(duel["candidate"]["cost_ms"]) == 3
        assert duel["median_cost_ratio"] == pytest.approx(sorted(duel["paired_cost_ratios"])[1])
        assert duel["winner"] == ("candidate" if duel["median_cost_ratio"] < 1 else "best")
    if adaptive["runoffs"]:
        last = adaptive["runoffs"][-1]
        assert best["index"] == last[last["winner"]]["index"]
    else:  # one candidate reached the target within the margin: the first one
        reaching = [ev for ev in adaptive["evaluations"] if ev["chosen"]]
        assert best["index"] == reaching[0]["index"]
    # a candidate within the margin of the best got a runoff, one outside did not
    met = {d["candidate"]["index"] for d in adaptive["runoffs"]}
    for ev in adaptive["evaluations"][1:]:
        if ev["index"] in met:
            assert ev["chosen"] is not None


def test_choices_are_compared_head_to_head(results: dict[str, Any]) -> None:
    comparison = results["comparison"]
    assert comparison["both_found"]
    duel = comparison["head_to_head"]
    assert duel["rounds"] == 3 and duel["cost_source"] == "server_cpu"
    for side in ("adaptive", "exhaustive"):
        choice = comparison["adaptive_choice" if side == "adaptive" else "exhaustive_best"]
        assert duel[side]["index"] == choice["index"] and duel[side]["value"] == choice["value"]
        assert duel[side]["valid"] and len(duel[side]["qps"]) == 3
    if not duel["same_choice"]:
        paired = sorted(duel["paired_qps_ratios"])
        assert comparison["qps_ratio"] == pytest.approx(paired[1])
        assert comparison["cost_ratio"] == pytest.approx(
            duel["exhaustive"]["median_cost_ms"] / duel["adaptive"]["median_cost_ms"]
        )
    verdict = acceptance(results)
    assert verdict["qps_within_10_percent"] == (verdict["qps_ratio"] >= 0.9)
    assert verdict["time_at_most_one_third"] == (verdict["time_ratio"] <= 1 / 3)
    recommendation = results["recommendation"]
    holdout = recommendation["holdout"]
    assert holdout["query_set"] == "holdout"
    assert holdout["value"] == recommendation["value"]
    # the setting was checked again on the index the holdout ran on
    # the exhaustive sweep's best is held to the same rule
    assert results["searches"]["exhaustive"]["best"]["rebuild_check"]["value"] >= 1
    check = recommendation["rebuild_check"]
    assert check["value"] <= recommendation["value"]
    if check["reached"]:
        assert check["raised_to"] in (None, recommendation["value"])
        assert recommendation["recall"]["low"] >= TARGET
    assert verdict["holdout_recall"] == holdout["recall"]["mean"]
    assert verdict["holdout_reaches_target"] == (holdout["recall"]["mean"] >= TARGET)
