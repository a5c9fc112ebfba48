"""Build the report's view model from snapshots, findings, advice and tuning.

One function per section. Each returns plain data (report.model); ordering and
formatting happen here, verdicts (severity, what to change) come from the
analyzer, the index advisor and the tuner, never from this module.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable, Iterable
from typing import Any

from pgtune_hx.collect.model import Snapshot
from pgtune_hx.report import format as fmt
from pgtune_hx.report.inputs import ReportInputs
from pgtune_hx.report.model import (
    Block,
    Cell,
    Chart,
    Column,
    FindingCard,
    FindingGroup,
    KeyValues,
    Notes,
    Report,
    Section,
    Table,
    Tile,
    Tiles,
)

SEVERITIES = ("critical", "warning", "info")
TOP_STATEMENTS = 25
TOP_RANKED = 10
MAX_ROWS = 200
Charts = Callable[..., str] | None


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True, default=str)
    return str(value)


def qname(schema: Any, name: Any) -> str:
    return f"{schema}.{name}" if schema not in (None, "") else _text(name)


def slug(text: str) -> str:
    """
    >>> slug("index.unused: public.t")
    'index-unused-public-t'
    """
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:80] or "x"


def num_cell(value: Any, render: Callable[[Any], str] = fmt.count) -> Cell:
    number = fmt.number(value)
    return Cell(render(value), sort=number if number is not None else -1.0, kind="num")


def text_cell(value: Any, kind: str = "") -> Cell:
    text = _text(value)
    return Cell(text, sort=text.lower(), kind=kind)


def sql_cell(text: Any, width: int = 160) -> Cell:
    full = " ".join(_text(text).split())
    short = full if len(full) <= width else full[: width - 1] + "…"
    return Cell(short, sort=full.lower(), kind="sql", detail=full if short != full else None)


def severity_cell(severity: str) -> Cell:
    order = {"critical": 3, "warning": 2, "info": 1}.get(severity, 0)
    return Cell(severity, sort=float(order), kind=f"sev sev-{severity}")


def _cut(rows: list[list[Cell]], limit: int = MAX_ROWS) -> tuple[list[list[Cell]], int | None]:
    return (rows[:limit], len(rows)) if len(rows) > limit else (rows, None)


class Builder:
    """Builds one report; holds what several sections share."""

    def __init__(self, inputs: ReportInputs, charts: Any | None = None) -> None:
        self.inputs = inputs
        self.snap: Snapshot = inputs.snapshot
        self.since = inputs.since
        self.now = self.snap.captured
        self.charts = charts
        self.findings = list(inputs.findings or [])
        self.settings = {str(r.get("name")): r for r in self.snap.rows("settings")}

    # -- shared helpers ------------------------------------------------------------

    def setting(self, name: str) -> str | None:
        row = self.settings.get(name)
        return None if row is None else _text(row.get("setting"))

    @property
    def block_size(self) -> int:
        value = fmt.number(self.setting("block_size"))
        return int(value) if value else 8192

    def chart(self, name: str, *args: Any, **kwargs: Any) -> str | None:
        if self.charts is None:
            return None
        render: Callable[..., str] = getattr(self.charts, name)
        return render(*args, **kwargs)

    def section_error(self, name: str) -> str | None:
        section = self.snap.section(name)
        return None if section.ok else f"{name}: {section.error}"

    def findings_for(self, prefix: str) -> list[dict[str, Any]]:
        return [f for f in self.findings if str(f.get("rule_id", "")).startswith(prefix)]

    # -- the report ----------------------------------------------------------------

    def build(self) -> Report:
        sections = [self.summary()]
        if self.inputs.demo:
            sections.append(self.demo())
        sections += [
            self.findings_section(),
            self.statements(),
            self.tables(),
            self.indexes(),
            self.locks(),
            self.settings_section(),
        ]
        if self.since is not None:
            sections.append(self.comparison())
        sections.append(self.notes())
        server = self.snap.server
        title = self.inputs.title or f"pgtune_hx report: {_text(server.get('database'))}"
        subtitle = (
            f"PostgreSQL {_text(server.get('server_version'))}, captured "
            f"{fmt.timestamp(self.snap.captured_at)}"
        )
        if self.since is not None:
            subtitle += f", compared with {fmt.timestamp(self.since.captured_at)}"
        return Report(
            title=title,
            subtitle=subtitle,
            sources=list(self.inputs.sources),
            sections=sections,
            anonymized=self.inputs.anonymized,
        )

    # -- summary ---------------------------------------------------------------------

    def summary(self) -> Section:
        server, host = self.snap.server, self.snap.host
        started = server.get("postmaster_start_time")
        uptime = fmt.age(started, self.now)[0].removesuffix(" ago") if started else ""
        server_items = [
            ("version", _text(server.get("server_version"))),
            ("database", _text(server.get("database"))),
            ("captured at", fmt.timestamp(self.snap.captured_at)),
            ("server started", f"{fmt.timestamp(started)} (up {uptime})" if started else ""),
            ("max_connections", _text(self.setting("max_connections"))),
            ("shared_buffers", self._setting_text("shared_buffers")),
            ("snapshot took", fmt.millis(self.snap.elapsed_ms)),
        ]
        if self.since is not None:
            interval = (self.snap.captured - self.since.captured).total_seconds()
            server_items.insert(3, ("interval", fmt.seconds(interval)))
        blocks: list[Block] = [
            KeyValues("server", "Server", [(k, v) for k, v in server_items if v]),
            KeyValues("host", "Host", self._host_items(host)),
            self._health_tiles(),
        ]
        top = sorted(self.findings, key=_finding_order)[:5]
        blocks.append(
            Table(
                "top-findings",
                "Top findings",
                [Column("severity"), Column("finding"), Column("object")],
                [
                    [
                        severity_cell(str(f.get("severity"))),
                        Cell(_text(f.get("title")), sort=_text(f.get("title")).lower(),
                             href=finding_anchor(f)),
                        text_cell(f.get("object"), "code"),
                    ]
                    for f in top
                ],
                empty=self._findings_empty(),
            )
        )
        counts = self._severity_counts()
        summary = ", ".join(f"{counts[s]} {s}" for s in SEVERITIES)
        return Section("summary", "Summary", summary, blocks)

    def _setting_text(self, name: str) -> str:
        row = self.settings.get(name)
        if row is None:
            return ""
        unit = _text(row.get("unit"))
        value = fmt.number(row.get("setting"))
        factor = {"8kB": 8192, "kB": 1024, "MB": 1024**2, "B": 1}.get(unit)
        if value is not None and factor:
            return fmt.size(value * factor)
        return f"{_text(row.get('setting'))}{' ' + unit if unit else ''}"

    def _host_items(self, host: dict[str, Any]) -> list[tuple[str, str]]:
        if not host:
            return [("host", "not collected")]
        if not host.get("local", False):
            return [("host", "remote server: hardware unknown")]
        items = [
            ("os", _text(host.get("os"))),
            ("CPUs", _text(host.get("effective_cpus") or host.get("cpu_count"))),
            ("memory", fmt.size(host.get("effective_memory_bytes") or host.get("memory_bytes"))),
            ("cgroup", _text(host.get("cgroup_version"))),
            ("data disk", _text(host.get("data_disk"))),
            (
                "disk type",
                {True: "rotational", False: "solid state"}.get(host.get("data_disk_rotational"), "")
                if host.get("data_disk_rotational") is not None
                else "unknown",
            ),
            ("disk free", fmt.size(host.get("data_disk_free_bytes"))),
        ]
        return [(k, v) for k, v in items if v]

    def _severity_counts(self) -> dict[str, int]:
        counts = dict.fromkeys(SEVERITIES, 0)
        for finding in self.findings:
            severity = str(finding.get("severity"))
            if severity in counts:
                counts[severity] += 1
        return counts

    def _findings_empty(self) -> str:
        if self.inputs.findings is None:
            reason = self.inputs.missing.get("analyzer", "not run")
            return f"The analyzer did not run: {reason}."
        return "The analyzer found nothing to report."

    def _health_tiles(self) -> Tiles:
        counts = self._severity_counts()
        tiles = [
            Tile(f"{s} findings", str(counts[s]), level=s if counts[s] else "")
            for s in SEVERITIES
        ]
        tables = self.snap.rows("tables")
        if tables:
            total = sum(fmt.number(t.get("total_bytes")) or 0 for t in tables)
            dead = sum(fmt.number(t.get("n_dead_tup")) or 0 for t in tables)
            tiles.append(Tile("user tables", fmt.size(total), f"{len(tables)} tables"))
            tiles.append(Tile("dead tuples", fmt.count(dead)))
        database = self._current_database()
        if database:
            hit, read = fmt.number(database.get("blks_hit")), fmt.number(database.get("blks_read"))
            if hit is not None and read is not None and hit + read > 0:
                tiles.append(Tile("cache hit ratio", fmt.percent(hit / (hit + read), 2)))
            if database.get("temp_bytes") is not None:
                tiles.append(
                    Tile("temp files written", fmt.size(database.get("temp_bytes")),
                         f"{fmt.count(database.get('temp_files'))} files")
                )
        activity = self.snap.rows("activity")
        if self.snap.has("activity"):
            limit = self.setting("max_connections")
            tiles.append(Tile("connections", f"{len(activity)}", f"of {limit}" if limit else ""))
            ages = [a for a in (self._xact_age(r) for r in activity) if a is not None]
            if ages:
                tiles.append(Tile("longest transaction", fmt.seconds(max(ages))))
        return Tiles("health", "Health at a glance", tiles)

    def _current_database(self) -> dict[str, Any] | None:
        name = self.snap.server.get("database")
        for row in self.snap.rows("database"):
            if row.get("datname") == name:
                return row
        return None

    def _xact_age(self, row: dict[str, Any]) -> float | None:
        age = fmt.number(row.get("xact_age_s"))
        if age is not None:
            return age
        return fmt.age(row.get("xact_start"), self.now)[1]

    # -- findings --------------------------------------------------------------------

    def findings_section(self) -> Section:
        blocks: list[Block] = []
        ordered = sorted(self.findings, key=_finding_order)
        for severity in SEVERITIES:
            cards = [_card(f) for f in ordered if str(f.get("severity")) == severity]
            if cards:
                blocks.append(
                    FindingGroup(f"findings-{severity}", severity.capitalize(), severity, cards)
                )
        if not blocks:
            blocks.append(Notes("findings-none", "No findings", [self._findings_empty()]))
        counts = self._severity_counts()
        summary = ", ".join(f"{counts[s]} {s}" for s in SEVERITIES if counts[s]) or "none"
        return Section("findings", "Findings", summary, blocks)

    # -- statements ------------------------------------------------------------------

    def statement_rows(self) -> list[dict[str, Any]]:
        """The statements to show: interval deltas with two snapshots, totals with one."""
        rows = [r for r in self.snap.rows("statements") if r.get("toplevel", True) is not False]
        if self.since is None:
            return rows
        return statement_deltas(self.since.rows("statements"), rows)

    def statements(self) -> Section:
        error = self.section_error("statements")
        if error:
            return Section(
                "statements", "Top statements", "not collected",
                [Notes("statements-missing", "Not collected", [error])],
            )
        rows = self.statement_rows()
        plans = self.inputs.plan_findings or {}
        block = self.block_size

        def io_blocks(r: dict[str, Any]) -> float:
            return sum(
                fmt.number(r.get(c)) or 0.0
                for c in ("shared_blks_read", "local_blks_read", "temp_blks_read", "temp_blks_written")
            )

        def temp_blocks(r: dict[str, Any]) -> float:
            return (fmt.number(r.get("temp_blks_written")) or 0.0) + (
                fmt.number(r.get("temp_blks_read")) or 0.0
            )

        def total(r: dict[str, Any]) -> float:
            return fmt.number(r.get("total_exec_time")) or 0.0

        def mean(r: dict[str, Any]) -> float:
            calls = fmt.number(r.get("calls")) or 0.0
            return total(r) / calls if calls else 0.0

        columns = [
            Column("statement"),
            Column("database"),
            Column("calls", True),
            Column("total time", True),
            Column("mean", True),
            Column("rows", True),
            Column("read", True, "blocks read from outside shared buffers"),
            Column("hit ratio", True),
            Column("temp", True, "temporary file blocks written"),
            Column("plan findings"),
        ]

        def row_cells(r: dict[str, Any]) -> list[Cell]:
            hit = fmt.number(r.get("shared_blks_hit")) or 0.0
            read = fmt.number(r.get("shared_blks_read")) or 0.0
            ratio = hit / (hit + read) if hit + read > 0 else None
            plan = plans.get(_text(r.get("queryid"))) or plans.get(_text(r.get("query"))) or []
            plan_text = "; ".join(_text(p.get("title") or p.get("kind")) for p in plan)
            return [
                sql_cell(r.get("query")),
                text_cell(r.get("datname")),
                num_cell(r.get("calls")),
                num_cell(total(r), fmt.millis),
                num_cell(mean(r), fmt.millis),
                num_cell(r.get("rows")),
                num_cell(read * block, fmt.size),
                num_cell(ratio, fmt.percent) if ratio is not None else Cell("", -1.0, "num"),
                num_cell((fmt.number(r.get("temp_blks_written")) or 0) * block, fmt.size),
                text_cell(plan_text),
            ]

        scope = "in the interval" if self.since is not None else "since the statistics reset"
        rankings = [
            ("by-total", "by total time", total, TOP_STATEMENTS),
            ("by-mean", "by mean time", mean, TOP_RANKED),
            ("by-io", "by I/O (blocks read and temp blocks)", io_blocks, TOP_RANKED),
            ("by-temp", "by temp blocks", temp_blocks, TOP_RANKED),
        ]
        blocks: list[Block] = []
        by_total = sorted(rows, key=lambda r: (-total(r), _text(r.get("queryid"))))
        chart_rows = [r for r in by_total[:10] if total(r) > 0]
        svg = self.chart(
            "horizontal_bars",
            "statements-total",
            [" ".join(_text(r.get("query")).split()) for r in chart_rows],
            [total(r) for r in chart_rows],
            title=f"Total execution time {scope}",
            fmt=fmt.millis,
        ) if chart_rows else None
        if svg:
            blocks.append(Chart("statements-chart", "Where the time goes", svg))
        for key, label, metric, limit in rankings:
            ranked = [r for r in sorted(rows, key=lambda r, m=metric: (-m(r), _text(r.get("queryid")))) if metric(r) > 0]  # type: ignore[misc]
            blocks.append(
                Table(
                    f"statements-{key}",
                    f"Top statements {label}",
                    columns,
                    [row_cells(r) for r in ranked[:limit]],
                    empty="No statement did any of this.",
                    total=len(ranked) if len(ranked) > limit else None,
                )
            )
        if self.inputs.plan_findings is None and "advisor" in self.inputs.missing:
            blocks.append(
                Notes("statements-plans", "Plan findings",
                      [f"Plans were not analyzed: {self.inputs.missing['advisor']}."])
            )
        summary = f"{len(rows)} statements {scope}"
        return Section("statements", "Top statements", summary, blocks)

    # -- tables ----------------------------------------------------------------------

    def tables(self) -> Section:
        error = self.section_error("tables")
        rows = sorted(
            self.snap.rows("tables"),
            key=lambda r: (-(fmt.number(r.get("total_bytes")) or 0), qname(r.get("schemaname"), r.get("relname"))),
        )
        blocks: list[Block] = []
        if error:
            blocks.append(Notes("tables-missing", "Not collected", [error]))
        top = rows[:10]
        if top and any(fmt.number(r.get("total_bytes")) for r in top):
            svg = self.chart(
                "stacked_bars",
                "tables-size",
                [qname(r.get("schemaname"), r.get("relname")) for r in top],
                {
                    "table": [fmt.number(r.get("table_bytes")) or 0.0 for r in top],
                    "indexes": [fmt.number(r.get("index_bytes")) or 0.0 for r in top],
                    "TOAST": [fmt.number(r.get("toast_bytes")) or 0.0 for r in top],
                },
                title="Largest tables",
                fmt=fmt.size,
            )
            if svg:
                blocks.append(Chart("tables-chart", "Largest tables", svg))
        columns = [
            Column("table"),
            Column("total", True),
            Column("table size", True),
            Column("indexes", True),
            Column("live tuples", True),
            Column("dead tuples", True),
            Column("dead", True, "dead tuples / (live + dead)"),
            Column("last vacuum", True),
            Column("last analyze", True),
            Column("modified since analyze", True),
            Column("seq scans", True),
            Column("rows read by seq scans", True),
            Column("index scans", True),
            Column("HOT updates", True),
            Column("options"),
        ]
        cells = [self._table_cells(r) for r in rows]
        shown, total = _cut(cells)
        blocks.append(Table("tables-all", "Tables", columns, shown, "No user tables.", total=total))
        flagged = [f for f in self.findings if _is_table_rule(str(f.get("rule_id", "")))]
        if flagged:
            blocks.append(_findings_table("tables-findings", "Flagged by the analyzer", flagged))
        return Section("tables", "Tables", f"{len(rows)} tables", blocks)

    def _table_cells(self, r: dict[str, Any]) -> list[Cell]:
        vacuum = _latest(r.get("last_vacuum"), r.get("last_autovacuum"))
        analyze = _latest(r.get("last_analyze"), r.get("last_autoanalyze"))
        vac_text, vac_age = fmt.age(vacuum, self.now)
        an_text, an_age = fmt.age(analyze, self.now)
        never = 1e12  # "never" sorts as the oldest
        return [
            text_cell(qname(r.get("schemaname"), r.get("relname")), "code"),
            num_cell(r.get("total_bytes"), fmt.size),
            num_cell(r.get("table_bytes"), fmt.size),
            num_cell(r.get("index_bytes"), fmt.size),
            num_cell(r.get("n_live_tup")),
            num_cell(r.get("n_dead_tup")),
            num_cell(r.get("dead_ratio") if r.get("dead_ratio") is not None else _ratio(
                r.get("n_dead_tup"), r.get("n_live_tup")), fmt.percent),
            Cell(vac_text, vac_age if vac_age is not None else never, "num"),
            Cell(an_text, an_age if an_age is not None else never, "num"),
            num_cell(r.get("n_mod_since_analyze")),
            num_cell(r.get("seq_scan")),
            num_cell(r.get("seq_tup_read")),
            num_cell(r.get("idx_scan")),
            num_cell(r.get("hot_ratio"), fmt.percent),
            text_cell(", ".join(r.get("reloptions") or []), "code"),
        ]

    # -- indexes ---------------------------------------------------------------------

    def indexes(self) -> Section:
        blocks: list[Block] = []
        flagged = self.findings_for("index.")
        blocks.append(
            _findings_table(
                "indexes-flagged",
                "Unused, duplicate and other flagged indexes",
                flagged,
                empty=self._findings_empty()
                if self.inputs.findings is None
                else "The analyzer flagged no index.",
            )
        )
        blocks.append(self._suggestions())
        error = self.section_error("indexes")
        if error:
            blocks.append(Notes("indexes-missing", "Not collected", [error]))
        rows = sorted(
            self.snap.rows("indexes"),
            key=lambda r: (-(fmt.number(r.get("size_bytes")) or 0), _text(r.get("indexrelname"))),
        )
        columns = [
            Column("index"),
            Column("table"),
            Column("method"),
            Column("definition"),
            Column("size", True),
            Column("scans", True),
            Column("tuples read", True),
            Column("kind"),
            Column("valid"),
        ]
        cells = [
            [
                text_cell(qname(r.get("schemaname"), r.get("indexrelname")), "code"),
                text_cell(qname(r.get("schemaname"), r.get("relname")), "code"),
                text_cell(r.get("am")),
                sql_cell(r.get("indexdef"), 120),
                num_cell(r.get("size_bytes"), fmt.size),
                num_cell(r.get("idx_scan")),
                num_cell(r.get("idx_tup_read")),
                text_cell(_index_kind(r)),
                text_cell(r.get("indisvalid")),
            ]
            for r in rows
        ]
        shown, total = _cut(cells)
        blocks.append(Table("indexes-all", "All indexes", columns, shown, "No indexes.", total=total))
        suggested = len(self.inputs.suggestions or [])
        summary = f"{len(rows)} indexes, {len(flagged)} flagged, {suggested} suggested"
        return Section("indexes", "Indexes", summary, blocks)

    def _suggestions(self) -> Block:
        suggestions = self.inputs.suggestions
        columns = [
            Column("table"),
            Column("index"),
            Column("method"),
            Column("verified by"),
            Column("cost before", True),
            Column("cost after", True),
            Column("estimated size", True),
            Column("statements helped", True),
        ]
        if suggestions is None:
            reason = self.inputs.missing.get("advisor", "not run")
            return Table("indexes-suggested", "Suggested indexes", columns, [],
                         f"The index advisor did not run: {reason}.")
        rows = [
            [
                text_cell(s.get("table"), "code"),
                sql_cell(s.get("create_sql"), 200),
                text_cell(s.get("method")),
                text_cell(s.get("verified_by")),
                num_cell(s.get("cost_before"), _cost),
                num_cell(s.get("cost_after"), _cost),
                num_cell(s.get("size_bytes") or s.get("estimated_size_bytes"), fmt.size),
                num_cell(len(s.get("queries") or [])),
            ]
            for s in suggestions
        ]
        return Table("indexes-suggested", "Suggested indexes", columns, rows,
                     "The index advisor has no suggestion for this workload.")

    # -- locks and long transactions -------------------------------------------------

    def locks(self) -> Section:
        blocks: list[Block] = []
        activity = self.snap.rows("activity")
        interesting = [
            r for r in activity if r.get("state") not in (None, "idle") or r.get("xact_start")
        ]
        interesting.sort(key=lambda r: (-(self._xact_age(r) or 0.0), fmt.number(r.get("pid")) or 0))
        columns = [
            Column("pid", True),
            Column("database"),
            Column("user"),
            Column("application"),
            Column("state"),
            Column("transaction age", True),
            Column("state age", True),
            Column("waiting on"),
            Column("query"),
        ]
        rows = []
        for r in interesting:
            xact = self._xact_age(r)
            state_age = fmt.number(r.get("state_age_s"))
            if state_age is None:
                state_age = fmt.age(r.get("state_change"), self.now)[1]
            wait = " / ".join(x for x in (_text(r.get("wait_event_type")), _text(r.get("wait_event"))) if x)
            rows.append(
                [
                    num_cell(r.get("pid")),
                    text_cell(r.get("datname")),
                    text_cell(r.get("usename")),
                    text_cell(r.get("application_name")),
                    text_cell(r.get("state")),
                    num_cell(xact, fmt.seconds),
                    num_cell(state_age, fmt.seconds),
                    text_cell(wait),
                    sql_cell(r.get("query"), 120),
                ]
            )
        error = self.section_error("activity")
        if error:
            blocks.append(Notes("activity-missing", "Not collected", [error]))
        blocks.append(
            Table("locks-sessions", "Sessions in a transaction or running", columns, rows,
                  "No session was running or inside a transaction.")
        )
        blocks.append(self._blocking())
        blocks.append(self._lock_summary())
        prepared = self.snap.rows("prepared_xacts")
        if prepared:
            blocks.append(
                Table(
                    "locks-prepared", "Prepared transactions",
                    [Column("gid"), Column("prepared"), Column("owner"), Column("database")],
                    [[text_cell(p.get("gid")), text_cell(fmt.age(p.get("prepared"), self.now)[0]),
                      text_cell(p.get("owner")), text_cell(p.get("database"))] for p in prepared],
                )
            )
        flagged = [f for f in self.findings if _is_session_rule(str(f.get("rule_id", "")))]
        if flagged:
            blocks.append(_findings_table("locks-findings", "Flagged by the analyzer", flagged))
        waiting = sum(1 for r in activity if r.get("wait_event_type") == "Lock")
        summary = f"{len(interesting)} active or in a transaction, {waiting} waiting on a lock"
        return Section("locks", "Locks and long transactions", summary, blocks)

    def _blocking(self) -> Table:
        rows = sorted(self.snap.rows("blocking"), key=lambda r: fmt.number(r.get("pid")) or 0)
        columns = [Column("pid", True), Column("blocked by"), Column("root blocker"),
                   Column("state"), Column("waiting", True), Column("query")]
        cells = []
        for r in rows:
            blocked_by = r.get("blocked_by")
            if isinstance(blocked_by, list):
                blocked_by = ", ".join(str(x) for x in blocked_by)
            root = r.get("root_blocker") if "root_blocker" in r else r.get("is_root")
            wait = fmt.number(r.get("wait_s") or r.get("waiting_s") or r.get("state_age_s"))
            cells.append(
                [
                    num_cell(r.get("pid")),
                    text_cell(blocked_by),
                    text_cell(root),
                    text_cell(r.get("state")),
                    num_cell(wait, fmt.seconds),
                    sql_cell(r.get("query"), 120),
                ]
            )
        empty = "No session was waiting for another." if self.snap.has("blocking") else (
            f"Not collected: {self.snap.section('blocking').error}")
        return Table("locks-blocking", "Blocking chains", columns, cells, empty)

    def _lock_summary(self) -> Table:
        counts: dict[tuple[str, str, str], int] = {}
        for r in self.snap.rows("locks"):
            key = (_text(r.get("locktype")), _text(r.get("mode")), _text(r.get("granted")))
            counts[key] = counts.get(key, 0) + 1
        rows = [
            [text_cell(k[0]), text_cell(k[1]), text_cell(k[2]), num_cell(v)]
            for k, v in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
        ]
        return Table(
            "locks-summary", "Locks held and awaited",
            [Column("lock type"), Column("mode"), Column("granted"), Column("count", True)],
            rows,
            "No locks." if self.snap.has("locks") else "Locks were not collected.",
        )

    # -- settings --------------------------------------------------------------------

    def settings_section(self) -> Section:
        blocks: list[Block] = []
        tuning = self.inputs.tuning
        change_columns = [Column("setting"), Column("current"), Column("recommended"),
                          Column("restart"), Column("reason")]
        if tuning is None:
            reason = self.inputs.missing.get("tuner", "not run")
            blocks.append(Table("settings-changes", "Recommended changes", change_columns, [],
                                f"The tuner did not run: {reason}."))
        else:
            changes = list(tuning.get("changes") or [])
            blocks.append(
                Table(
                    "settings-changes",
                    "Recommended changes",
                    change_columns,
                    [
                        [
                            text_cell(c.get("name"), "code"),
                            text_cell(_with_unit(c.get("current"), c.get("unit"))),
                            text_cell(_with_unit(c.get("recommended"), c.get("unit"))),
                            text_cell(c.get("restart")),
                            text_cell(c.get("reason")),
                        ]
                        for c in changes
                    ],
                    "The tuner recommends no change.",
                )
            )
            blocks += self._budget(tuning.get("budget") or tuning.get("memory_budget"))
            notes = [str(n) for n in tuning.get("notes") or tuning.get("evidence") or []]
            if notes:
                blocks.append(Notes("settings-notes", "What the tuner used", notes))
        changed = sorted(
            (r for r in self.settings.values()
             if r.get("source") not in (None, "default", "override", "client")),
            key=lambda r: _text(r.get("name")),
        )
        blocks.append(
            Table(
                "settings-current",
                "Settings changed from the default",
                [Column("setting"), Column("value"), Column("unit"), Column("source"),
                 Column("pending restart")],
                [
                    [
                        text_cell(r.get("name"), "code"),
                        text_cell(r.get("setting")),
                        text_cell(r.get("unit")),
                        text_cell(r.get("source")),
                        text_cell(r.get("pending_restart")),
                    ]
                    for r in changed
                ],
                "No setting differs from its default."
                if self.snap.has("settings")
                else "Settings were not collected.",
            )
        )
        flagged = self.findings_for("server.") + self.findings_for("settings.")
        if flagged:
            blocks.append(_findings_table("settings-findings", "Flagged by the analyzer", flagged))
        n_changes = len((tuning or {}).get("changes") or [])
        summary = f"{n_changes} recommended changes" if tuning is not None else "tuner not run"
        return Section("settings", "Settings", summary, blocks)

    def _budget(self, budget: Any) -> list[Block]:
        if not isinstance(budget, dict) or not budget:
            return []
        parts = budget.get("parts") or budget.get("items")
        items: list[tuple[str, float, str]] = []
        if isinstance(parts, list):
            for p in parts:
                items.append((_text(p.get("name")), fmt.number(p.get("bytes")) or 0.0,
                              _text(p.get("formula") or p.get("explain") or "")))
        else:
            for key, value in budget.items():
                if key.endswith("_bytes") and key not in ("limit_bytes", "total_bytes", "ram_bytes"):
                    items.append((key.removesuffix("_bytes").replace("_", " "), fmt.number(value) or 0.0, ""))
        limit = fmt.number(budget.get("limit_bytes") or budget.get("ram_bytes"))
        total = fmt.number(budget.get("total_bytes")) or sum(i[1] for i in items)
        rows = [[text_cell(n), num_cell(b, fmt.size), text_cell(f)] for n, b, f in items]
        rows.append([text_cell("total"), num_cell(total, fmt.size), text_cell("")])
        if limit:
            rows.append([text_cell("memory limit"), num_cell(limit, fmt.size), text_cell("")])
        blocks: list[Block] = [
            Table("settings-budget", "Memory budget", [Column("part"), Column("bytes", True),
                                                        Column("how")], rows)
        ]
        if items:
            svg = self.chart(
                "stacked_bars", "settings-budget",
                ["recommended"], {n: [b] for n, b, _ in items},
                title="Memory budget" + (f" (limit {fmt.size(limit)})" if limit else ""),
                fmt=fmt.size,
            )
            if svg:
                blocks.append(Chart("settings-budget-chart", "Memory budget", svg))
        return blocks

    # -- comparison of two snapshots -----------------------------------------------

    def comparison(self) -> Section:
        assert self.since is not None
        interval = (self.snap.captured - self.since.captured).total_seconds()
        blocks: list[Block] = [
            KeyValues("comparison-interval", "Interval", [
                ("from", fmt.timestamp(self.since.captured_at)),
                ("to", fmt.timestamp(self.snap.captured_at)),
                ("length", fmt.seconds(interval)),
            ])
        ]
        blocks.append(self._database_rates(interval))
        blocks.append(self._table_changes(interval))
        return Section("comparison", "Comparison of the two snapshots",
                       f"over {fmt.seconds(interval)}", blocks)

    def _database_rates(self, interval: float) -> Table:
        name = self.snap.server.get("database")
        after = next((r for r in self.snap.rows("database") if r.get("datname") == name), None)
        before = next((r for r in self.since.rows("database") if r.get("datname") == name), None) if self.since else None
        metrics = [
            ("xact_commit", "commits", fmt.count),
            ("xact_rollback", "rollbacks", fmt.count),
            ("tup_returned", "rows returned", fmt.count),
            ("tup_fetched", "rows fetched", fmt.count),
            ("tup_inserted", "rows inserted", fmt.count),
            ("tup_updated", "rows updated", fmt.count),
            ("tup_deleted", "rows deleted", fmt.count),
            ("blks_read", "blocks read", fmt.count),
            ("blks_hit", "blocks hit", fmt.count),
            ("temp_files", "temp files", fmt.count),
            ("temp_bytes", "temp bytes", fmt.size),
            ("deadlocks", "deadlocks", fmt.count),
        ]
        rows = []
        if after is not None and before is not None and interval > 0:
            for column, label, render in metrics:
                a, b = fmt.number(after.get(column)), fmt.number(before.get(column))
                if a is None or b is None:
                    continue
                delta = a - b
                rows.append([
                    text_cell(label),
                    num_cell(b, render),
                    num_cell(a, render),
                    num_cell(delta, render),
                    num_cell(delta / interval, lambda v: fmt.rate(v)),
                ])
        return Table(
            "comparison-database", f"Database {name}: activity in the interval",
            [Column("counter"), Column("before", True), Column("after", True),
             Column("change", True), Column("per second", True)],
            rows, "The database counters were not in both snapshots.",
        )

    def _table_changes(self, interval: float) -> Table:
        assert self.since is not None
        before = {(r.get("schemaname"), r.get("relname")): r for r in self.since.rows("tables")}
        changes = []
        for r in self.snap.rows("tables"):
            key = (r.get("schemaname"), r.get("relname"))
            old = before.get(key)
            if old is None:
                continue
            deltas = {
                c: (fmt.number(r.get(c)) or 0.0) - (fmt.number(old.get(c)) or 0.0)
                for c in ("seq_scan", "seq_tup_read", "idx_scan", "n_tup_ins", "n_tup_upd",
                          "n_tup_del", "n_dead_tup", "total_bytes")
            }
            if any(deltas.values()):
                changes.append((qname(*key), deltas))
        changes.sort(key=lambda item: (-(item[1]["seq_tup_read"] + item[1]["n_tup_ins"]
                                         + item[1]["n_tup_upd"]), item[0]))
        per_s = (lambda v: fmt.rate(v)) if interval > 0 else fmt.count
        rows = [
            [
                text_cell(name, "code"),
                num_cell(d["seq_scan"] / interval if interval else 0, per_s),
                num_cell(d["seq_tup_read"] / interval if interval else 0, per_s),
                num_cell(d["idx_scan"] / interval if interval else 0, per_s),
                num_cell((d["n_tup_ins"] + d["n_tup_upd"] + d["n_tup_del"]) / interval if interval else 0, per_s),
                num_cell(d["n_dead_tup"]),
                num_cell(d["total_bytes"], fmt.size),
            ]
            for name, d in changes
        ]
        shown, total = _cut(rows, 50)
        return Table(
            "comparison-tables", "Tables: rates in the interval",
            [Column("table"), Column("seq scans", True), Column("rows read by seq scans", True),
             Column("index scans", True), Column("rows written", True),
             Column("dead tuples change", True), Column("size change", True)],
            shown, "No table changed in the interval.", total=total,
        )

    # -- demo --------------------------------------------------------------------------

    def demo(self) -> Section:
        demo = self.inputs.demo or {}
        blocks: list[Block] = []
        phases = demo.get("phases") or []
        blocks.append(
            Table(
                "demo-phases", "What the demo did",
                [Column("phase"), Column("took", True), Column("detail")],
                [[text_cell(p.get("name")), num_cell(p.get("seconds"), fmt.seconds),
                  text_cell(p.get("detail"))] for p in phases],
            )
        )
        before, after = demo.get("before"), demo.get("after")
        if before:
            blocks.append(self._workload_table(before, after))
            if after:
                names = sorted({q["query"] for q in before.get("queries", [])})
                b = {q["query"]: q for q in before.get("queries", [])}
                a = {q["query"]: q for q in after.get("queries", [])}
                names = [n for n in names if n in a]
                names.sort(key=lambda n: -(fmt.number(b[n].get("mean_ms")) or 0))
                svg = self.chart(
                    "paired_bars", "demo-workload", names,
                    [fmt.number(b[n].get("mean_ms")) or 0.0 for n in names],
                    [max(fmt.number(a[n].get("mean_ms")) or 0.0, 1e-3) for n in names],
                    names=("before", "after"), title="Mean latency per statement (log scale)",
                    fmt=fmt.millis, log=True,
                )
                if svg:
                    blocks.append(Chart("demo-chart", "Before and after", svg))
        applied = demo.get("applied") or []
        if applied:
            blocks.append(
                Table(
                    "demo-applied", "Indexes the demo applied",
                    [Column("statement"), Column("result"), Column("took", True)],
                    [[sql_cell(x.get("sql"), 200), text_cell(x.get("result")),
                      num_cell(x.get("seconds"), fmt.seconds)] for x in applied],
                )
            )
        notes = [str(n) for n in demo.get("notes") or []]
        if notes:
            blocks.append(Notes("demo-notes", "How the numbers were measured", notes))
        summary = "workload measured before and after the index advice" if after else "workload measured"
        return Section("demo", "Demo: the workload and what the advice changed", summary, blocks)

    def _workload_table(self, before: dict[str, Any], after: dict[str, Any] | None) -> Table:
        a = {q["query"]: q for q in (after or {}).get("queries", [])}
        columns = [Column("statement"), Column("calls", True), Column("mean before", True),
                   Column("p95 before", True), Column("total before", True)]
        if after:
            columns += [Column("mean after", True), Column("p95 after", True),
                        Column("total after", True), Column("speed-up", True)]
        rows = []
        queries = sorted(before.get("queries", []), key=lambda q: -(fmt.number(q.get("total_ms")) or 0))
        for q in queries:
            cells = [text_cell(q.get("query"), "code"), num_cell(q.get("calls")),
                     num_cell(q.get("mean_ms"), fmt.millis), num_cell(q.get("p95_ms"), fmt.millis),
                     num_cell(q.get("total_ms"), fmt.millis)]
            if after:
                other = a.get(q["query"], {})
                mb, ma = fmt.number(q.get("mean_ms")), fmt.number(other.get("mean_ms"))
                speed = mb / ma if mb and ma else None
                cells += [num_cell(ma, fmt.millis), num_cell(other.get("p95_ms"), fmt.millis),
                          num_cell(other.get("total_ms"), fmt.millis),
                          num_cell(speed, lambda v: f"{fmt.number(v):.1f}x" if fmt.number(v) else "")]
            rows.append(cells)
        totals = [text_cell("all statements (wall clock)"), num_cell(before.get("operations")),
                  Cell(""), Cell(""), num_cell((fmt.number(before.get("wall_s")) or 0) * 1000, fmt.millis)]
        if after:
            wb, wa = fmt.number(before.get("wall_s")), fmt.number(after.get("wall_s"))
            totals += [Cell(""), Cell(""), num_cell((wa or 0) * 1000, fmt.millis),
                       num_cell(wb / wa if wb and wa else None,
                                lambda v: f"{fmt.number(v):.1f}x" if fmt.number(v) else "")]
        rows.append(totals)
        return Table("demo-workload", "Workload timings (client side)", columns, rows)

    # -- host and collector notes ------------------------------------------------------

    def notes(self) -> Section:
        blocks: list[Block] = []
        host_notes = [str(n) for n in self.snap.host.get("notes") or []]
        blocks.append(Notes("notes-host", "Host", host_notes or ["No host notes."]))
        missing = [f"{k}: {v}" for k, v in sorted(self.inputs.missing.items())]
        if missing:
            blocks.append(Notes("notes-missing", "Not run", missing))
        sections = sorted(self.snap.sections.values(), key=lambda s: s.name)
        blocks.append(
            Table(
                "notes-sections", "Collector sections",
                [Column("section"), Column("rows", True), Column("took", True), Column("error"),
                 Column("skipped objects", True)],
                [[text_cell(s.name, "code"), num_cell(len(s.rows)),
                  num_cell(s.elapsed_ms, fmt.millis), text_cell(s.error),
                  num_cell(len(s.skipped))] for s in sections],
                "The snapshot holds no sections.",
            )
        )
        skipped = [(s.name, obj) for s in sections for obj in s.skipped]
        blocks.append(
            Table("notes-skipped", "Objects the collectors skipped",
                  [Column("section"), Column("object")],
                  [[text_cell(n, "code"), text_cell(o)] for n, o in skipped],
                  "No object was skipped.")
        )
        errors = len(self.snap.errors())
        summary = f"{errors} section errors, {len(skipped)} skipped objects"
        return Section("notes", "Host and collector notes", summary, blocks)


# -- helpers shared by sections ---------------------------------------------------------


def _finding_order(f: dict[str, Any]) -> tuple[int, float, str, str]:
    order = {"critical": 3, "warning": 2, "info": 1}.get(str(f.get("severity")), 0)
    return (-order, -(fmt.number(f.get("impact")) or 0.0), _text(f.get("rule_id")),
            _text(f.get("object")))


def finding_anchor(f: dict[str, Any]) -> str:
    return "f-" + slug(f"{f.get('rule_id')}-{f.get('object') or ''}")


def _card(f: dict[str, Any]) -> FindingCard:
    evidence = f.get("evidence") or {}
    return FindingCard(
        severity=_text(f.get("severity")),
        rule_id=_text(f.get("rule_id")),
        title=_text(f.get("title")),
        object=None if f.get("object") is None else _text(f.get("object")),
        evidence=[(str(k), _evidence_value(k, v)) for k, v in sorted(evidence.items())],
        fix=None if f.get("fix") is None else _text(f.get("fix")),
        fix_kind=None if f.get("fix_kind") is None else _text(f.get("fix_kind")),
        confidence=_text(f.get("confidence")),
        doc=_text(f.get("doc")),
        anchor=finding_anchor(f),
    )


def _evidence_value(key: str, value: Any) -> str:
    if isinstance(value, bool) or value is None:
        return _text(value)
    if isinstance(value, int | float):
        if key.endswith("_bytes"):
            return fmt.size(value)
        if key.endswith("_ms"):
            return fmt.millis(value)
        if key.endswith("_s"):
            return fmt.seconds(value)
        if key.endswith(("_ratio", "_fraction", "_share")):
            return fmt.percent(value, 2)
        return f"{value:,}" if isinstance(value, int) else f"{value:,.4g}"
    return _text(value)


def _findings_table(table_id: str, title: str, findings: Iterable[dict[str, Any]],
                    empty: str = "None.") -> Table:
    ordered = sorted(findings, key=_finding_order)
    return Table(
        table_id, title,
        [Column("severity"), Column("rule"), Column("object"), Column("finding"), Column("fix")],
        [
            [
                severity_cell(_text(f.get("severity"))),
                text_cell(f.get("rule_id"), "code"),
                text_cell(f.get("object"), "code"),
                Cell(_text(f.get("title")), _text(f.get("title")).lower(),
                     href=finding_anchor(f)),
                sql_cell(f.get("fix"), 200) if f.get("fix") else text_cell(""),
            ]
            for f in ordered
        ],
        empty,
    )


def _is_table_rule(rule_id: str) -> bool:
    return rule_id.startswith(("table.", "vacuum.", "autovacuum.", "bloat.", "wraparound.",
                               "sequence."))


def _is_session_rule(rule_id: str) -> bool:
    return rule_id.startswith(("lock.", "locks.", "session.", "sessions.", "transaction.",
                               "connection.", "connections.", "activity."))


def _latest(*values: Any) -> str | None:
    times = [(fmt.parse_time(v), v) for v in values]
    known = [(t, v) for t, v in times if t is not None]
    return max(known, key=lambda tv: tv[0])[1] if known else None


def _ratio(part: Any, rest: Any) -> float | None:
    a, b = fmt.number(part), fmt.number(rest)
    if a is None or b is None or a + b <= 0:
        return None
    return a / (a + b)


def _index_kind(r: dict[str, Any]) -> str:
    if r.get("indisprimary"):
        return "primary key"
    if r.get("constraint_type") not in (None, "", "p"):
        return {"u": "unique constraint", "x": "exclusion constraint"}.get(
            _text(r.get("constraint_type")), _text(r.get("constraint_type")))
    if r.get("indisunique"):
        return "unique"
    return ""


def _cost(value: Any) -> str:
    number = fmt.number(value)
    return "" if number is None else f"{number:,.1f}"


def _with_unit(value: Any, unit: Any) -> str:
    text = _text(value)
    return f"{text} {unit}" if unit and text and not text.endswith(str(unit)) else text


def statement_deltas(before: list[dict[str, Any]], after: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Counters of each statement over the interval; statements new in ``after``
    count from zero, and one whose calls went down (reset or evicted) is left out."""
    def key(r: dict[str, Any]) -> tuple[str, str, str, str]:
        return (_text(r.get("queryid")), _text(r.get("dbid")), _text(r.get("userid")),
                _text(r.get("toplevel")))

    old = {key(r): r for r in before}
    counters = ("calls", "total_exec_time", "rows", "shared_blks_hit", "shared_blks_read",
                "local_blks_read", "temp_blks_read", "temp_blks_written", "total_plan_time",
                "wal_bytes", "shared_blks_dirtied", "shared_blks_written")
    result = []
    for r in after:
        prior = old.get(key(r))
        delta = dict(r)
        if prior is not None:
            if (fmt.number(r.get("calls")) or 0) < (fmt.number(prior.get("calls")) or 0):
                continue
            for c in counters:
                a, b = fmt.number(r.get(c)), fmt.number(prior.get(c))
                if a is not None and b is not None:
                    delta[c] = a - b
        if (fmt.number(delta.get("calls")) or 0) > 0:
            result.append(delta)
    return result


def build_report(inputs: ReportInputs, charts: Any | None = None) -> Report:
    return Builder(inputs, charts).build()


def now_of(snapshot: Snapshot) -> dt.datetime:
    return snapshot.captured
