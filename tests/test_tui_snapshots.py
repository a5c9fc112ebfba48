"""SVG snapshots of the main screens, fed by --replay of committed snapshot files.

The files under tests/fixtures/tui/replay were recorded from a real server
(tests/fixtures/tui/record.py); the third frame has rates over the measured
interval and the lock chain. Update after a deliberate change with
``pytest tests/test_tui_snapshots.py --snapshot-update`` and look at the SVGs.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from pgtune_hx.tui.app import MonitorApp
from pgtune_hx.tui.replay import Replay
from pgtune_hx.tui.screens.main import FindingsScreen

FIXTURES = Path(__file__).parent / "fixtures" / "tui" / "replay"
SIZE = (150, 40)
TO_LAST_FRAME = ("right_square_bracket", "right_square_bracket")

SnapCompare = Callable[..., bool]


def replay_app(start: str) -> MonitorApp:
    # a refresh of an hour: the replay only moves when a key says so
    return MonitorApp(replay=Replay.open(FIXTURES), refresh_s=3600, start=start)


@pytest.mark.parametrize("screen", ["overview", "activity", "locks", "statements", "tables"])
def test_main_screens(snap_compare: SnapCompare, screen: str) -> None:
    assert snap_compare(replay_app(screen), press=TO_LAST_FRAME, terminal_size=SIZE)


def test_findings_screen(snap_compare: SnapCompare) -> None:
    async def analyzed(pilot: Pilot[Any]) -> None:
        for _ in range(200):
            screen = pilot.app.screen
            if isinstance(screen, FindingsScreen) and screen.analysis is not None:
                break
            await pilot.pause(0.05)
        await pilot.pause()

    app = replay_app("findings")
    assert snap_compare(app, terminal_size=SIZE, run_before=analyzed)


def test_activity_filtered_without_idle(snap_compare: SnapCompare) -> None:
    keys = (*TO_LAST_FRAME, "i", "slash", "s", "h", "o", "p", "enter")
    assert snap_compare(replay_app("activity"), press=keys, terminal_size=SIZE)


def test_help_screen(snap_compare: SnapCompare) -> None:
    assert snap_compare(replay_app("activity"), press=("f1",), terminal_size=SIZE)
