"""The monitor's headless parts: rates, resets, the lock tree, ordering, backoff.

Pure arithmetic on snapshot-shaped data; the same code runs against a real
server in test_tui_live.py.
"""

from __future__ import annotations

import doctest
import subprocess
import sys
from typing import Any

import pytest

from pgtune_hx.collect.model import Section, Snapshot
from pgtune_hx.tui import fmt, link, locktree, model, sqlfiles
from pgtune_hx.tui.link import Backoff, Link, LinkState
from pgtune_hx.tui.locktree import build_forest, root_of, tree_lines, walk
from pgtune_hx.tui.model import ActivityFilter, RefreshModel, arrange, rate, summed_deltas


@pytest.mark.parametrize("module", [fmt, link, locktree, model, sqlfiles])
def test_doctests(module: Any) -> None:
    result = doctest.testmod(module)
    assert result.failed == 0
    assert result.attempted > 0


def test_rate_is_none_rather_than_negative() -> None:
    assert rate(300, 100, 4.0) == 50.0
    assert rate(100, 300, 4.0) is None  # counter went down: a reset
    assert rate(300, 100, 0.0) is None
    assert rate(None, 100, 1.0) is None


def test_summed_deltas_matches_rows_and_detects_resets() -> None:
    before: list[dict[str, Any]] = [
        {"datid": 1, "xact_commit": 100, "stats_reset": None},
        {"datid": 2, "xact_commit": 50, "stats_reset": None},
    ]
    after: list[dict[str, Any]] = [
        {"datid": 1, "xact_commit": 160, "stats_reset": None},
        {"datid": 2, "xact_commit": 55, "stats_reset": None},
        {"datid": 3, "xact_commit": 999, "stats_reset": None},  # created: left out
    ]
    assert summed_deltas(before, after, "datid", ["xact_commit"]) == {"xact_commit": 65.0}
    reset: list[dict[str, Any]] = [
        {**after[0], "stats_reset": "2025-01-01T00:00:00+00:00"},
        after[1],
    ]
    assert summed_deltas(before, reset, "datid", ["xact_commit"]) is None
    lower: list[dict[str, Any]] = [{**after[0], "xact_commit": 10}, after[1]]
    assert summed_deltas(before, lower, "datid", ["xact_commit"]) is None
    # a dropped database does not make the sum go down
    assert summed_deltas(before, after[:1], "datid", ["xact_commit"]) == {"xact_commit": 60.0}


def _snap(at: str, commits: int, *, reset: str | None = None, start: str = "S1") -> Snapshot:
    db = Section(
        "database",
        ["datid", "xact_commit", "xact_rollback", "blks_hit", "blks_read", "stats_reset"],
        [
            {
                "datid": 5,
                "xact_commit": commits,
                "xact_rollback": 0,
                "blks_hit": commits * 10,
                "blks_read": commits,
                "stats_reset": reset,
            }
        ],
    )
    return Snapshot(
        captured_at=at,
        server={"server_version": "18.0", "postmaster_start_time": start},
        capabilities={},
        host={},
        sections={"database": db},
    )


def test_rates_use_the_measured_interval_and_reset_gives_na_for_one_refresh() -> None:
    m = RefreshModel()
    first = m.update(_snap("2025-01-01T00:00:00+00:00", 1000))
    assert first.overview.tps is None  # nothing to compare with yet
    # 2.5 s measured, whatever the nominal refresh was
    second = m.update(_snap("2025-01-01T00:00:02.5+00:00", 1250))
    assert second.interval_s == pytest.approx(2.5)
    assert second.overview.tps == pytest.approx(100.0)
    assert second.overview.cache_hit == pytest.approx(10 / 11)
    after_reset = m.update(_snap("2025-01-01T00:00:04.5+00:00", 20, reset="R1"))
    assert after_reset.overview.tps is None
    assert any("reset" in note for note in after_reset.overview.notes)
    recovered = m.update(_snap("2025-01-01T00:00:06.5+00:00", 220, reset="R1"))
    assert recovered.overview.tps == pytest.approx(100.0)
    assert recovered.history["tps"] == (100.0, 100.0)


def test_a_restarted_server_gives_na_not_a_huge_or_negative_rate() -> None:
    m = RefreshModel()
    m.update(_snap("2025-01-01T00:00:00+00:00", 1000))
    restarted = m.update(_snap("2025-01-01T00:00:02+00:00", 5, start="S2"))
    assert restarted.overview.tps is None
    assert restarted.interval_s is None
    assert m.update(_snap("2025-01-01T00:00:04+00:00", 25, start="S2")).overview.tps == 10.0


def _statement(queryid: int, calls: int, total: float) -> dict[str, Any]:
    return {
        "userid": 10,
        "dbid": 5,
        "queryid": str(queryid),
        "toplevel": True,
        "calls": calls,
        "total_exec_time": total,
        "total_plan_time": 0.0,
        "rows": calls,
        "query": f"select {queryid}",
    }


def _statements(at: str, rows: list[dict[str, Any]], reset: str = "R0") -> Snapshot:
    return Snapshot(
        captured_at=at,
        server={"postmaster_start_time": "S1"},
        capabilities={},
        host={},
        sections={
            "statements": Section("statements", ["queryid"], rows),
            "statements_info": Section(
                "statements_info", ["stats_reset"], [{"stats_reset": reset}]
            ),
        },
    )


