"""The six main screens; each draws a View and nothing else."""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

from rich.table import Table
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Grid, Horizontal, Vertical
from textual.widgets import Input, Sparkline, Static
from textual.worker import get_current_worker

from pgtune_hx.tui import fmt
from pgtune_hx.tui.findings import Analysis, analyzer_available, run_analysis
from pgtune_hx.tui.live import LOCK_SECTIONS, STATEMENT_SECTIONS, TABLE_SECTIONS
from pgtune_hx.tui.locktree import tree_lines, walk
from pgtune_hx.tui.messages import FindingsAnalyzed
from pgtune_hx.tui.model import (
    SORT_ORDER,
    SORTS,
    ActivityFilter,
    SessionRow,
    StatementRow,
    View,
    arrange,
)
from pgtune_hx.tui.screens.base import MonitorScreen
from pgtune_hx.tui.widgets import Row, RowTable

STATE_STYLES = {
    "active": "green",
    "idle in transaction": "yellow",
    "idle in transaction (aborted)": "bold red",
    "idle": "dim",
    "fastpath function call": "cyan",
}


def state_text(session: SessionRow) -> tuple[str, str]:
    if session.waiting_on_lock:
        return ("waiting", "bold red")
    state = session.state or session.backend_type
    return (state.replace("idle in transaction", "idle in xact"), STATE_STYLES.get(state, ""))


def age_text(seconds: float | None, warn: float = 60.0, bad: float = 600.0) -> tuple[str, str]:
    style = "" if seconds is None or seconds < warn else "yellow" if seconds < bad else "bold red"
    return (fmt.age(seconds), style)


def right(text: str, style: str = "") -> tuple[str, str]:
    """A cell of a right-aligned (numeric) column; the table aligns it."""
    return (text, style)


# -- overview ------------------------------------------------------------------------------

SPARKS = (
    ("tps", "TPS"),
    ("active", "active sessions"),
    ("waiting", "lock waiters"),
    ("cache_hit", "cache hit"),
    ("wal_bytes_s", "WAL/s"),
    ("temp_bytes_s", "temp/s"),
)


def _spark_value(key: str, value: float | None) -> str:
    if key == "cache_hit":
        return fmt.pct(value)
    if key.endswith("bytes_s"):
        return fmt.size(value) + "/s" if value is not None else fmt.NA
    if key in ("active", "waiting"):
        return fmt.count(value)
    return fmt.per_s(value)


