"""One session: what it runs, locks held and awaited, progress, its statement, its plan."""

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
from pgtune_hx.tui.detail import PlanResult, SessionDetail, explain_in, session_detail
from pgtune_hx.tui.messages import PlanLoaded, SessionDetailLoaded
from pgtune_hx.tui.model import SessionRow, View
from pgtune_hx.tui.screens.base import MonitorScreen

FINDING_STYLES = {"critical": "bold red", "warning": "yellow", "info": "cyan"}


def rows_table(title: str, rows: list[dict[str, Any]], columns: list[str]) -> Table:
    table = Table(title=title, title_justify="left", expand=True, box=None, header_style="bold")
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(
            *[fmt.one_line("" if row.get(c) is None else str(row.get(c)), 80) for c in columns]
        )
    if not rows:
        table.add_row(*(["none"] + [""] * (len(columns) - 1)))
    return table


def plan_renderable(plan: PlanResult | None, *, replay: bool = False) -> Any:
    if replay:
        return Text("plan: not available in --replay (plans need a live server)", style="yellow")
    if plan is None:
        return Text("plan: no query text", style="dim")
    if plan.error:
        return Text(f"plan unavailable: {plan.error}", style="yellow")
    parts: list[Any] = [Text(f"plan: {plan.method}", style="bold")]
    parts.append(Text(plan.text or ""))
    if plan.findings:
        parts.append(Text("plan findings", style="bold"))
        for finding in plan.findings:
            style = FINDING_STYLES.get(finding.severity, "")
            where = f" [{finding.node}]" if finding.node else ""
            parts.append(Text(f"• {finding.severity}{where}: {finding.message}", style=style))
    else:
        parts.append(Text("plan findings: none", style="dim"))
    return Group(*parts)