def test_statement_rates_per_measured_second_evictions_and_resets() -> None:
    m = RefreshModel()
    m.update(_statements("2025-01-01T00:00:00+00:00", [_statement(1, 10, 100.0)]))
    view = m.update(
        _statements(
            "2025-01-01T00:00:04+00:00",
            [_statement(1, 30, 300.0), _statement(2, 5, 50.0)],
        )
    )
    assert view.statements is not None
    rows = {r.queryid: r for r in view.statements.rows}
    assert rows[1].calls_s == 5.0
    assert rows[1].time_ms_s == 50.0
    assert rows[2].calls_s is None  # first seen: no delta yet
    assert [r.queryid for r in view.statements.rows] == [1, 2]  # ranked by total time
    evicted = m.update(_statements("2025-01-01T00:00:06+00:00", [_statement(1, 3, 30.0)]))
    assert evicted.statements is not None
    assert evicted.statements.rows[0].calls_s is None
    reset = m.update(_statements("2025-01-01T00:00:08+00:00", [_statement(1, 9, 90.0)], "R1"))
    assert reset.statements is not None
    assert reset.statements.rows[0].calls_s is None
    assert reset.statements.note is not None


def test_lock_tree_counts_distinct_waiters_and_puts_the_biggest_root_first() -> None:
    # 100 holds what 101..150 wait for; 200 blocks 201, which blocks 202 (queue);
    # 203 waits for both 200 and 202
    blocked: dict[int, list[int]] = {pid: [100] for pid in range(101, 151)}
    blocked[201] = [200]
    blocked[202] = [201]
    blocked[203] = [202, 200]
    forest = build_forest(blocked)
    assert [tree.pid for tree in forest] == [100, 200]
    assert forest[0].waiting_behind == 50
    assert len(forest[0].children) == 50
    chain = forest[1]
    assert chain.waiting_behind == 3
    # 203 hangs at its shallowest place, under 200, and names its other blocker
    assert [(c.pid, c.also_blocked_by) for c in chain.children] == [(201, ()), (203, (202,))]
    assert chain.children[0].children[0].pid == 202
    assert chain.children[0].children[0].waiting_behind == 1
    # each waiter appears once per tree even with several blockers
    assert sorted(n.pid for n in walk([chain])) == [200, 201, 202, 203]
    assert root_of(forest, 202) == 200


def test_lock_tree_with_a_waiter_blocked_by_two_roots_and_a_cycle() -> None:
    forest = build_forest({3: [1, 2], 10: [11], 11: [10]})
    roots = {t.pid: t for t in forest}
    assert roots[1].waiting_behind == 1 and roots[2].waiting_behind == 1
    cycle = [t for t in forest if t.cycle]
    assert [t.pid for t in cycle] == [10]
    assert [n.pid for n, _ in tree_lines(cycle)] == [10, 11]


def test_lock_tree_prepared_transaction_root() -> None:
    forest = build_forest({42: [0]})
    assert forest[0].prepared_xact
    assert forest[0].waiting_behind == 1


def _session(pid: int, **extra: Any) -> model.SessionRow:
    base: dict[str, Any] = {
        "pid": pid,
        "leader_pid": None,
        "datid": 1,
        "datname": "db",
        "usename": "u",
        "application_name": "app",
        "client": "local",
        "backend_type": "client backend",
        "state": "active",
        "wait_event_type": None,
        "wait_event": None,
        "backend_start": None,
        "xact_age_s": 1.0,
        "query_age_s": 1.0,
        "state_age_s": 1.0,
        "backend_xmin_age": None,
        "query_id": None,
        "query": "select 1",
    }
    base.update(extra)
    return model.SessionRow(**base)


def test_parallel_workers_sit_under_their_leader_whatever_the_sort() -> None:
    rows = [
        _session(1, query_age_s=5.0),
        _session(2, query_age_s=50.0, query="select big"),
        _session(3, leader_pid=2, backend_type="parallel worker", query_age_s=49.0),
        _session(4, leader_pid=2, backend_type="parallel worker", query_age_s=48.0),
        _session(5, state="idle", state_age_s=100.0),
        _session(6, backend_type="checkpointer", state=None),
    ]
    arranged = arrange(rows, ActivityFilter())
    assert [(r.pid, d) for r, d in arranged] == [(5, 0), (2, 0), (3, 1), (4, 1), (1, 0)]
    no_idle = arrange(rows, ActivityFilter(show_idle=False, sort="pid"))
    assert [r.pid for r, _ in no_idle] == [1, 2, 3, 4]
    # a filter matching only a worker keeps its leader
    assert [r.pid for r, _ in arrange(rows, ActivityFilter(text="big"))] == [2, 3, 4]
    with_system = arrange(rows, ActivityFilter(show_system=True, sort="pid", reverse=True))
    assert with_system[0][0].pid == 6


def test_backoff_and_link_states() -> None:
    backoff = Backoff(initial=1.0, factor=2.0, maximum=5.0)
    assert [backoff.next_delay() for _ in range(4)] == [1.0, 2.0, 4.0, 5.0]
    backoff.reset()
    assert backoff.next_delay() == 1.0
    state = Link(refresh_s=2.0)
    state.succeeded(now=100.0)
    assert state.describe(101.0) == ("live", "ok")
    assert state.is_stale(106.0)
    text, level = state.describe(106.0)
    assert "stale: no data for 6s" in text and level == "warning"
    state.lost(now=106.0, error="server closed the connection", retry_in=4.0, attempt=3)
    text, level = state.describe(107.0)
    assert text.startswith("reconnecting (attempt 3") and "next try in 3s" in text
    assert level == "error"
    state.succeeded(now=110.0)
    assert state.state is LinkState.LIVE
    state.paused = True
    assert not state.is_stale(200.0)


def test_headless_modules_load_without_textual() -> None:
    code = (
        "import sys\n"
        "import pgtune_hx.tui.model, pgtune_hx.tui.live, pgtune_hx.tui.replay\n"
        "import pgtune_hx.tui.detail, pgtune_hx.tui.findings, pgtune_hx.tui.link\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'textual'))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
