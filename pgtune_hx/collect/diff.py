"""What happened between two snapshots: deltas of cumulative counters divided by
the measured interval (the difference of the snapshots' capture times).

A counter is only as good as its continuity. Between the snapshots the server
may have been restarted, or someone may have reset statistics. Then a delta
would be meaningless (or negative), so the counter is reported as n/a with the
reason, and the event is listed in ``events``:

- a family's ``stats_reset`` moved (pg_stat_reset(), pg_stat_reset_shared(),
  pg_stat_statements_reset()), or one of its counters went down: n/a;
- the server restarted (postmaster_start_time changed): a clean shutdown keeps
  the cumulative statistics (PostgreSQL 15+, and the stats file before), a
  crash or immediate shutdown discards them. Discarding resets the shared
  bgwriter/checkpointer statistics, which is how it is told apart; then every
  cumulative counter is n/a. WAL position and XID counter never go back and
  stay valid;
- pg_stat_statements entries evicted and re-created (dealloc grew, a lower
  ``calls``, or a newer ``stats_since``): the entry counts from its re-creation,
  which is after the first snapshot, so its delta is its current value
  (``new`` says so).

Snapshots of different servers (system identifier or major version differ)
cannot be compared: that is a UsageError, not a diff.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pgtune_hx.collect.model import Snapshot
from pgtune_hx.errors import UsageError

DIFF_FORMAT = "pgtune_hx.diff"
DIFF_FORMAT_VERSION = 1

DATABASE_COUNTERS = (
    "xact_commit",
    "xact_rollback",
    "blks_read",
    "blks_hit",
    "tup_returned",
    "tup_fetched",
    "tup_inserted",
    "tup_updated",
    "tup_deleted",
    "conflicts",
    "temp_files",
    "temp_bytes",
    "deadlocks",
    "checksum_failures",
    "blk_read_time",
    "blk_write_time",
    "session_time",
    "active_time",
    "idle_in_transaction_time",
    "sessions",
    "sessions_abandoned",
    "sessions_fatal",
    "sessions_killed",
)
TABLE_COUNTERS = (
    "seq_scan",
    "seq_tup_read",
    "idx_scan",
    "idx_tup_fetch",
    "n_tup_ins",
    "n_tup_upd",
    "n_tup_del",
    "n_tup_hot_upd",
    "heap_blks_read",
    "heap_blks_hit",
    "idx_blks_read",
    "idx_blks_hit",
    "vacuum_count",
    "autovacuum_count",
    "analyze_count",
    "autoanalyze_count",
)
TABLE_GAUGES = ("n_live_tup", "n_dead_tup")
STATEMENT_COUNTERS = (
    "calls",
    "total_exec_time",
    "plans",
    "total_plan_time",
    "rows",
    "shared_blks_hit",
    "shared_blks_read",
    "shared_blks_dirtied",
    "shared_blks_written",
    "local_blks_read",
    "local_blks_written",
    "temp_blks_read",
    "temp_blks_written",
    "shared_blk_read_time",
    "shared_blk_write_time",
    "wal_records",
    "wal_fpi",
    "wal_bytes",
)
SHARED_FAMILIES: dict[str, tuple[str, ...]] = {
    "wal": ("wal_records", "wal_fpi", "wal_bytes", "wal_buffers_full", "wal_write", "wal_sync"),
    "checkpointer": (
        "num_timed",
        "num_requested",
        "num_done",
        "write_time",
        "sync_time",
        "buffers_written",
        "slru_written",
        "restartpoints_timed",
        "restartpoints_req",
        "restartpoints_done",
    ),
    "bgwriter": (
        "buffers_clean",
        "maxwritten_clean",
        "buffers_alloc",
        "buffers_backend",
        "buffers_backend_fsync",
    ),
    "archiver": ("archived_count", "failed_count"),
}


@dataclass(frozen=True)
class Counter:
    """A delta and its rate, or why there is none."""

    delta: float | None
    per_s: float | None
    na: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"delta": self.delta, "per_s": self.per_s, "na": self.na}


@dataclass
class Event:
    kind: str  # restart, stats_discarded, reset, dealloc, database_changed
    scope: str
    message: str

    def to_dict(self) -> dict[str, str]:
        return {"kind": self.kind, "scope": self.scope, "message": self.message}


@dataclass
class Family:
    """Rows of one area (databases, tables, statements) and whether they compare."""

    valid: bool = True
    na: str | None = None
    rows: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"valid": self.valid, "na": self.na, "rows": self.rows}


@dataclass
class SnapshotDiff:
    a: dict[str, Any]
    b: dict[str, Any]
    interval_s: float
    server: dict[str, Any]
    restarted: bool
    stats_discarded: bool
    events: list[Event]
    rates: dict[str, dict[str, Counter]]
    databases: Family
    statements: Family
    tables: Family

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": DIFF_FORMAT,
            "format_version": DIFF_FORMAT_VERSION,
            "a": self.a,
            "b": self.b,
            "interval_s": self.interval_s,
            "server": self.server,
            "restarted": self.restarted,
            "stats_discarded": self.stats_discarded,
            "events": [e.to_dict() for e in self.events],
            "rates": {
                family: {name: c.to_dict() for name, c in counters.items()}
                for family, counters in self.rates.items()
            },
            "databases": self.databases.to_dict(),
            "statements": self.statements.to_dict(),
            "tables": self.tables.to_dict(),
        }


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return value
    return None


def counter(a: Any, b: Any, interval_s: float) -> Counter:
    """One counter's delta and rate; a counter that went down is n/a.

    >>> counter(10, 40, 10.0)
    Counter(delta=30, per_s=3.0, na=None)
    >>> counter(40, 10, 10.0).na
    'counter went down (reset)'
    """
    va, vb = _number(a), _number(b)
    if va is None or vb is None:
        return Counter(None, None, "not in both snapshots")
    if vb < va:
        return Counter(None, None, "counter went down (reset)")
    delta = vb - va
    return Counter(delta, delta / interval_s)


def _unavailable(names: Iterable[str], why: str) -> dict[str, Counter]:
    return {n: Counter(None, None, why) for n in names}


def counters(
    a: Mapping[str, Any], b: Mapping[str, Any], names: Iterable[str], interval_s: float
) -> dict[str, Counter]:
    """Deltas of the counters both rows have (a version may lack some)."""
    return {n: counter(a[n], b[n], interval_s) for n in names if n in a and n in b}


def _went_down(a: Mapping[str, Any], b: Mapping[str, Any], names: Iterable[str]) -> bool:
    for name in names:
        va, vb = _number(a.get(name)), _number(b.get(name))
        if va is not None and vb is not None and vb < va:
            return True
    return False


def _first(snapshot: Snapshot, section: str) -> dict[str, Any]:
    rows = snapshot.rows(section)
    return rows[0] if rows else {}


def _check_comparable(a: Snapshot, b: Snapshot) -> None:
    ida, idb = a.server.get("system_identifier"), b.server.get("system_identifier")
    if ida and idb and ida != idb:
        raise UsageError(
            f"the snapshots come from different servers (system identifier {ida} vs {idb})"
        )
    if a.server_version_num // 10000 != b.server_version_num // 10000:
        raise UsageError(
            "the snapshots come from different PostgreSQL major versions "
            f"({a.server.get('server_version')} vs {b.server.get('server_version')})"
        )
    if b.captured <= a.captured:
        raise UsageError(
            f"snapshot B ({b.captured_at}) is not newer than A ({a.captured_at}): "
            "give the older snapshot first"
        )


def _identity(snapshot: Snapshot) -> dict[str, Any]:
    keys = ("server_version", "database", "postmaster_start_time", "system_identifier")
    return {"captured_at": snapshot.captured_at, **{k: snapshot.server.get(k) for k in keys}}


def diff(a: Snapshot, b: Snapshot, *, top: int = 10) -> SnapshotDiff:
    """Compare snapshot ``a`` (older) with ``b`` (newer)."""
    _check_comparable(a, b)
    interval = (b.captured - a.captured).total_seconds()
    events: list[Event] = []
    restarted = a.server.get("postmaster_start_time") != b.server.get("postmaster_start_time")
    discarded = False
    if restarted:
        events.append(
            Event("restart", "server", f"server restarted at {b.server['postmaster_start_time']}")
        )
        discarded = _stats_discarded(a, b)
        if discarded:
            events.append(
                Event(
                    "stats_discarded",
                    "server",
                    "cumulative statistics were discarded at the restart "
                    "(crash recovery or immediate shutdown)",
                )
            )
    rates = _shared_rates(a, b, interval, discarded, events)
    same_db = a.server.get("database") == b.server.get("database")
    if not same_db:
        events.append(
            Event(
                "database_changed",
                "tables",
                f"snapshots of different databases ({a.server.get('database')} vs "
                f"{b.server.get('database')}): tables are not compared",
            )
        )
    databases = _databases(a, b, interval, discarded, events)
    current_reset = next(
        (r["na"] for r in databases.rows if r.get("datname") == b.server.get("database")), None
    )
    tables = _tables(a, b, interval, top, discarded, current_reset, same_db)
    statements = _statements(a, b, interval, top, restarted, events)
    return SnapshotDiff(
        a=_identity(a),
        b=_identity(b),
        interval_s=interval,
        server={
            "system_identifier": b.server.get("system_identifier"),
            "server_version": b.server.get("server_version"),
            "database": b.server.get("database"),
        },
        restarted=restarted,
        stats_discarded=discarded,
        events=events,
        rates=rates,
        databases=databases,
        statements=statements,
        tables=tables,
    )


def _stats_discarded(a: Snapshot, b: Snapshot) -> bool:
    """After a restart: did the shared statistics start over?"""
    for section in ("bgwriter", "checkpointer"):
        ra, rb = _first(a, section).get("stats_reset"), _first(b, section).get("stats_reset")
        if rb is not None and ra != rb:
            return True
    # nothing to tell by: assume the worst
    return not (b.has("bgwriter") or b.has("checkpointer"))


def _shared_rates(
    a: Snapshot, b: Snapshot, interval: float, discarded: bool, events: list[Event]
) -> dict[str, dict[str, Counter]]:
    rates: dict[str, dict[str, Counter]] = {}
    for family, names in SHARED_FAMILIES.items():
        ra, rb = _first(a, family), _first(b, family)
        present = [n for n in names if n in ra and n in rb]
        if not present:
            continue
        reset_a, reset_b = ra.get("stats_reset"), rb.get("stats_reset")
        if discarded:
            rates[family] = _unavailable(present, "statistics discarded at restart")
        elif reset_a != reset_b or _went_down(ra, rb, present):
            why = f"{family} statistics reset at {reset_b}" if reset_a != reset_b else "reset"
            events.append(Event("reset", family, why))
            rates[family] = _unavailable(present, why)
        else:
            rates[family] = counters(ra, rb, present, interval)
    wal_a, wal_b = _first(a, "wal"), _first(b, "wal")
    monotonic = rates.setdefault("wal", {})
    # the WAL position and the XID counter survive restarts and resets
    monotonic["wal_generated_bytes"] = counter(
        wal_a.get("wal_lsn_bytes"), wal_b.get("wal_lsn_bytes"), interval
    )
    rates["xid"] = {
        "xids_consumed": counter(a.server.get("next_xid"), b.server.get("next_xid"), interval)
    }
    return rates


def _by(rows: Iterable[dict[str, Any]], *keys: str) -> dict[tuple[Any, ...], dict[str, Any]]:
    return {tuple(r.get(k) for k in keys): r for r in rows}


def _databases(
    a: Snapshot, b: Snapshot, interval: float, discarded: bool, events: list[Event]
) -> Family:
    if not (a.has("database") and b.has("database")):
        return Family(False, "database section missing from a snapshot")
    old = _by(a.rows("database"), "datid", "datname")
    family = Family()
    for key, rb in _by(b.rows("database"), "datid", "datname").items():
        ra = old.get(key)
        name = rb.get("datname") or "(shared objects)"
        present = [n for n in DATABASE_COUNTERS if n in rb]
        row: dict[str, Any] = {"datname": rb.get("datname"), "na": None}
        if ra is None:
            row["na"] = "database not in the first snapshot"
        elif discarded:
            row["na"] = "statistics discarded at restart"
        elif ra.get("stats_reset") != rb.get("stats_reset"):
            row["na"] = f"statistics of {name} reset at {rb.get('stats_reset')}"
            events.append(Event("reset", f"database:{name}", row["na"]))
        elif _went_down(ra, rb, present):
            row["na"] = f"counters of {name} went down (reset)"
            events.append(Event("reset", f"database:{name}", row["na"]))
        values = (
            _unavailable(present, row["na"])
            if row["na"]
            else counters(ra or {}, rb, present, interval)
        )
        row["counters"] = {n: c.to_dict() for n, c in values.items()}
        family.rows.append(row)
    return family


def _top(rows: list[dict[str, Any]], key: str, top: int) -> list[dict[str, Any]]:
    return sorted(rows, key=lambda r: r.get(key) or 0, reverse=True)[:top]


def _tables(
    a: Snapshot,
    b: Snapshot,
    interval: float,
    top: int,
    discarded: bool,
    current_reset: str | None,
    same_db: bool,
) -> Family:
    if not (a.has("tables") and b.has("tables")):
        return Family(False, "tables section missing from a snapshot")
    if not same_db:
        return Family(False, "snapshots of different databases")
    if discarded:
        return Family(False, "statistics discarded at restart")
    if current_reset:
        return Family(False, current_reset)
    old = _by(a.rows("tables"), "relid")
    rows = []
    for (relid,), rb in _by(b.rows("tables"), "relid").items():
        ra = old.get((relid,))
        row: dict[str, Any] = {
            "relid": relid,
            "schemaname": rb.get("schemaname"),
            "relname": rb.get("relname"),
            "new": ra is None,
        }
        if ra is not None and _went_down(ra, rb, TABLE_COUNTERS):
            row["na"] = "counters went down (reset)"
            rows.append(row)
            continue
        base = ra or dict.fromkeys(TABLE_COUNTERS, 0)
        for name, value in counters(base, rb, TABLE_COUNTERS, interval).items():
            row[name] = value.delta
        for gauge in TABLE_GAUGES:
            row[f"{gauge}_change"] = (rb.get(gauge) or 0) - ((ra or {}).get(gauge) or 0)
        row["na"] = None
        reads = (row.get("seq_tup_read") or 0) + (row.get("idx_tup_fetch") or 0)
        writes = sum(row.get(n) or 0 for n in ("n_tup_ins", "n_tup_upd", "n_tup_del"))
        row["tuples_read_per_s"] = reads / interval
        row["tuples_written_per_s"] = writes / interval
        row["seq_scan_per_s"] = (row.get("seq_scan") or 0) / interval
        upd = row.get("n_tup_upd") or 0
        row["hot_ratio"] = (row.get("n_tup_hot_upd") or 0) / upd if upd else None
        row["activity"] = reads + writes
        rows.append(row)
    moving = [r for r in rows if r.get("na") is None and (r["activity"] or r["n_dead_tup_change"])]
    na = [r for r in rows if r.get("na")]
    return Family(True, None, _top(moving, "activity", top) + na)


def _statements(
    a: Snapshot, b: Snapshot, interval: float, top: int, restarted: bool, events: list[Event]
) -> Family:
    if not (a.has("statements") and b.has("statements")):
        return Family(False, "statements section missing from a snapshot")
    info_a, info_b = _first(a, "statements_info"), _first(b, "statements_info")
    if info_a.get("stats_reset") != info_b.get("stats_reset"):
        why = f"pg_stat_statements reset at {info_b.get('stats_reset')}"
        events.append(Event("reset", "statements", why))
        return Family(False, why)
    dealloc = counter(info_a.get("dealloc"), info_b.get("dealloc"), interval)
    if dealloc.delta:
        events.append(
            Event(
                "dealloc",
                "statements",
                f"{int(dealloc.delta)} eviction rounds (pg_stat_statements.max reached): "
                "evicted statements are missing, re-created ones count from re-creation",
            )
        )
    keys = ("queryid", "dbid", "userid", "toplevel")
    old = _by(a.rows("statements"), *keys)
    captured_a = a.captured
    moved: list[dict[str, Any]] = []
    lost = 0
    for key, rb in _by(b.rows("statements"), *keys).items():
        ra = old.get(key)
        recreated = ra is None or _newer(rb.get("stats_since"), ra.get("stats_since"), captured_a)
        if not recreated and ra is not None and _went_down(ra, rb, STATEMENT_COUNTERS):
            if restarted:
                lost += 1  # reloaded from an older save file: no valid delta
                continue
            recreated = True
        base: Mapping[str, Any] = dict.fromkeys(STATEMENT_COUNTERS, 0) if recreated else ra or {}
        deltas = {n: c.delta for n, c in counters(base, rb, STATEMENT_COUNTERS, interval).items()}
        calls = deltas.get("calls") or 0
        if not calls and not deltas.get("total_exec_time"):
            continue
        exec_ms = deltas.get("total_exec_time") or 0.0
        moved.append(
            {
                **{k: rb.get(k) for k in (*keys, "datname", "rolname", "query")},
                "new": recreated,
                **deltas,
                "calls_per_s": calls / interval,
                "exec_ms_per_s": exec_ms / interval,
                "mean_exec_ms": exec_ms / calls if calls else None,
            }
        )
    family = Family(True, None, _top(moved, "total_exec_time", top))
    if lost:
        family.na = f"{lost} statements lost counts at the restart and are left out"
    return family


def _newer(since_b: Any, since_a: Any, captured_a: dt.datetime) -> bool:
    """stats_since (17+) says an entry was (re)created after the first snapshot."""
    if not since_b:
        return False
    if since_a and since_b != since_a:
        return True
    return dt.datetime.fromisoformat(str(since_b)) > captured_a


def top_by(rows: Sequence[dict[str, Any]], key: str, n: int) -> list[dict[str, Any]]:
    """Rows ranked by another key (calls, reads) for the same family."""
    return _top([r for r in rows if r.get("na") is None], key, n)