class SessionScreen(MonitorScreen):
    TITLE = "Session"
    PANEL = "Plans"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("c", "signal('cancel')", "Cancel"),
        Binding("k,f9", "signal('terminate')", "Kill"),
        Binding("l", "reload", "Reload detail"),
        Binding("a", "explain_analyze", "Explain analyze"),
    ]

    def __init__(self, pid: int) -> None:
        super().__init__()
        self.pid = pid
        self.session: SessionRow | None = None
        self.detail: SessionDetail | None = None
        self.analyzed: PlanResult | None = None

    def compose_body(self) -> ComposeResult:
        with VerticalScroll(id="detail"):
            yield Static(id="sess-head", classes="panel")
            yield Static("loading …", id="sess-detail", classes="panel")
            yield Static(
                Text("a: EXPLAIN ANALYZE runs this SELECT once (read-only)", style="dim"),
                id="sess-analyze",
                classes="panel",
            )

    def on_mount(self) -> None:
        view = self.monitor.view
        self.session = view.session(self.pid) if view else None
        self.action_reload()

    def show(self, view: View) -> None:
        if not self.is_mounted:
            return
        session = view.session(self.pid)
        if session is not None:
            self.session = session
        head = Table.grid(padding=(0, 2))
        head.add_column(style="bold")
        head.add_column()
        s = self.session
        if s is None:
            self.query_one("#sess-head", Static).update(f"session {self.pid}: not found")
            return
        gone = session is None
        head.add_row("pid", f"{s.pid}" + ("  (session ended)" if gone else ""))
        if s.leader_pid and s.leader_pid != s.pid:
            head.add_row("parallel leader", str(s.leader_pid))
        head.add_row("user / database", f"{s.usename} / {s.datname}")
        head.add_row("application / client", f"{s.application_name or '-'} / {s.client or '-'}")
        head.add_row("backend", f"{s.backend_type}, started {s.backend_start or '?'}")
        head.add_row("state", f"{s.state or '?'} for {fmt.age(s.state_age_s)}")
        head.add_row("wait", s.wait or "-")
        head.add_row("transaction age", fmt.age(s.xact_age_s) or "-")
        head.add_row("query age", fmt.age(s.query_age_s) or "-")
        head.add_row("xmin age", fmt.count(s.backend_xmin_age) if s.backend_xmin_age else "-")
        if s.blocked_by:
            head.add_row("blocked by", ", ".join(map(str, s.blocked_by)))
        head.add_row("query id", str(s.query_id) if s.query_id is not None else "-")
        head.add_row("query", Text(s.query, style="italic"))
        self.query_one("#sess-head", Static).update(head)

    def action_reload(self) -> None:
        self.query_one("#sess-detail", Static).update("loading …")
        self._load()

    @work(thread=True, exclusive=True, group="session-detail")
    def _load(self) -> None:
        app = self.monitor
        s = self.session
        if s is None:
            self.post_message(
                SessionDetailLoaded(SessionDetail(self.pid, errors={"session": "not found"}))
            )
            return
        if app.replay is not None:
            snap = app.replay.snapshots[app.replay.position]
            locks = [r for r in snap.rows("locks") if r.get("pid") == self.pid]
            statements = [
                r
                for r in snap.rows("statements")
                if s.query_id is not None and str(r.get("queryid")) == str(s.query_id)
            ]
            errors = {} if snap.has("locks") else {"locks": "not in the recorded snapshot"}
            self.post_message(
                SessionDetailLoaded(SessionDetail(self.pid, locks, [], statements, None, errors))
            )
            return
        assert app.live is not None
        detail = session_detail(
            app.live.dsn,
            app.live.guard,
            pid=s.pid,
            datname=s.datname,
            datid=s.datid,
            query_id=s.query_id,
            query=s.query,
        )
        self.post_message(SessionDetailLoaded(detail))

    def on_session_detail_loaded(self, message: SessionDetailLoaded) -> None:
        self.detail = d = message.detail
        parts: list[Any] = []
        parts.append(
            rows_table(
                "locks (awaited first)",
                d.locks,
                [
                    "granted",
                    "mode",
                    "locktype",
                    "relname",
                    "datname",
                    "transactionid",
                    "virtualxid",
                    "page",
                    "tuple",
                    "waitstart",
                ],
            )
        )
        for view_name, row in d.progress:
            parts.append(rows_table(f"progress: pg_stat_progress_{view_name}", [row], list(row)))
        if not d.progress:
            parts.append(Text("progress: no pg_stat_progress_* row for this pid", style="dim"))
        parts.append(
            rows_table(
                "pg_stat_statements for this query id",
                d.statements,
                [
                    "rolname",
                    "calls",
                    "total_exec_time",
                    "mean_exec_time",
                    "max_exec_time",
                    "rows",
                    "shared_blks_hit",
                    "shared_blks_read",
                    "temp_blks_written",
                ],
            )
        )
        parts.append(plan_renderable(d.plan, replay=self.monitor.replay is not None))
        for name, error in d.errors.items():
            parts.append(Text(f"{name}: {error}", style="yellow"))
        self.query_one("#sess-detail", Static).update(Group(*parts))

    def action_explain_analyze(self) -> None:
        if self.monitor.replay is not None or self.session is None:
            self.notify("EXPLAIN ANALYZE needs a live server", severity="warning")
            return
        self.query_one("#sess-analyze", Static).update("running EXPLAIN ANALYZE …")
        self._analyze_plan()

    @work(thread=True, exclusive=True, group="session-analyze")
    def _analyze_plan(self) -> None:
        app = self.monitor
        s = self.session
        assert app.live is not None and s is not None
        plan = explain_in(app.live.dsn, app.live.guard, s.datname, s.query, analyze=True)
        self.post_message(PlanLoaded(("analyze", self.pid), plan))

    def on_plan_loaded(self, message: PlanLoaded) -> None:
        self.analyzed = message.plan
        self.query_one("#sess-analyze", Static).update(plan_renderable(message.plan))

    def action_signal(self, action: str) -> None:
        if self.session is None:
            return
        self.monitor.request_signal(self.session, "cancel" if action == "cancel" else "terminate")