class OverviewScreen(MonitorScreen):
    TITLE = "Overview"
    PANEL = "Overview"

    def compose_body(self) -> ComposeResult:
        with Horizontal(id="ov-top"):
            yield Static(id="ov-server", classes="panel")
            yield Static(id="ov-throughput", classes="panel")
        yield Static(id="ov-connections", classes="panel")
        with Grid(id="ov-sparks"):
            for key, label in SPARKS:
                yield Static(label, id=f"lbl-{key}", classes="spark-label")
                yield Sparkline([], id=f"spark-{key}", summary_function=max)
        yield Static(id="ov-replication", classes="panel")

    def show(self, view: View) -> None:
        if not self.is_mounted:
            return
        ov = view.overview
        server = Table.grid(padding=(0, 2))
        server.add_column(style="bold")
        server.add_column()
        server.add_row("server", f"PostgreSQL {ov.server_version}")
        server.add_row("database", ov.database)
        server.add_row("role", ov.role)
        server.add_row("uptime", fmt.age(ov.uptime_s) or fmt.NA)
        server.add_row("role in cluster", "standby" if ov.in_recovery else "primary")
        if ov.replay_delay_s is not None:
            server.add_row("replay delay", fmt.age(ov.replay_delay_s))
        server.add_row("backends", str(ov.backends_total))
        self.query_one("#ov-server", Static).update(server)

        thr = Table.grid(padding=(0, 2))
        thr.add_column(style="bold")
        thr.add_column(justify="right")
        thr.add_column(style="bold")
        thr.add_column(justify="right")
        thr.add_row("TPS", fmt.per_s(ov.tps), "cache hit", fmt.pct(ov.cache_hit))
        thr.add_row(
            "commits/s", fmt.per_s(ov.commits_s), "since reset", fmt.pct(ov.cache_hit_total)
        )
        thr.add_row(
            "rollbacks/s",
            fmt.per_s(ov.rollbacks_s),
            "temp/s",
            fmt.size(ov.temp_bytes_s) if ov.temp_bytes_s is not None else fmt.NA,
        )
        thr.add_row(
            "rows written/s",
            fmt.per_s(ov.tup_written_s),
            "WAL/s",
            fmt.size(ov.wal_bytes_s) if ov.wal_bytes_s is not None else fmt.NA,
        )
        thr.add_row(
            "deadlocks",
            fmt.count(ov.deadlocks),
            "checkpoints",
            f"{fmt.count(ov.checkpoints_timed)} timed / {fmt.count(ov.checkpoints_requested)} req",
        )
        self.query_one("#ov-throughput", Static).update(thr)

        conn = Text()
        conn.append("connections ", style="bold")
        total = ov.client_total
        limit = ov.max_connections
        conn.append(f"{total}/{limit if limit is not None else '?'}")
        if limit:
            share = total / limit
            filled = round(share * 30)
            conn.append(" [")
            conn.append("█" * filled, style="red" if share > 0.8 else "green")
            conn.append("·" * (30 - filled), style="dim")
            conn.append(f"] {share * 100:.0f}%  ")
        for state in sorted(ov.connections, key=lambda s: -ov.connections[s]):
            conn.append(f"{state} ", style=STATE_STYLES.get(state, ""))
            conn.append(f"{ov.connections[state]}  ", style="bold")
        conn.append("waiting on locks ", style="red" if ov.lock_waiting else "")
        conn.append(str(ov.lock_waiting), style="bold")
        if ov.hidden:
            conn.append(f"  hidden {ov.hidden}", style="yellow")
        self.query_one("#ov-connections", Static).update(conn)

        for key, label in SPARKS:
            data = list(view.history.get(key, ()))
            self.query_one(f"#spark-{key}", Sparkline).data = data
            last = data[-1] if data else None
            self.query_one(f"#lbl-{key}", Static).update(f"{label} {_spark_value(key, last)}")

        rep = Table(title="replication", title_justify="left", expand=True, box=None)
        for column in ("standby", "client", "state", "sync", "replay lag", "lag bytes"):
            rep.add_column(column)
        for r in ov.replicas:
            rep.add_row(
                r.name,
                r.client,
                r.state,
                r.sync_state,
                fmt.age(r.replay_lag_s) or "0",
                fmt.size(r.replay_lag_bytes),
            )
        if not ov.replicas:
            rep.add_row("none connected", "", "", "", "", "")
        self.query_one("#ov-replication", Static).update(rep)


# -- activity --------------------------------------------------------------------------------


