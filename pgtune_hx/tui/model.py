"""The monitor's refresh model, without textual: snapshots in, a View out.

``RefreshModel.update(snapshot)`` is fed every snapshot in capture order (live
refreshes or recorded files) and returns an immutable ``View`` the screens only
draw. Rates are counter deltas divided by the MEASURED interval between the two
snapshots that hold the section (the server clock at capture), never by the
nominal refresh. A counter that went down, a changed stats_reset, a restarted
server or a first sighting gives ``None`` ("n/a") for that refresh, never a
negative or invented rate.
"""

from __future__ import annotations

import datetime as dt
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pgtune_hx.collect.model import Section, Snapshot
from pgtune_hx.errors import PgtuneError
from pgtune_hx.tui.locktree import LockNode, build_forest

HISTORY_SECONDS = 600.0
HIDDEN_QUERY = "<insufficient privilege>"
CLIENT_BACKENDS = frozenset({"client backend"})
# What the activity screen lists by default besides client sessions.
WORKER_BACKENDS = frozenset({"autovacuum worker", "parallel worker", "logical replication worker"})


def parse_ts(value: Any) -> dt.datetime | None:
    """ISO 8601 text from a snapshot -> aware datetime (None stays None)."""
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value
    try:
        return dt.datetime.fromisoformat(str(value))
    except ValueError:
        return None


def seconds_between(later: dt.datetime | None, earlier: Any) -> float | None:
    start = parse_ts(earlier)
    if later is None or start is None:
        return None
    return max(0.0, (later - start).total_seconds())


