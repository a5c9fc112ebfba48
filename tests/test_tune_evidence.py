"""Correction rules on given facts: thresholds and arithmetic, no server needed.

The same rules run on real statistics in test_tune_server.py; here the facts
are built by hand to pin the formulas (WAL per checkpoint_timeout, freeze age)
that a test server cannot produce quickly.
"""

from __future__ import annotations

import datetime as dt

import pytest

from pgtune_hx.tune import evidence, profiles
from pgtune_hx.tune.live import ServerState
from pgtune_hx.tune.model import Storage, TuneInputs, Workload
from pgtune_hx.tune.recommend import recommend
from pgtune_hx.tune.sizes import GB, MB
from pgtune_hx.tune.validate import load_bundled

NOW = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)


def server(**settings: str) -> ServerState:
    table, _ = load_bundled(18)
    current = table.defaults() | settings
    return ServerState(
        version_num=180000,
        version="18.0",
        host="/tmp",
        port="5432",
        data_directory=None,
        db_size_bytes=None,
        captured_at=NOW,
        settings=current,
        bounds=table,
    )


INPUTS = TuneInputs(
    memory_bytes=64 * GB, cpus=16, storage=Storage.ssd, workload=Workload.oltp, major=18
)


def test_wal_per_checkpoint_timeout_sets_max_wal_size() -> None:
    # 10 MB/s for a day: 9000 MB per 15min, x1.9 completion, x2 peaks = 34200 MB
    facts = evidence.WorkloadFacts(
        captured_at=NOW,
        wal_bytes=10 * MB * 86_400,
        wal_age_s=86_400,
        checkpoints_timed=100,
        checkpoints_requested=2,
    )
    result = evidence.correct(facts, INPUTS, server())
    assert result.targets.max_wal_size_min == int(10 * MB * 900 * 1.9 * 2)
    rec = recommend(INPUTS, server=server(), corrections=result)
    max_wal = {s.name: s for s in rec.settings}["max_wal_size"]
    assert max_wal.recommended == "34GB"  # rounded up to whole GB
    assert max_wal.source == "evidence" and "WAL" in max_wal.reason


def test_timed_checkpoints_and_no_spills_change_nothing() -> None:
    facts = evidence.WorkloadFacts(
        captured_at=NOW, checkpoints_timed=50, checkpoints_requested=1, blks_hit=999, blks_read=1
    )
    result = evidence.correct(facts, INPUTS, server())
    base = recommend(INPUTS, server=server())
    rec = recommend(INPUTS, server=server(), corrections=result)
    assert [s.recommended for s in rec.settings] == [s.recommended for s in base.settings]
    effects = {i.topic: i.effect for i in result.items}
    assert "baseline stands" in effects["temp spills"]
    assert "timed" in effects["checkpoints"]
    assert "fits" in effects["buffer cache"]


@pytest.mark.parametrize(("age", "boost"), [(150_000_000, True), (50_000_000, False)])
def test_freeze_age_boosts_autovacuum(age: int, boost: bool) -> None:
    facts = evidence.WorkloadFacts(captured_at=NOW, max_freeze_age=age)
    result = evidence.correct(facts, INPUTS, server())
    assert result.targets.autovacuum_boost is boost
    rec = recommend(INPUTS, server=server(), corrections=result)
    limit = {s.name: s for s in rec.settings}["autovacuum_vacuum_cost_limit"]
    expected = profiles.STORAGE[Storage.ssd].autovacuum_cost_limit * (2 if boost else 1)
    assert limit.recommended_setting == expected


def test_spill_beyond_the_budget_is_advised_per_session() -> None:
    small = TuneInputs(
        memory_bytes=4 * GB, cpus=4, storage=Storage.ssd, workload=Workload.oltp, major=18
    )
    facts = evidence.WorkloadFacts(
        captured_at=NOW,
        temp_statements=(
            # 10 GB of temp blocks over 10 calls: 1 GB per call, far beyond a 4 GB host
            evidence.TempStatement("1", "app", 10, 10 * GB // 8192, "select"),
        ),
    )
    result = evidence.correct(facts, small, server())
    rec = recommend(small, server=server(), corrections=result)
    assert rec.budget.holds
    assert any("per session or role" in note for note in rec.notes)