class SessionListScreen(MonitorScreen):
    """Sessions in a table: Enter opens the session, c cancels, k or F9 terminates."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("c", "signal('cancel')", "Cancel"),
        Binding("k,f9", "signal('terminate')", "Kill"),
    ]

    def _selected(self) -> SessionRow | None:
        key = self.query_one(RowTable).selected_key()
        view = self.monitor.view
        if key is None or view is None:
            return None
        return view.session(int(key))

    def action_signal(self, action: str) -> None:
        session = self._selected()
        if session is None:
            self.notify("no session selected", severity="warning")
            return
        self.monitor.request_signal(session, "cancel" if action == "cancel" else "terminate")

    @on(RowTable.Selected)
    def _open(self, event: RowTable.Selected) -> None:
        session = self._selected()
        if session is not None:
            from pgtune_hx.tui.screens.session import SessionScreen

            self.app.push_screen(SessionScreen(session.pid))


class ActivityScreen(SessionListScreen):
    TITLE = "Activity"
    PANEL = "Activity"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("slash", "filter", "Filter"),
        Binding("i", "toggle_idle", "Idle"),
        Binding("s", "toggle_system", "System", show=False),
        Binding("f6,o", "next_sort", "Sort"),
        Binding("I", "invert", "Invert", show=False),
        Binding("t", "sort('query_age')", "Sort by age", show=False),
        Binding("x", "sort('xact_age')", "Sort by xact", show=False),
        Binding("P", "sort('pid')", "Sort by pid", show=False),
        Binding("escape", "clear_filter", "Clear filter", show=False),
    ]
    COLUMNS = (
        "PID",
        "DATABASE",
        "USER",
        "APPLICATION",
        "CLIENT",
        "STATE",
        "WAIT",
        "XACT AGE",
        "AGE",
        "XMIN AGE",
        "QUERY",
    )

    def __init__(self) -> None:
        super().__init__()
        self.flt = ActivityFilter()

    def compose_body(self) -> ComposeResult:
        yield Static(id="act-info", classes="info")
        yield Input(
            placeholder="filter: pid, database, user, app, client, state, query", id="filter"
        )
        yield RowTable(*self.COLUMNS, right=("XACT AGE", "AGE", "XMIN AGE"), id="sessions")

    def show(self, view: View) -> None:
        if not self.is_mounted:
            return
        table = self.query_one(RowTable)
        rows = arrange(view.sessions, self.flt)
        table_rows: list[Row] = []
        for session, depth in rows:
            pid = f"{'└ ' if depth else ''}{session.pid}"
            table_rows.append(
                (
                    str(session.pid),
                    (
                        (pid, "dim" if depth else "bold"),
                        session.datname or "",
                        session.usename or "",
                        fmt.one_line(session.application_name, 18),
                        session.client,
                        state_text(session),
                        (session.wait, "red" if session.waiting_on_lock else "yellow"),
                        age_text(session.xact_age_s),
                        age_text(session.shown_age_s),
                        right(
                            fmt.count(session.backend_xmin_age) if session.backend_xmin_age else ""
                        ),
                        fmt.one_line(session.query, 200),
                    ),
                )
            )
        table.set_rows(table_rows)
        label, _, _ = SORTS[self.flt.sort]
        info = Text()
        info.append(f"{len(rows)} sessions shown of {len(view.sessions)}", style="bold")
        info.append(f" · sort {label}{' (inverted)' if self.flt.reverse else ''}")
        info.append(f" · idle {'shown' if self.flt.show_idle else 'hidden'}")
        if self.flt.show_system:
            info.append(" · system processes shown")
        if self.flt.text:
            info.append(f" · filter {self.flt.text!r}", style="bold yellow")
        self.query_one("#act-info", Static).update(info)

    def _redraw(self) -> None:
        if self.monitor.view is not None:
            self.show(self.monitor.view)

    def _set_filter(self, **changes: Any) -> None:
        self.flt = dataclasses.replace(self.flt, **changes)
        self._redraw()

    def action_filter(self) -> None:
        box = self.query_one("#filter", Input)
        box.display = True
        box.focus()

    def action_clear_filter(self) -> None:
        box = self.query_one("#filter", Input)
        box.value = ""
        box.display = False
        self._set_filter(text="")
        self.query_one(RowTable).focus()

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self._set_filter(text=event.value)

    @on(Input.Submitted, "#filter")
    def _filter_done(self, event: Input.Submitted) -> None:
        if not event.value:
            event.input.display = False
        self.query_one(RowTable).focus()

    def action_toggle_idle(self) -> None:
        self._set_filter(show_idle=not self.flt.show_idle)

    def action_toggle_system(self) -> None:
        self._set_filter(show_system=not self.flt.show_system)

    def action_next_sort(self) -> None:
        index = SORT_ORDER.index(self.flt.sort)
        self._set_filter(sort=SORT_ORDER[(index + 1) % len(SORT_ORDER)], reverse=False)

    def action_sort(self, key: str) -> None:
        self._set_filter(sort=key, reverse=False)

    def action_invert(self) -> None:
        self._set_filter(reverse=not self.flt.reverse)


# -- locks ---------------------------------------------------------------------------------------


class LocksScreen(SessionListScreen):
    TITLE = "Locks"
    PANEL = "Locks"
    SECTIONS = LOCK_SECTIONS
    COLUMNS = (
        "PID",
        "BEHIND",
        "STATE",
        "WAITS FOR",
        "XACT AGE",
        "AGE",
        "USER",
        "DATABASE",
        "APPLICATION",
        "QUERY",
    )

    def compose_body(self) -> ComposeResult:
        yield Static(id="act-info", classes="info")
        yield RowTable(*self.COLUMNS, right=("BEHIND", "XACT AGE", "AGE"), id="sessions")

    def show(self, view: View) -> None:
        if not self.is_mounted:
            return
        table = self.query_one(RowTable)
        by_pid = {s.pid: s for s in view.sessions}
        table_rows: list[Row] = []
        for node, prefix in tree_lines(view.lock_forest):
            session = by_pid.get(node.pid)
            label = Text(prefix, style="dim")
            if node.prepared_xact:
                label.append("prepared xact", style="bold magenta")
            else:
                label.append(str(node.pid), style="bold red" if node.is_root else "")
            if node.cycle:
                label.append(" (cycle)", style="bold magenta")
            if node.also_blocked_by and not node.is_root:
                label.append(f" +{','.join(map(str, node.also_blocked_by))}", style="dim")
            behind = right(str(node.waiting_behind) if node.waiting_behind else "")
            if session is None:
                table_rows.append(
                    (str(node.pid), (label, behind, "gone", "", "", "", "", "", "", ""))
                )
                continue
            table_rows.append(
                (
                    str(node.pid),
                    (
                        label,
                        behind,
                        state_text(session),
                        (
                            view.awaited.get(node.pid, session.wait),
                            "red" if session.waiting_on_lock else "",
                        ),
                        age_text(session.xact_age_s),
                        age_text(session.shown_age_s),
                        session.usename or "",
                        session.datname or "",
                        fmt.one_line(session.application_name, 18),
                        fmt.one_line(session.query, 200),
                    ),
                )
            )
        table.set_rows(table_rows)
        waiting = sum(1 for node in walk(view.lock_forest) if not node.is_root)
        info = Text()
        if view.lock_forest:
            info.append(f"{len(view.lock_forest)} root blocker(s)", style="bold red")
            info.append(f", {waiting} session(s) waiting")
            info.append(" · BEHIND = distinct sessions waiting on it, directly or not")
        else:
            info.append("no session waits on another session's lock", style="green")
        if not view.can_signal:
            info.append(" · cancel/terminate unavailable", style="yellow")
        self.query_one("#act-info", Static).update(info)


# -- statements -----------------------------------------------------------------------------------

STATEMENT_SORTS: dict[str, tuple[str, Any]] = {
    "total": ("total time", lambda r: r.total_ms),
    "time_s": ("time/s", lambda r: r.time_ms_s or 0.0),
    "calls_s": ("calls/s", lambda r: r.calls_s or 0.0),
    "mean": ("mean time", lambda r: r.mean_ms),
    "temp": ("temp written", lambda r: r.temp_written),
    "read": ("blocks read", lambda r: r.shared_read),
}


class StatementsScreen(MonitorScreen):
    TITLE = "Statements"
    PANEL = "Statements"
    SECTIONS = STATEMENT_SECTIONS
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f6,o", "next_sort", "Sort"),
        Binding("I", "invert", "Invert", show=False),
        Binding("d", "toggle_databases", "All DBs"),
    ]
    COLUMNS = (
        "TOTAL ms",
        "SHARE",
        "CALLS",
        "CALLS/s",
        "TIME ms/s",
        "MEAN ms",
        "ROWS/s",
        "HIT",
        "READ blk/s",
        "TEMP blk/s",
        "DATABASE",
        "USER",
        "QUERY",
    )

    def __init__(self) -> None:
        super().__init__()
        self.sort = "total"
        self.reverse = False
        self._rows: dict[str, StatementRow] = {}

    def compose_body(self) -> ComposeResult:
        yield Static(id="stmt-info", classes="info")
        yield RowTable(*self.COLUMNS, right=self.COLUMNS[:10], id="statements")

    def show(self, view: View) -> None:
        if not self.is_mounted:
            return
        info = Text()
        stv = view.statements
        table = self.query_one(RowTable)
        table_rows: list[Row] = []
        if stv is None or stv.error:
            table.set_rows([])
            if stv is None:
                info.append("collecting pg_stat_statements …")
            else:
                info.append(f"pg_stat_statements unavailable: {stv.error}", style="bold yellow")
            self.query_one("#stmt-info", Static).update(info)
            return
        label, keyfn = STATEMENT_SORTS[self.sort]
        everywhere = self.monitor.statements_all_databases
        database = view.overview.database
        listed = stv.rows if everywhere else [r for r in stv.rows if r.datname == database]
        rows = sorted(listed, key=keyfn, reverse=not self.reverse)
        self._rows = {}
        for row in rows:
            row_key = "/".join(str(part) for part in row.key)
            self._rows[row_key] = row
            table_rows.append(
                (
                    row_key,
                    (
                        right(fmt.ms(row.total_ms)),
                        right(fmt.pct(row.share)),
                        right(fmt.count(row.calls)),
                        right(fmt.per_s(row.calls_s)),
                        right(fmt.per_s(row.time_ms_s)),
                        right(fmt.ms(row.mean_ms)),
                        right(fmt.per_s(row.rows_s)),
                        right(fmt.pct(row.hit_ratio)),
                        right(fmt.per_s(row.read_blks_s)),
                        right(fmt.per_s(row.temp_blks_s)),
                        row.datname or "",
                        row.rolname or "",
                        fmt.one_line(row.query, 200) if row.query is not None else "<no text>",
                    ),
                )
            )
        table.set_rows(table_rows)
        info.append(f"{len(rows)} statements", style="bold")
        info.append(" of every database" if everywhere else f" of database {database}")
        info.append(f" · sorted by {label}{' (inverted)' if self.reverse else ''}")
        if stv.interval_s is not None:
            info.append(f" · rates over the measured {stv.interval_s:.2f}s")
        else:
            info.append(" · rates n/a until the next refresh")
        if stv.note:
            info.append(f" · {stv.note}", style="yellow")
        self.query_one("#stmt-info", Static).update(info)

    def _redraw(self) -> None:
        if self.monitor.view is not None:
            self.show(self.monitor.view)

    def action_next_sort(self) -> None:
        order = list(STATEMENT_SORTS)
        self.sort = order[(order.index(self.sort) + 1) % len(order)]
        self._redraw()

    def action_invert(self) -> None:
        self.reverse = not self.reverse
        self._redraw()

    def action_toggle_databases(self) -> None:
        self.monitor.set_statements_scope(not self.monitor.statements_all_databases)
        self._redraw()

    @on(RowTable.Selected)
    def _open(self, event: RowTable.Selected) -> None:
        row = self._rows.get(str(event.key))
        if row is not None:
            from pgtune_hx.tui.screens.statement import StatementScreen

            self.app.push_screen(StatementScreen(row))


# -- tables and indexes ----------------------------------------------------------------------------


class TablesScreen(MonitorScreen):
    TITLE = "Tables"
    PANEL = "Tables"
    SECTIONS = TABLE_SECTIONS
    BINDINGS: ClassVar[list[BindingType]] = [Binding("f6,o", "next_sort", "Sort")]
    SORTS: ClassVar[dict[str, tuple[str, Any]]] = {
        "size": ("size", lambda t: t.total_bytes or 0),
        "dead": ("dead tuples", lambda t: t.n_dead_tup),
        "seq": ("seq scans", lambda t: t.seq_scan),
        "vacuum": ("vacuum age", lambda t: t.vacuum_age_s or float("inf")),
    }

    def __init__(self) -> None:
        super().__init__()
        self.sort = "size"

    def compose_body(self) -> ComposeResult:
        with Vertical():
            yield Static(id="tbl-info", classes="info")
            yield RowTable(
                "TABLE",
                "TOTAL",
                "HEAP",
                "INDEXES",
                "LIVE",
                "DEAD",
                "DEAD %",
                "VACUUMED",
                "ANALYZED",
                "MOD SINCE AN.",
                "SEQ SCANS",
                "IDX SCANS",
                "XID AGE",
                right=(
                    "TOTAL",
                    "HEAP",
                    "INDEXES",
                    "LIVE",
                    "DEAD",
                    "DEAD %",
                    "VACUUMED",
                    "ANALYZED",
                    "MOD SINCE AN.",
                    "SEQ SCANS",
                    "IDX SCANS",
                    "XID AGE",
                ),
                id="tables",
            )
            yield Static(id="idx-info", classes="info")
            yield RowTable(
                "INDEX",
                "TABLE",
                "SIZE",
                "SCANS",
                "FLAGS",
                "DEFINITION",
                right=("SIZE", "SCANS"),
                id="indexes",
            )

    def show(self, view: View) -> None:
        if not self.is_mounted:
            return
        tv = view.tables
        tables = self.query_one("#tables", RowTable)
        indexes = self.query_one("#indexes", RowTable)
        if tv is None:
            self.query_one("#tbl-info", Static).update("collecting tables and indexes …")
            return
        tables_rows: list[Row] = []
        label, keyfn = self.SORTS[self.sort]
        for t in sorted(tv.tables, key=keyfn, reverse=self.sort != "vacuum"):
            est = "~" if t.size_estimated else ""
            dead_style = "bold red" if (t.dead_ratio or 0) > 0.2 else ""
            tables_rows.append(
                (
                    t.name,
                    (
                        t.name,
                        right(est + fmt.size(t.total_bytes)),
                        right(fmt.size(t.table_bytes) if t.table_bytes is not None else ""),
                        right(fmt.size(t.index_bytes) if t.index_bytes is not None else ""),
                        right(fmt.count(t.n_live_tup)),
                        right(fmt.count(t.n_dead_tup), dead_style),
                        right(
                            fmt.pct(t.dead_ratio) if t.dead_ratio is not None else "", dead_style
                        ),
                        right(
                            fmt.age(t.vacuum_age_s) + " ago"
                            if t.vacuum_age_s is not None
                            else "never"
                        ),
                        right(
                            fmt.age(t.analyze_age_s) + " ago"
                            if t.analyze_age_s is not None
                            else "never"
                        ),
                        right(fmt.count(t.n_mod_since_analyze)),
                        right(fmt.count(t.seq_scan)),
                        right(fmt.count(t.idx_scan) if t.idx_scan is not None else ""),
                        right(fmt.count(t.xid_age)),
                    ),
                )
            )
        tables.set_rows(tables_rows)
        indexes_rows: list[Row] = []
        flagged = 0
        for ix in sorted(tv.indexes, key=lambda i: (-(i.size_bytes or 0), i.name)):
            flags = Text()
            for rule_id, _title in ix.verdicts:
                style = "bold red" if rule_id in ("index.invalid", "index.duplicate") else "yellow"
                flags.append(rule_id.removeprefix("index.") + " ", style=style)
            flagged += bool(ix.verdicts)
            if ix.constraint_type:
                flags.append(ix.constraint_type, style="dim")
            elif ix.unique:
                flags.append("unique", style="dim")
            est = "~" if ix.size_estimated else ""
            indexes_rows.append(
                (
                    ix.name,
                    (
                        ix.name,
                        ix.table,
                        right(est + fmt.size(ix.size_bytes)),
                        right(fmt.count(ix.idx_scan), "yellow" if ix.no_scans else ""),
                        flags,
                        fmt.one_line(ix.indexdef, 160),
                    ),
                )
            )
        indexes.set_rows(indexes_rows)
        info = Text()
        info.append(f"{len(tv.tables)} tables", style="bold")
        info.append(f" · sorted by {label} · collected {tv.captured_at[11:19]} (every 30s)")
        if any(t.size_estimated for t in tv.tables):
            info.append(" · ~ = estimate from relpages (relation locked)", style="yellow")
        if tv.error:
            info.append(f" · {tv.error}", style="bold yellow")
        self.query_one("#tbl-info", Static).update(info)
        iinfo = Text()
        iinfo.append(f"{len(tv.indexes)} indexes", style="bold")
        no_scans = sum(1 for ix in tv.indexes if ix.no_scans)
        iinfo.append(f" · {no_scans} with no scan since the stats reset")
        iinfo.append(f" · {flagged} flagged by the analyzer", style="yellow" if flagged else "")
        iinfo.append(" (see Findings)")
        if tv.verdicts_note:
            iinfo.append(f" · {tv.verdicts_note}", style="yellow")
        self.query_one("#idx-info", Static).update(iinfo)

    def action_next_sort(self) -> None:
        order = list(self.SORTS)
        self.sort = order[(order.index(self.sort) + 1) % len(order)]
        if self.monitor.view is not None:
            self.show(self.monitor.view)


# -- findings --------------------------------------------------------------------------------------


class FindingsScreen(MonitorScreen):
    TITLE = "Findings"
    PANEL = "Findings"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "copy_fix", "Copy fix"),
        Binding("a", "analyze", "Analyze again"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.analysis: Analysis | None = None
        self._analyzing = False

    def compose_body(self) -> ComposeResult:
        yield Static(id="fnd-info", classes="info")
        yield RowTable("SEVERITY", "RULE", "OBJECT", "FINDING", id="findings")
        yield Static(id="fnd-detail", classes="panel")

    def on_screen_resume(self) -> None:
        # MonitorScreen's handler runs too (textual calls each class's handler)
        if self.analysis is None and not self._analyzing:
            self.action_analyze()

    def action_analyze(self) -> None:
        if not analyzer_available():
            self.query_one("#fnd-info", Static).update(
                Text(
                    "the analyzer (pgtune_hx.analyze) is not part of this build: no findings",
                    style="bold yellow",
                )
            )
            return
        self._analyzing = True
        self.query_one("#fnd-info", Static).update("analyzing …")
        self._analyze()

    @work(thread=True, exclusive=True, group="findings")
    def _analyze(self) -> None:
        app = self.monitor
        worker = get_current_worker()
        snapshot = app.replay.snapshots[app.replay.position] if app.replay else None
        since = None
        if app.replay is not None and app.replay.position > 0:
            since = app.replay.snapshots[app.replay.position - 1]
        analysis = run_analysis(live=app.live, snapshot=snapshot, since=since)
        if not worker.is_cancelled:
            self.post_message(
                FindingsAnalyzed(list(analysis.findings), analysis.error, analysis.captured_at)
            )

    def on_findings_analyzed(self, message: FindingsAnalyzed) -> None:
        self._analyzing = False
        self.analysis = Analysis(tuple(message.findings), message.error, message.captured_at)
        self._draw()

    def _draw(self) -> None:
        analysis = self.analysis
        if analysis is None or not self.is_mounted:
            return
        table = self.query_one(RowTable)
        table_rows: list[Row] = []
        for index, finding in enumerate(analysis.findings):
            severity = str(finding.severity)
            style = {"critical": "bold red", "warning": "yellow"}.get(severity, "cyan")
            table_rows.append(
                (
                    str(index),
                    (
                        (severity, style),
                        finding.rule_id,
                        finding.object or "",
                        fmt.one_line(finding.title, 120),
                    ),
                )
            )
        table.set_rows(table_rows)
        info = Text()
        if analysis.error:
            info.append(analysis.error, style="bold yellow")
        else:
            info.append(f"{len(analysis.findings)} findings", style="bold")
            if analysis.captured_at:
                info.append(f" · snapshot {analysis.captured_at[:19]}")
            info.append(" · y copies the fix · a analyzes again")
        self.query_one("#fnd-info", Static).update(info)
        self._show_detail()

    def _current(self) -> Any:
        if self.analysis is None or not self.analysis.findings:
            return None
        key = self.query_one(RowTable).selected_key()
        if key is None:
            return None
        return self.analysis.findings[int(key)]

    @on(RowTable.Highlighted)
    def _highlighted(self, event: RowTable.Highlighted) -> None:
        self._show_detail()

    def _show_detail(self) -> None:
        finding = self._current()
        detail = self.query_one("#fnd-detail", Static)
        if finding is None:
            detail.update("")
            return
        grid = Table.grid(padding=(0, 2))
        grid.add_column(style="bold")
        grid.add_column()
        grid.add_row("finding", finding.title)
        grid.add_row("object", finding.object or "")
        grid.add_row("confidence", finding.confidence)
        for name, value in finding.evidence.items():
            grid.add_row(f"· {name}", fmt.one_line(str(value), 200))
        grid.add_row("fix", Text(finding.fix or "(none)", style="bold green"))
        if finding.doc:
            grid.add_row("doc", finding.doc)
        detail.update(grid)

    def action_copy_fix(self) -> None:
        finding = self._current()
        if finding is None or not finding.fix:
            self.notify("this finding has no fix to copy", severity="warning")
            return
        self.app.copy_to_clipboard(finding.fix)
        self.notify(f"copied the fix of {finding.rule_id}", title="clipboard")
