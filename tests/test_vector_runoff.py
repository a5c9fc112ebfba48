"""The adaptive search's runoffs on a real server: with the margin opened wide
every candidate that reaches the target meets the best so far side by side,
the two indexes living on the table and its twin at the same time."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from pgtune_hx.bench.vector import adaptive
from pgtune_hx.bench.vector.metric import Metric
from pgtune_hx.bench.vector.pgbench import script
from pgtune_hx.bench.vector.scratch import Scratch
from pgtune_hx.embedded import EmbeddedServer
from tests.helpers.vector import small_bench


@pytest.fixture(scope="module")
def results(pg18_server: EmbeddedServer) -> Iterator[dict[str, Any]]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(adaptive, "RUNOFF_MARGIN", 1000.0)
        with small_bench(
            pg18_server,
            concurrency=[1, 2],
            seed=7,
            search="adaptive",
            hnsw_m=(8,),
            filtered=True,
            selectivities=(0.5,),
            pgbench_seconds=1,
        ) as out:
            yield out


def test_every_reaching_candidate_meets_the_best_so_far(results: dict[str, Any]) -> None:
    search = results["searches"]["adaptive"]
    reaching = [ev["index"] for ev in search["evaluations"] if ev["chosen"]]
    assert len(reaching) >= 2, "the test needs two candidates reaching the target"
    assert [d["candidate"]["index"] for d in search["runoffs"]] == reaching[1:]
    incumbent = reaching[0]
    for duel in search["runoffs"]:
        assert duel["best"]["index"] == incumbent  # the winner stays for the next runoff
        assert duel["rounds"] == 3 and duel["passes"] == 6
        assert len(duel["paired_cost_ratios"]) == 3
        for side in ("best", "candidate"):
            assert len(duel[side]["cost_ms"]) == 3 and all(c > 0 for c in duel[side]["cost_ms"])
        incumbent = duel[duel["winner"]]["index"]
    assert search["best"]["index"] == incumbent
    assert search["passes"] == sum(ev["passes"] for ev in search["evaluations"]) + 6 * len(
        search["runoffs"]
    )


def test_reports_run_on_the_winners_own_index(results: dict[str, Any]) -> None:
    best = results["searches"]["adaptive"]["best"]
    recommendation = results["recommendation"]
    assert recommendation["index"] == best["index"]
    assert recommendation["holdout"]["recall"]["n"] == 100
    pgbench = [c for c in best["concurrency"] if c["clients"] == 2]
    assert pgbench and pgbench[0]["transactions"] > 0 and pgbench[0]["failed"] == 0
    filtered = best["filtered"]
    assert filtered and all(p["valid"] for p in filtered if p["iterative_scan"] != "off")


def test_pgbench_script_reads_the_table_it_is_given() -> None:
    scratch = Scratch("", "pgtune_hx_vbench_x", "public", created_extension=False)
    text = script(scratch, Metric.l2, 10, 5, "items_twin")
    assert '"pgtune_hx_vbench_x"."items_twin"' in text
