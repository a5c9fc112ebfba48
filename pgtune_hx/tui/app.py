"""The monitor app: data sources, the refresh loop, app-wide keys.

Live: one thread worker owns the monitor's connection and loops: connect (with
backoff when the server is away), collect the sections the visible screen
needs, feed the headless RefreshModel, post ``SnapshotCollected``. The main
thread only swaps in the new View and redraws the visible screen, so a slow
or dead server can never freeze the UI; a one-second timer keeps the status
bar's data age honest meanwhile. Replay: the same model fed from files.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections import deque
from collections.abc import Iterable
from typing import Any, ClassVar

from textual import work
from textual.app import App, ScreenStackError, SystemCommand
from textual.binding import Binding, BindingType
from textual.css.query import NoMatches
from textual.screen import Screen
from textual.worker import get_current_worker

from pgtune_hx.errors import PgtuneError
from pgtune_hx.tui import messages as msg
from pgtune_hx.tui.detail import Signal, signal_backend
from pgtune_hx.tui.link import Backoff, Link, LinkState
from pgtune_hx.tui.live import CORE_SECTIONS, TABLE_SECTIONS, LiveCollector, LiveConfig
from pgtune_hx.tui.live import ConnectionLost as LostError
from pgtune_hx.tui.model import RefreshModel, SessionRow, View
from pgtune_hx.tui.replay import Recorder, Replay
from pgtune_hx.tui.screens.base import MonitorScreen
from pgtune_hx.tui.screens.confirm import ConfirmSignal
from pgtune_hx.tui.screens.help import HelpScreen
from pgtune_hx.tui.screens.main import (
    ActivityScreen,
    FindingsScreen,
    LocksScreen,
    OverviewScreen,
    StatementsScreen,
    TablesScreen,
)

TABLES_EVERY_S = 30.0
SCREENS = (
    ("overview", "Overview"),
    ("activity", "Activity"),
    ("locks", "Locks"),
    ("statements", "Statements"),
    ("tables", "Tables"),
    ("findings", "Findings"),
)


class MonitorApp(App[None]):
    TITLE = "pgtune-hx"
    CSS_PATH = "monitor.tcss"
    ENABLE_COMMAND_PALETTE = True
    MODES: ClassVar[dict[str, Any]] = {
        "overview": OverviewScreen,
        "activity": ActivityScreen,
        "locks": LocksScreen,
        "statements": StatementsScreen,
        "tables": TablesScreen,
        "findings": FindingsScreen,
    }
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f1,question_mark", "help", "Help"),
        Binding("q,f10", "quit", "Quit"),
        Binding("p,space", "pause", "Pause"),
        Binding("r,f5", "refresh_now", "Refresh", show=False),
        Binding("right_square_bracket", "step(1)", "Next", show=False),
        Binding("left_square_bracket", "step(-1)", "Prev", show=False),
        *[
            Binding(str(i), f"switch_mode('{mode}')", title, show=False)
            for i, (mode, title) in enumerate(SCREENS, start=1)
        ],
    ]

    def __init__(
        self,
        *,
        live: LiveConfig | None = None,
        replay: Replay | None = None,
        refresh_s: float = 2.0,
        start: str = "activity",
        backoff: Backoff | None = None,
    ) -> None:
        if (live is None) == (replay is None):
            raise ValueError("give exactly one of live or replay")
        super().__init__()
        self.live = live
        self.replay = replay
        self.refresh_s = refresh_s
        self.start_mode = start
        self.backoff = backoff or Backoff()
        self.view: View | None = None
        self.link = Link(refresh_s, state=LinkState.REPLAY if replay else LinkState.CONNECTING)
        # what each refresh cost this client: (collect CPU, collect wall, draw CPU) in ms
        self.refresh_costs: deque[tuple[float, float, float]] = deque(maxlen=1000)
        self._wanted: frozenset[str] = CORE_SECTIONS
        self._force: frozenset[str] = frozenset()
        # the Statements screen: the connected database only, or every database
        self.statements_all_databases = False
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._connected_once = False
        self._collector: LiveCollector | None = None  # the worker's, for abort() only
        # set when the refresh thread has left its loop (asyncio waits for it at exit)
        self.loop_finished = threading.Event()

    # -- lifecycle -------------------------------------------------------------------------

    def on_mount(self) -> None:
        self.switch_mode(self.start_mode)
        self.set_interval(1.0, self._tick_status)
        if self.replay is not None:
            self._apply(self.replay.current())
            self.set_interval(self.refresh_s, self._replay_tick)
        else:
            self._collector_loop()

    def on_unmount(self) -> None:
        self._stop.set()
        self._wake.set()
        collector = self._collector
        if collector is not None and collector.busy_since is not None:
            collector.abort()  # quitting never waits on a server that stopped answering

    def hang_after_s(self) -> float:
        """A refresh this old is stuck: statement_timeout should have ended it."""
        timeout = self.live.guard.statement_timeout_ms / 1000.0 if self.live else 5.0
        return timeout + 2 * self.refresh_s + 3.0

    def _check_hung(self) -> None:
        collector = self._collector
        if collector is None or collector.busy_since is None:
            return
        stuck = time.monotonic() - collector.busy_since
        if stuck > self.hang_after_s():
            collector.abort()
            self.notify(
                f"the refresh hung for {stuck:.0f}s: dropped the session, reconnecting",
                title="server not answering",
                severity="warning",
            )

    # -- live refresh loop (worker thread) ---------------------------------------------------

    def _sleep(self, seconds: float) -> None:
        self._wake.wait(max(0.0, seconds))
        self._wake.clear()

    @work(thread=True, exclusive=True, group="collector")
    def _collector_loop(self) -> None:
        assert self.live is not None
        worker = get_current_worker()
        backoff = self.backoff
        model = RefreshModel()
        recorder = Recorder(self.live.record) if self.live.record else None
        collector: LiveCollector | None = None
        last_tables = -TABLES_EVERY_S
        self._collector = None
        try:
            while not (worker.is_cancelled or self._stop.is_set()):
                if collector is None:
                    try:
                        collector = LiveCollector.open(self.live)
                    except PgtuneError as exc:
                        delay = backoff.next_delay()
                        self.post_message(msg.ConnectionLost(str(exc), delay, backoff.attempts))
                        self._sleep(delay)
                        continue
                    backoff.reset()
                    self._collector = collector
                    self.post_message(msg.Connected(collector.caps.to_dict()))
                if self.link.paused:
                    self._sleep(self.refresh_s)
                    continue
                started, cpu = time.perf_counter(), time.thread_time()
                wanted = set(self._wanted)
                recent = time.monotonic() - last_tables < TABLES_EVERY_S
                if wanted & TABLE_SECTIONS and not (self._force & TABLE_SECTIONS) and recent:
                    wanted -= TABLE_SECTIONS
                self._force = frozenset()
                collector.all_databases = self.statements_all_databases
                try:
                    snapshot = collector.collect(wanted)
                    view = model.update(snapshot)
                except LostError as exc:
                    collector.conn.close()
                    collector = self._collector = None
                    delay = backoff.next_delay()
                    self.post_message(msg.ConnectionLost(str(exc), delay, backoff.attempts))
                    self._sleep(delay)
                    continue
                except PgtuneError as exc:
                    self.post_message(msg.RefreshFailed(str(exc)))
                    self._sleep(self.refresh_s)
                    continue
                if wanted & TABLE_SECTIONS:
                    last_tables = time.monotonic()
                cpu_ms = (time.thread_time() - cpu) * 1000.0
                wall_ms = (time.perf_counter() - started) * 1000.0
                if recorder is not None:
                    recorder.write(snapshot)
                self.post_message(msg.SnapshotCollected(view, cpu_ms, wall_ms))
                self._sleep(self.refresh_s - (time.perf_counter() - started))
        finally:
            self._collector = None
            if collector is not None:
                collector.conn.close()
            self.loop_finished.set()

    # -- messages from the loop (main thread) -------------------------------------------------

    def on_snapshot_collected(self, message: msg.SnapshotCollected) -> None:
        started = time.thread_time()
        self.link.succeeded(time.monotonic())
        self._apply(message.view)
        draw_ms = (time.thread_time() - started) * 1000.0
        self.refresh_costs.append((message.cpu_ms, message.wall_ms, draw_ms))

    def on_refresh_failed(self, message: msg.RefreshFailed) -> None:
        self.link.failed(time.monotonic(), message.error)
        self._tick_status()

    def on_connection_lost(self, message: msg.ConnectionLost) -> None:
        self.link.lost(time.monotonic(), message.error, message.retry_in, message.attempt)
        self._tick_status()

    def on_connected(self, message: msg.Connected) -> None:
        if self._connected_once:
            self.notify("reconnected to the server", title="connection")
        self._connected_once = True

    def _monitor_screen(self) -> MonitorScreen | None:
        """The visible monitor screen; None while starting or shutting down."""
        try:
            screen = self.screen
        except ScreenStackError:
            return None
        return screen if isinstance(screen, MonitorScreen) else None

    def _apply(self, view: View) -> None:
        self.view = view
        screen = self._monitor_screen()
        if screen is not None:
            # a screen still composing (or going away) draws the view on resume
            with contextlib.suppress(NoMatches):
                screen.show(view)
        self._tick_status()

    def _tick_status(self) -> None:
        self._check_hung()
        screen = self._monitor_screen()
        if screen is not None:
            with contextlib.suppress(NoMatches):
                screen.show_status()

    # -- what the visible screen needs ----------------------------------------------------------

    def screen_needs(self, sections: frozenset[str]) -> None:
        """Called when a screen becomes visible: collect its sections now."""
        new = sections - self._wanted
        self._wanted = CORE_SECTIONS | sections
        if new:
            self._force = frozenset(new)
            self._wake.set()

    def set_statements_scope(self, all_databases: bool) -> None:
        self.statements_all_databases = all_databases
        self.action_refresh_now()

    def action_refresh_now(self) -> None:
        if self.replay is not None:
            return
        self._force = self._wanted
        self._wake.set()

    # -- replay ------------------------------------------------------------------------------

    def _replay_tick(self) -> None:
        if self.replay is None or self.link.paused or self.replay.at_end:
            return
        self._apply(self.replay.step(1))

    def action_step(self, by: int) -> None:
        if self.replay is None:
            self.notify("stepping works in --replay", severity="warning")
            return
        self.link.paused = True
        self._apply(self.replay.step(by))

    # -- app-wide actions ------------------------------------------------------------------------

    def action_pause(self) -> None:
        self.link.paused = not self.link.paused
        if not self.link.paused:
            self._wake.set()
        self._tick_status()

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    def request_signal(self, session: SessionRow, action: Signal) -> None:
        """Cancel or terminate, after a confirmation that names the pid and the query."""
        view = self.view
        if view is None or not view.can_signal:
            reason = next(
                (lim.reason for lim in (view.limitations if view else ()) if lim.panel == "Locks"),
                "not available",
            )
            self.notify(reason, title=f"cannot {action}", severity="warning")
            return
        if self.live is None:
            return

        def confirmed(answer: bool | None) -> None:
            if answer:
                self._signal(session.pid, session.backend_start, action)

        self.push_screen(ConfirmSignal(session, action), confirmed)

    @work(thread=True, group="signal")
    def _signal(self, pid: int, backend_start: str | None, action: Signal) -> None:
        assert self.live is not None
        try:
            result = signal_backend(self.live.dsn, self.live.guard, pid, backend_start, action)
        except PgtuneError as exc:
            self.post_message(msg.BackendSignalled(None, str(exc)))
            return
        self.post_message(msg.BackendSignalled(result))

    def on_backend_signalled(self, message: msg.BackendSignalled) -> None:
        if message.result is None:
            self.notify(message.error or "failed", title="signal failed", severity="error")
        elif message.result.done:
            self.notify(message.result.message, title=message.result.action)
        else:
            self.notify(message.result.message, title=message.result.action, severity="warning")
        self.action_refresh_now()

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        for index, (mode, title) in enumerate(SCREENS, start=1):
            yield SystemCommand(
                f"Go to {title}", f"show the {title} screen (key {index})", self._goto(mode)
            )
        yield SystemCommand("Pause / resume", "freeze the display (p)", self.action_pause)
        yield SystemCommand("Refresh now", "collect again right away (r)", self.action_refresh_now)
        yield SystemCommand("Help", "keys and what the numbers mean (F1)", self.action_help)

    def _goto(self, mode: str) -> Any:
        def go() -> None:
            self.switch_mode(mode)

        return go
