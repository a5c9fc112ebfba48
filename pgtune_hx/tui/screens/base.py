"""What every monitor screen shares: the status bar, the screen tabs, the footer."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, ClassVar, cast

from rich.text import Text
from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Footer, Static

from pgtune_hx.tui import fmt
from pgtune_hx.tui.model import View

if TYPE_CHECKING:
    from pgtune_hx.tui.app import MonitorApp

NAV = (
    ("1", "Overview"),
    ("2", "Activity"),
    ("3", "Locks"),
    ("4", "Statements"),
    ("5", "Tables"),
    ("6", "Findings"),
)


class StatusBar(Static):
    """Who, what, and how fresh the data is; warnings in colour on line two."""


class Nav(Static):
    pass


class MonitorScreen(Screen[None]):
    """A screen fed by the refresh loop: ``show(view)`` on every new View."""

    # the filter box is hidden until asked for: never focus it first
    AUTO_FOCUS = "RowTable"
    TITLE: ClassVar[str] = ""
    PANEL: ClassVar[str] = ""  # name used in limitations
    SECTIONS: ClassVar[frozenset[str]] = frozenset()

    @property
    def monitor(self) -> MonitorApp:
        return cast("MonitorApp", self.app)

    def compose(self) -> ComposeResult:
        yield StatusBar(id="status")
        yield Nav(self._nav(), id="nav")
        yield from self.compose_body()
        yield Footer()

    def compose_body(self) -> ComposeResult:
        yield from ()

    def _nav(self) -> Text:
        text = Text()
        for key, title in NAV:
            style = "bold reverse" if title == self.TITLE else "dim"
            text.append(f" {key} ", style="bold")
            text.append(f"{title} ", style=style)
        return text

    def on_screen_resume(self) -> None:
        self.monitor.screen_needs(self.SECTIONS)
        if self.monitor.view is not None:
            self.show(self.monitor.view)
        self.show_status()

    def show(self, view: View) -> None:
        """Draw ``view``; called on the main thread only."""

    def show_status(self) -> None:
        if not self.is_mounted:
            return
        app = self.monitor
        view = app.view
        now = time.monotonic()
        line = Text()
        if view is not None:
            ov = view.overview
            line.append(f"PostgreSQL {ov.server_version}", style="bold")
            line.append(f" · {ov.database} as {ov.role}")
            if ov.uptime_s is not None:
                line.append(f" · up {fmt.age(ov.uptime_s)}")
            if ov.in_recovery:
                line.append(" · standby", style="bold yellow")
            line.append(f" · captured {view.captured.strftime('%H:%M:%S')}")
            if view.interval_s is not None:
                line.append(f" · interval {view.interval_s:.2f}s")
        if app.replay is None and app.refresh_costs:
            collect_cpu, collect_wall, draw_cpu = app.refresh_costs[-1]
            line.append(
                f" · refresh {collect_wall:.0f}ms, client cpu {collect_cpu + draw_cpu:.0f}ms",
                style="dim",
            )
        state, level = app.link.describe(now)
        style = {"ok": "green", "warning": "bold yellow", "error": "bold red"}[level]
        if app.replay is not None:
            state = f"replay {app.replay.position + 1}/{len(app.replay)}"
            if app.link.paused:
                state += " (paused)"
            elif app.replay.at_end:
                state += " (end)"
        line.append("  [")
        line.append(state, style=style)
        line.append("]")
        warnings = Text()
        if view is not None:
            for lim in view.limitations:
                if lim.panel in (self.PANEL, "Overview") or (
                    self.PANEL in ("Activity", "Locks") and lim.panel in ("Activity", "Locks")
                ):
                    warnings.append(f"⚠ {lim.panel}: {lim.reason}\n", style="yellow")
            for note in view.overview.notes:
                warnings.append(f"ℹ {note}\n", style="cyan")
        if app.link.state.value == "reconnecting" and app.link.last_error:
            warnings.append(f"✖ {fmt.one_line(app.link.last_error, 160)}\n", style="red")
        bar = self.query_one(StatusBar)
        warnings.rstrip()
        bar.update(Text.assemble(line, "\n", warnings) if warnings else line)