def _num(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def rate(current: Any, previous: Any, interval_s: float | None) -> float | None:
    """Per-second rate of a counter; None when it cannot be trusted.

    >>> rate(150, 100, 2.0), rate(90, 100, 2.0), rate(150, None, 2.0)
    (25.0, None, None)
    """
    cur, prev = _num(current), _num(previous)
    if cur is None or prev is None or interval_s is None or interval_s <= 0 or cur < prev:
        return None
    return (cur - prev) / interval_s


def summed_deltas(
    previous: Sequence[Mapping[str, Any]],
    current: Sequence[Mapping[str, Any]],
    key: str | None,
    fields: Sequence[str],
) -> dict[str, float] | None:
    """Sum of each field's delta over the rows present in both; None on any reset.

    Rows are matched on ``key`` (None: single-row views). A changed stats_reset
    or a counter that went down in any matched row is a reset; rows that
    appeared or vanished (a created or dropped database) are left out.
    """
    before = {row.get(key) if key else None: row for row in previous}
    totals = dict.fromkeys(fields, 0.0)
    for row in current:
        old = before.get(row.get(key) if key else None)
        if old is None:
            continue
        if old.get("stats_reset") != row.get("stats_reset"):
            return None
        for name in fields:
            cur, prev = _num(row.get(name)), _num(old.get(name))
            if cur is None or prev is None:
                continue
            if cur < prev:
                return None
            totals[name] += cur - prev
    return totals


# -- sessions ---------------------------------------------------------------------------


@dataclass(frozen=True)
class SessionRow:
    pid: int
    leader_pid: int | None
    datid: int | None
    datname: str | None
    usename: str | None
    application_name: str
    client: str
    backend_type: str
    state: str | None
    wait_event_type: str | None
    wait_event: str | None
    backend_start: str | None
    xact_age_s: float | None
    query_age_s: float | None
    state_age_s: float | None
    backend_xmin_age: int | None
    query_id: int | None
    query: str
    blocked_by: tuple[int, ...] = ()

    @property
    def wait(self) -> str:
        if not self.wait_event_type:
            return ""
        return f"{self.wait_event_type}:{self.wait_event or ''}"

    @property
    def is_client(self) -> bool:
        return self.backend_type in CLIENT_BACKENDS

    @property
    def is_worker(self) -> bool:
        return self.leader_pid is not None and self.leader_pid != self.pid

    @property
    def hidden(self) -> bool:
        return self.query == HIDDEN_QUERY

    @property
    def waiting_on_lock(self) -> bool:
        return self.wait_event_type == "Lock"

    @property
    def shown_age_s(self) -> float | None:
        """Query age while active, time in state otherwise (what pg_activity shows)."""
        return self.query_age_s if self.state == "active" else self.state_age_s


def _client(row: Mapping[str, Any]) -> str:
    addr = row.get("client_hostname") or row.get("client_addr")
    if addr:
        return str(addr)
    port = row.get("client_port")
    return "local" if port == -1 else ""


def _age(
    row: Mapping[str, Any], derived: str, start: str, captured: dt.datetime | None
) -> float | None:
    """The collectors' derived age when present, else capture time minus the start."""
    value = _num(row.get(derived))
    if value is not None:
        return max(0.0, value)
    return seconds_between(captured, row.get(start))


def sessions_from(activity: Section, captured: dt.datetime | None) -> list[SessionRow]:
    rows = []
    for row in activity.rows:
        blocked = row.get("blocked_by") or ()
        xmin_age = row.get("backend_xmin_age")
        query_id = row.get("query_id")
        rows.append(
            SessionRow(
                pid=int(row["pid"]),
                leader_pid=row.get("leader_pid"),
                datid=row.get("datid"),
                datname=row.get("datname"),
                usename=row.get("usename"),
                application_name=str(row.get("application_name") or ""),
                client=_client(row),
                backend_type=str(row.get("backend_type") or ""),
                state=row.get("state"),
                wait_event_type=row.get("wait_event_type"),
                wait_event=row.get("wait_event"),
                backend_start=row.get("backend_start"),
                xact_age_s=_age(row, "xact_age_s", "xact_start", captured),
                query_age_s=_age(row, "query_age_s", "query_start", captured),
                state_age_s=_age(row, "state_age_s", "state_change", captured),
                backend_xmin_age=int(xmin_age) if xmin_age is not None else None,
                query_id=int(query_id) if query_id not in (None, "") else None,
                query=str(row.get("query") or ""),
                blocked_by=tuple(int(p) for p in blocked),
            )
        )
    return rows


def _age_key(value: float | None) -> float:
    return -1.0 if value is None else value


SORTS: dict[str, tuple[str, Callable[[SessionRow], Any], bool]] = {
    # key: (label, key function, descending by default)
    "query_age": ("query age", lambda s: _age_key(s.shown_age_s), True),
    "xact_age": ("xact age", lambda s: _age_key(s.xact_age_s), True),
    "xmin_age": ("xmin age", lambda s: s.backend_xmin_age or -1, True),
    "pid": ("pid", lambda s: s.pid, False),
    "database": ("database", lambda s: (s.datname or "", s.pid), False),
    "user": ("user", lambda s: (s.usename or "", s.pid), False),
    "state": ("state", lambda s: (s.state or "", s.pid), False),
}
SORT_ORDER = tuple(SORTS)


@dataclass(frozen=True)
class ActivityFilter:
    sort: str = "query_age"
    reverse: bool = False  # flips the sort's own default direction
    text: str = ""
    show_idle: bool = True
    show_system: bool = False


def _visible(row: SessionRow, flt: ActivityFilter) -> bool:
    if not flt.show_idle and row.state == "idle":
        return False
    return flt.show_system or row.is_client or row.backend_type in WORKER_BACKENDS


def _matches(row: SessionRow, needle: str) -> bool:
    hay = (
        str(row.pid),
        row.datname or "",
        row.usename or "",
        row.application_name,
        row.client,
        row.state or "",
        row.wait,
        row.query,
    )
    return any(needle in part.lower() for part in hay)


def arrange(rows: Iterable[SessionRow], flt: ActivityFilter) -> list[tuple[SessionRow, int]]:
    """Sorted, filtered sessions, each parallel worker right under its leader (depth 1)."""
    rows = [r for r in rows if _visible(r, flt)]
    by_pid = {r.pid for r in rows}
    workers: dict[int, list[SessionRow]] = {}
    tops: list[SessionRow] = []
    for row in rows:
        if row.is_worker and row.leader_pid in by_pid:
            workers.setdefault(int(row.leader_pid or 0), []).append(row)
        else:
            tops.append(row)
    needle = flt.text.strip().lower()
    if needle:
        tops = [
            r
            for r in tops
            if _matches(r, needle) or any(_matches(w, needle) for w in workers.get(r.pid, ()))
        ]
    _, keyfn, descending = SORTS.get(flt.sort, SORTS["query_age"])
    tops.sort(key=keyfn, reverse=descending != flt.reverse)
    out: list[tuple[SessionRow, int]] = []
    for row in tops:
        out.append((row, 0))
        out.extend((w, 1) for w in sorted(workers.get(row.pid, ()), key=lambda w: w.pid))
    return out


# -- overview -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Replica:
    name: str
    client: str
    state: str
    sync_state: str
    replay_lag_s: float | None
    replay_lag_bytes: float | None


@dataclass(frozen=True)
class Overview:
    server_version: str
    database: str
    role: str
    in_recovery: bool
    uptime_s: float | None
    max_connections: int | None
    connections: Mapping[str, int]  # client backends by state
    client_total: int
    backends_total: int
    lock_waiting: int
    hidden: int
    tps: float | None
    commits_s: float | None
    rollbacks_s: float | None
    cache_hit: float | None  # over the interval
    cache_hit_total: float | None  # since the stats reset
    temp_bytes_s: float | None
    temp_files_s: float | None
    tup_written_s: float | None
    deadlocks: float | None  # in the interval
    wal_bytes_s: float | None
    checkpoints_timed: int | None  # totals
    checkpoints_requested: int | None
    checkpoints_in_interval: float | None
    replicas: tuple[Replica, ...]
    replay_delay_s: float | None
    notes: tuple[str, ...] = ()


DATABASE_FIELDS = (
    "xact_commit",
    "xact_rollback",
    "blks_hit",
    "blks_read",
    "temp_bytes",
    "temp_files",
    "tup_inserted",
    "tup_updated",
    "tup_deleted",
    "deadlocks",
)


def _checkpoint_totals(snap: Snapshot) -> tuple[dict[str, Any] | None, str, str]:
    if snap.has("checkpointer"):
        rows = snap.rows("checkpointer")
        return (rows[0] if rows else None, "num_timed", "num_requested")
    if snap.has("bgwriter"):
        rows = snap.rows("bgwriter")
        if rows and "checkpoints_timed" in rows[0]:
            return (rows[0], "checkpoints_timed", "checkpoints_req")
    return (None, "", "")


@dataclass
class _Seen:
    """The last snapshot that held a section, for its deltas."""

    captured: dt.datetime
    rows: list[dict[str, Any]]


# -- statements ---------------------------------------------------------------------------

StatementKey = tuple[int, int, int, bool]


@dataclass(frozen=True)
class StatementRow:
    key: StatementKey
    datname: str | None
    rolname: str | None
    calls: int
    total_ms: float  # exec + plan
    mean_ms: float
    rows: int
    shared_hit: int
    shared_read: int
    temp_written: int
    calls_s: float | None
    time_ms_s: float | None  # milliseconds of execution per second of wall time
    rows_s: float | None
    read_blks_s: float | None
    temp_blks_s: float | None
    share: float  # of the total time of the listed statements
    query: str | None

    @property
    def queryid(self) -> int:
        return self.key[2]

    @property
    def dbid(self) -> int:
        return self.key[1]

    @property
    def hit_ratio(self) -> float | None:
        total = self.shared_hit + self.shared_read
        return self.shared_hit / total if total else None


@dataclass(frozen=True)
class StatementsView:
    rows: tuple[StatementRow, ...]
    interval_s: float | None
    error: str | None = None
    note: str | None = None


def _statement_key(row: Mapping[str, Any]) -> StatementKey:
    return (
        int(row.get("userid") or 0),
        int(row.get("dbid") or 0),
        int(row.get("queryid") or 0),
        bool(row.get("toplevel", True)),
    )


def _total_ms(row: Mapping[str, Any]) -> float:
    return float(row.get("total_exec_time") or 0.0) + float(row.get("total_plan_time") or 0.0)


# -- tables -------------------------------------------------------------------------------


@dataclass(frozen=True)
class TableRow:
    name: str
    total_bytes: int | None
    table_bytes: int | None
    index_bytes: int | None
    size_estimated: bool
    n_live_tup: int
    n_dead_tup: int
    dead_ratio: float | None
    vacuum_age_s: float | None  # since the last manual or auto vacuum
    analyze_age_s: float | None
    seq_scan: int
    idx_scan: int | None
    n_mod_since_analyze: int
    xid_age: int | None


@dataclass(frozen=True)
class IndexRow:
    name: str
    table: str
    size_bytes: int | None
    size_estimated: bool
    idx_scan: int
    unique: bool
    constraint_type: str | None
    valid: bool
    indexdef: str
    # (rule id, title) of the analyzer's index findings on this index
    verdicts: tuple[tuple[str, str], ...] = ()

    @property
    def no_scans(self) -> bool:
        return self.idx_scan == 0


@dataclass(frozen=True)
class TablesView:
    tables: tuple[TableRow, ...]
    indexes: tuple[IndexRow, ...]
    captured_at: str
    error: str | None = None
    skipped: tuple[str, ...] = ()
    verdicts_note: str | None = None


def _latest(*values: Any) -> dt.datetime | None:
    stamps = [t for t in (parse_ts(v) for v in values) if t is not None]
    return max(stamps) if stamps else None


def index_verdicts(snap: Snapshot) -> tuple[dict[str, list[tuple[str, str]]], str | None]:
    """The analyzer's index rules (unused, duplicate, redundant, invalid ...) by index."""
    try:
        from pgtune_hx.analyze.engine import run
    except ImportError:
        return {}, "index verdicts need the analyzer, which is not part of this build"
    try:
        analysis = run(snap, rules=["index"])
    except PgtuneError as exc:
        return {}, f"index verdicts unavailable: {exc}"
    found: dict[str, list[tuple[str, str]]] = {}
    for finding in analysis.findings:
        if finding.object:
            found.setdefault(finding.object, []).append((finding.rule_id, finding.title))
    return found, None


def _qualified(schema: Any, name: Any) -> str:
    from pgtune_hx.analyze.common import qualified

    return qualified(str(schema) if schema else None, str(name))


def tables_view(snap: Snapshot) -> TablesView:
    captured = snap.captured
    tables = []
    for row in snap.rows("tables"):
        live, dead = int(row.get("n_live_tup") or 0), int(row.get("n_dead_tup") or 0)
        total = row.get("total_bytes")
        vacuum = _latest(row.get("last_vacuum"), row.get("last_autovacuum"))
        analyze = _latest(row.get("last_analyze"), row.get("last_autoanalyze"))
        tables.append(
            TableRow(
                name=_qualified(row.get("schemaname"), row.get("relname")),
                total_bytes=int(total) if total is not None else None,
                table_bytes=row.get("table_bytes"),
                index_bytes=row.get("index_bytes"),
                size_estimated=row.get("size_source") == "catalog",
                n_live_tup=live,
                n_dead_tup=dead,
                dead_ratio=dead / (live + dead) if live + dead else None,
                vacuum_age_s=seconds_between(captured, vacuum),
                analyze_age_s=seconds_between(captured, analyze),
                seq_scan=int(row.get("seq_scan") or 0),
                idx_scan=row.get("idx_scan"),
                n_mod_since_analyze=int(row.get("n_mod_since_analyze") or 0),
                xid_age=row.get("xid_age"),
            )
        )
    verdicts, note = index_verdicts(snap) if snap.has("indexes") else ({}, None)
    indexes = []
    for row in snap.rows("indexes"):
        size = row.get("size_bytes")
        name = _qualified(row.get("schemaname"), row.get("indexrelname"))
        indexes.append(
            IndexRow(
                name=name,
                table=_qualified(row.get("schemaname"), row.get("relname")),
                size_bytes=int(size) if size is not None else None,
                size_estimated=row.get("size_source") == "catalog",
                idx_scan=int(row.get("idx_scan") or 0),
                unique=bool(row.get("indisunique")),
                constraint_type=row.get("constraint_type"),
                valid=row.get("indisvalid") is not False,
                indexdef=str(row.get("indexdef") or ""),
                verdicts=tuple(verdicts.get(name, ())),
            )
        )
    errors = [s.error for s in (snap.section("tables"), snap.section("indexes")) if s.error]
    skipped = tuple(snap.section("tables").skipped) + tuple(snap.section("indexes").skipped)
    return TablesView(
        tables=tuple(tables),
        indexes=tuple(indexes),
        captured_at=snap.captured_at,
        error="; ".join(errors) or None,
        skipped=skipped,
        verdicts_note=note,
    )


# -- limitations --------------------------------------------------------------------------


@dataclass(frozen=True)
class Limitation:
    panel: str
    reason: str


SECTION_PANELS = {
    "activity": "Activity",
    "blocking": "Locks",
    "database": "Overview",
    "wal": "Overview",
    "checkpointer": "Overview",
    "bgwriter": "Overview",
    "replication": "Overview",
    "statements": "Statements",
    "statements_info": "Statements",
    "tables": "Tables",
    "indexes": "Tables",
}


def can_signal(capabilities: Mapping[str, Any]) -> bool:
    return bool(capabilities.get("is_superuser") or capabilities.get("has_signal_backend"))


def limitations(
    capabilities: Mapping[str, Any], errors: Mapping[str, str], *, replay: bool
) -> tuple[Limitation, ...]:
    """Which panels show less than everything, and why, from the role's capabilities."""
    found: list[Limitation] = []
    role = capabilities.get("role") or "this role"
    if replay:
        found.append(Limitation("Locks", "cancel/terminate unavailable: replaying recorded data"))
    elif capabilities and not can_signal(capabilities):
        found.append(
            Limitation(
                "Locks",
                f"cancel/terminate unavailable: role {role} lacks pg_signal_backend",
            )
        )
    superuser = capabilities.get("is_superuser")
    if capabilities and not (
        superuser or capabilities.get("has_pg_monitor") or capabilities.get("has_read_all_stats")
    ):
        found.append(
            Limitation(
                "Activity",
                f"other roles' queries, wait events and statements are hidden: role {role} "
                "lacks pg_read_all_stats (GRANT pg_monitor)",
            )
        )
    if capabilities and not superuser and not replay:
        found.append(
            Limitation(
                "Plans",
                f"plans need SELECT on the tables a query reads; role {role} may lack it",
            )
        )
    for name, error in errors.items():
        found.append(Limitation(SECTION_PANELS.get(name, name), f"{name}: {error}"))
    return tuple(found)


def awaited_locks(snap: Snapshot) -> dict[int, str]:
    """What each waiting session asks for, from pg_locks: 'AccessShareLock on public.t'."""
    awaited: dict[int, str] = {}
    for row in snap.rows("locks"):
        if row.get("granted") or row.get("pid") is None:
            continue
        target = row.get("relation_name") or row.get("relation")
        kind = row.get("locktype")
        if kind == "transactionid":
            target = f"transaction {row.get('transactionid')}"
        elif kind == "virtualxid":
            target = f"virtual transaction {row.get('virtualxid')}"
        elif kind == "tuple":
            target = f"tuple ({row.get('page')},{row.get('tuple')}) of {target}"
        elif kind not in ("relation", None):
            target = f"{kind} {target or row.get('objid') or ''}".strip()
        awaited[int(row["pid"])] = f"{row.get('mode')} on {target}"
    return awaited


# -- the view -----------------------------------------------------------------------------


@dataclass(frozen=True)
class View:
    """Everything the screens draw for one refresh."""

    snapshot: Snapshot
    captured: dt.datetime
    interval_s: float | None
    overview: Overview
    sessions: tuple[SessionRow, ...]
    lock_forest: tuple[LockNode, ...]
    statements: StatementsView | None
    tables: TablesView | None
    history: Mapping[str, tuple[float, ...]]
    limitations: tuple[Limitation, ...]
    can_signal: bool
    sequence: int = 0
    awaited: Mapping[int, str] = field(default_factory=dict)

    def session(self, pid: int) -> SessionRow | None:
        for row in self.sessions:
            if row.pid == pid:
                return row
        return None


HISTORY_METRICS = ("tps", "active", "waiting", "cache_hit", "wal_bytes_s", "temp_bytes_s")


@dataclass
class RefreshModel:
    """Feeds on snapshots in capture order; keeps what the next deltas need."""

    replay: bool = False
    history_s: float = HISTORY_SECONDS
    _seen: dict[str, _Seen] = field(default_factory=dict)
    _postmaster_start: Any = None
    _history: dict[str, deque[tuple[float, float]]] = field(default_factory=dict)
    _statements: StatementsView | None = None
    _tables: TablesView | None = None
    _sequence: int = 0
    _last_captured: dt.datetime | None = None

    def _interval(self, name: str, captured: dt.datetime) -> tuple[float | None, list[Any]]:
        seen = self._seen.get(name)
        if seen is None:
            return None, []
        return (captured - seen.captured).total_seconds(), seen.rows

    def update(self, snap: Snapshot) -> View:
        captured = snap.captured
        restarted = self._postmaster_start is not None and snap.server.get(
            "postmaster_start_time"
        ) not in (None, self._postmaster_start)
        if restarted:
            self._seen.clear()
        notes: list[str] = []
        if restarted:
            notes.append("server restarted: rates n/a for one refresh")
        interval = (
            (captured - self._last_captured).total_seconds()
            if self._last_captured is not None and not restarted
            else None
        )
        overview = self._overview(snap, captured, notes)
        sessions = sessions_from(snap.section("activity"), captured)
        blocked = {int(r["pid"]): r.get("blocked_by") or () for r in snap.rows("blocking")}
        forest = build_forest(blocked)
        if snap.sections.get("statements") is not None:
            self._statements = self._statement_view(snap, captured)
        if snap.sections.get("tables") is not None:
            self._tables = tables_view(snap)
        for name, section in snap.sections.items():
            if section.ok:
                self._seen[name] = _Seen(captured, section.rows)
        self._postmaster_start = snap.server.get("postmaster_start_time") or self._postmaster_start
        self._last_captured = captured
        self._record(captured, overview)
        self._sequence += 1
        return View(
            snapshot=snap,
            captured=captured,
            interval_s=interval,
            overview=overview,
            sessions=tuple(sessions),
            lock_forest=forest,
            statements=self._statements,
            tables=self._tables,
            history={k: tuple(v for _, v in points) for k, points in self._history.items()},
            limitations=limitations(snap.capabilities, snap.errors(), replay=self.replay),
            can_signal=can_signal(snap.capabilities) and not self.replay,
            sequence=self._sequence,
            awaited=awaited_locks(snap),
        )

    # -- overview -------------------------------------------------------------------------

    def _overview(self, snap: Snapshot, captured: dt.datetime, notes: list[str]) -> Overview:
        server = snap.server
        interval, prev_db = self._interval("database", captured)
        db = snap.rows("database")
        deltas = summed_deltas(prev_db, db, "datid", DATABASE_FIELDS) if prev_db else None
        if prev_db and deltas is None:
            notes.append("database statistics reset: rates n/a for one refresh")

        def per_s(name: str) -> float | None:
            if deltas is None or interval is None or interval <= 0:
                return None
            return deltas[name] / interval

        cache_hit = None
        if deltas is not None:
            reads = deltas["blks_hit"] + deltas["blks_read"]
            cache_hit = deltas["blks_hit"] / reads if reads else None
        hits = sum(float(r.get("blks_hit") or 0) for r in db)
        reads_total = hits + sum(float(r.get("blks_read") or 0) for r in db)
        commits, rollbacks = per_s("xact_commit"), per_s("xact_rollback")
        tup = [per_s(n) for n in ("tup_inserted", "tup_updated", "tup_deleted")]

        wal_interval, prev_wal = self._interval("wal", captured)
        wal_rows = snap.rows("wal")
        wal = summed_deltas(prev_wal, wal_rows, None, ("wal_bytes",)) if prev_wal else None
        if prev_wal and wal is None:
            notes.append("WAL statistics reset: WAL rate n/a for one refresh")
        wal_rate = (
            wal["wal_bytes"] / wal_interval
            if wal is not None and wal_interval and wal_interval > 0
            else None
        )

        ckpt, timed_col, req_col = _checkpoint_totals(snap)
        ckpt_name = "checkpointer" if snap.has("checkpointer") else "bgwriter"
        _, prev_ckpt = self._interval(ckpt_name, captured)
        ckpt_delta = None
        if ckpt is not None and prev_ckpt:
            got = summed_deltas(prev_ckpt, [ckpt], None, (timed_col, req_col))
            ckpt_delta = None if got is None else got[timed_col] + got[req_col]

        states: dict[str, int] = {}
        client_total = lock_waiting = hidden = 0
        activity = snap.rows("activity")
        for row in activity:
            if row.get("wait_event_type") == "Lock":
                lock_waiting += 1
            if row.get("backend_type") not in CLIENT_BACKENDS:
                continue
            client_total += 1
            if row.get("query") == HIDDEN_QUERY:
                hidden += 1
            state = str(row.get("state") or "unknown")
            states[state] = states.get(state, 0) + 1

        replicas = tuple(
            Replica(
                name=str(r.get("application_name") or r.get("pid")),
                client=str(r.get("client_addr") or "local"),
                state=str(r.get("state") or ""),
                sync_state=str(r.get("sync_state") or ""),
                replay_lag_s=_num(r.get("replay_lag_s")),
                replay_lag_bytes=_num(r.get("replay_lag_bytes")),
            )
            for r in snap.rows("replication")
        )
        max_conn = server.get("max_connections")
        if max_conn is None:
            for row in snap.rows("settings"):
                if row.get("name") == "max_connections":
                    max_conn = row.get("setting")
        return Overview(
            server_version=str(server.get("server_version") or ""),
            database=str(server.get("database") or ""),
            role=str(snap.capabilities.get("role") or ""),
            in_recovery=bool(server.get("in_recovery")),
            uptime_s=seconds_between(captured, server.get("postmaster_start_time")),
            max_connections=int(max_conn) if max_conn is not None else None,
            connections=states,
            client_total=client_total,
            backends_total=len(activity),
            lock_waiting=lock_waiting,
            hidden=hidden,
            tps=None if commits is None or rollbacks is None else commits + rollbacks,
            commits_s=commits,
            rollbacks_s=rollbacks,
            cache_hit=cache_hit,
            cache_hit_total=hits / reads_total if reads_total else None,
            temp_bytes_s=per_s("temp_bytes"),
            temp_files_s=per_s("temp_files"),
            tup_written_s=None if any(t is None for t in tup) else sum(t or 0.0 for t in tup),
            deadlocks=deltas["deadlocks"] if deltas is not None else None,
            wal_bytes_s=wal_rate,
            checkpoints_timed=int(ckpt[timed_col]) if ckpt else None,
            checkpoints_requested=int(ckpt[req_col]) if ckpt else None,
            checkpoints_in_interval=ckpt_delta,
            replicas=replicas,
            replay_delay_s=_num(server.get("replay_delay_s")),
            notes=tuple(notes),
        )

    def _record(self, captured: dt.datetime, ov: Overview) -> None:
        stamp = captured.timestamp()
        values = {
            "tps": ov.tps,
            "active": float(ov.connections.get("active", 0)),
            "waiting": float(ov.lock_waiting),
            "cache_hit": ov.cache_hit,
            "wal_bytes_s": ov.wal_bytes_s,
            "temp_bytes_s": ov.temp_bytes_s,
        }
        for name, value in values.items():
            points = self._history.setdefault(name, deque())
            if value is not None:
                points.append((stamp, value))
            while points and points[0][0] < stamp - self.history_s:
                points.popleft()

    # -- statements -----------------------------------------------------------------------

    def _statement_view(self, snap: Snapshot, captured: dt.datetime) -> StatementsView:
        section = snap.section("statements")
        if not section.ok:
            return StatementsView(rows=(), interval_s=None, error=section.error)
        interval, prev_rows = self._interval("statements", captured)
        _, prev_info = self._interval("statements_info", captured)
        info = snap.rows("statements_info")
        note = None
        reset = bool(
            prev_info and info and prev_info[0].get("stats_reset") != info[0].get("stats_reset")
        )
        if reset:
            note = "pg_stat_statements was reset: rates n/a for one refresh"
            prev_rows = []
        previous = {_statement_key(r): r for r in prev_rows}
        grand = sum(_total_ms(r) for r in section.rows) or 1.0
        rows = []
        for row in section.rows:
            key = _statement_key(row)
            old = previous.get(key)
            calls = int(row.get("calls") or 0)
            # an entry evicted and re-added starts again from zero
            fresh = old is not None and calls >= int(old.get("calls") or 0)

            def per_s(
                value: Any, before: Any, fresh: bool = fresh, interval: float | None = interval
            ) -> float | None:
                return rate(value, before, interval) if fresh else None

            rows.append(
                StatementRow(
                    key=key,
                    datname=row.get("datname"),
                    rolname=row.get("rolname"),
                    calls=calls,
                    total_ms=_total_ms(row),
                    mean_ms=float(row.get("mean_exec_time") or 0.0),
                    rows=int(row.get("rows") or 0),
                    shared_hit=int(row.get("shared_blks_hit") or 0),
                    shared_read=int(row.get("shared_blks_read") or 0),
                    temp_written=int(row.get("temp_blks_written") or 0),
                    calls_s=per_s(calls, old.get("calls") if old else None),
                    time_ms_s=per_s(_total_ms(row), _total_ms(old) if old else None),
                    rows_s=per_s(row.get("rows"), old.get("rows") if old else None),
                    read_blks_s=per_s(
                        row.get("shared_blks_read"), old.get("shared_blks_read") if old else None
                    ),
                    temp_blks_s=per_s(
                        row.get("temp_blks_written"), old.get("temp_blks_written") if old else None
                    ),
                    share=_total_ms(row) / grand,
                    query=row.get("query"),
                )
            )
        rows.sort(key=lambda r: (-r.total_ms, r.key))
        return StatementsView(rows=tuple(rows), interval_s=interval, note=note)
