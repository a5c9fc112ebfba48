"""One pg_stat_statements entry: its numbers, its plan, the plan findings, index advice."""

from __future__ import annotations

from typing import Any, ClassVar

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widgets import Static

from pgtune_hx.tui import fmt
from pgtune_hx.tui.detail import IndexAdvice, PlanResult, explain_in, index_advice
from pgtune_hx.tui.messages import PlanLoaded
from pgtune_hx.tui.model import StatementRow, View
from pgtune_hx.tui.screens.base import MonitorScreen
from pgtune_hx.tui.screens.session import plan_renderable


def advice_renderable(advice: IndexAdvice | None) -> Any:
    if advice is None:
        return Text("index advice: not asked", style="dim")
    if advice.error:
        return Text(f"index advice unavailable: {advice.error}", style="yellow")
    parts: list[Any] = [Text(f"index advice (verified by: {advice.method})", style="bold")]
    for s in advice.suggestions:
        parts.append(Text(s.create_sql, style="bold green"))
        for gain in s.queries:
            parts.append(
                Text(
                    f"  plan cost {gain.cost_before:.1f} -> {gain.cost_after:.1f}, "
                    f"{fmt.size(s.size_bytes)}, verified by {s.verified_by}",
                    style="green",
                )
            )
        for note in s.notes:
            parts.append(Text(f"  {note}", style="dim"))
    if not advice.suggestions:
        parts.append(Text("no index would help this statement", style="dim"))
        for reason in advice.rejected:
            parts.append(Text(f"  · {reason}", style="dim"))
    for note in advice.notes:
        parts.append(Text(f"note: {note}", style="dim"))
    parts.append(Text("Y copies the CREATE INDEX statements", style="dim"))
    return Group(*parts)


class StatementScreen(MonitorScreen):
    TITLE = "Statement"
    PANEL = "Plans"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("y", "copy_query", "Copy query"),
        Binding("Y", "copy_index", "Copy index"),
        Binding("l", "reload", "Plan again"),
    ]

    def __init__(self, row: StatementRow) -> None:
        super().__init__()
        self.row = row
        self.plan: PlanResult | None = None
        self.advice: IndexAdvice | None = None

    def compose_body(self) -> ComposeResult:
        with VerticalScroll(id="detail"):
            yield Static(id="stmt-head", classes="panel")
            yield Static("planning …", id="stmt-plan", classes="panel")
            yield Static(id="stmt-advice", classes="panel")

    def on_mount(self) -> None:
        self.action_reload()

    def show(self, view: View) -> None:
        if not self.is_mounted:
            return
        if view.statements is not None:
            for row in view.statements.rows:
                if row.key == self.row.key:
                    self.row = row
        r = self.row
        grid = Table.grid(padding=(0, 2))
        grid.add_column(style="bold")
        grid.add_column(justify="right")
        grid.add_column(style="bold")
        grid.add_column(justify="right")
        grid.add_row("query id", str(r.queryid), "database / user", f"{r.datname} / {r.rolname}")
        grid.add_row("calls", fmt.count(r.calls), "calls/s", fmt.per_s(r.calls_s))
        grid.add_row("total time", fmt.ms(r.total_ms) + " ms", "time ms/s", fmt.per_s(r.time_ms_s))
        grid.add_row("mean", fmt.ms(r.mean_ms) + " ms", "share", fmt.pct(r.share))
        grid.add_row("rows", fmt.count(r.rows), "rows/s", fmt.per_s(r.rows_s))
        grid.add_row(
            "cache hit", fmt.pct(r.hit_ratio), "temp blocks written", fmt.count(r.temp_written)
        )
        query = Text(r.query or "<no text: pg_stat_statements text not visible>", style="italic")
        self.query_one("#stmt-head", Static).update(Group(grid, Text(""), query))

    def action_reload(self) -> None:
        app = self.monitor
        if app.replay is not None or self.row.query is None:
            self.query_one("#stmt-plan", Static).update(
                plan_renderable(None, replay=app.replay is not None)
            )
            return
        self.query_one("#stmt-plan", Static).update("planning …")
        self._plan()

    @work(thread=True, exclusive=True, group="statement-plan")
    def _plan(self) -> None:
        app = self.monitor
        assert app.live is not None and self.row.query is not None
        plan = explain_in(app.live.dsn, app.live.guard, self.row.datname, self.row.query)
        advice = index_advice(app.live.dsn, app.live.guard, self.row.datname, self.row.query)
        self.post_message(PlanLoaded(self.row.key, plan, advice))

    def on_plan_loaded(self, message: PlanLoaded) -> None:
        self.plan = message.plan
        self.advice = message.advice
        self.query_one("#stmt-plan", Static).update(plan_renderable(message.plan))
        self.query_one("#stmt-advice", Static).update(advice_renderable(message.advice))

    def action_copy_index(self) -> None:
        if self.advice is None or not self.advice.suggestions:
            self.notify("no index suggestion to copy", severity="warning")
            return
        self.app.copy_to_clipboard("\n".join(s.create_sql for s in self.advice.suggestions))
        self.notify("copied the CREATE INDEX statement(s)", title="clipboard")

    def action_copy_query(self) -> None:
        if self.row.query:
            self.app.copy_to_clipboard(self.row.query)
            self.notify("copied the query text", title="clipboard")
