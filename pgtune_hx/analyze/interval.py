"""Counters over an interval, for rules analyzing two snapshots.

Continuity (resets, restarts, evicted statements) is judged by the
collectors' diff (``pgtune_hx.collect.diff``): a family it declares not
comparable yields no rows here, and its reason becomes a note of the analysis,
so no rule ever reads a negative or meaningless delta. Rows keep every column
of the later snapshot; only the cumulative counters are replaced by their
deltas.

The diff is asked for its verdicts on copies of the snapshots without the
per-object rows (tables, indexes, statements): its verdicts come from the
small sections, and subtracting 10,000 tables through its general-purpose
Counter objects would take seconds. The rows are subtracted here by the same
rules: an object whose counters went down is left out, a new object counts
from zero, a re-created pg_stat_statements entry counts from its re-creation.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from functools import cached_property
from typing import Any

from pgtune_hx.collect.diff import (
    SHARED_FAMILIES,
    STATEMENT_COUNTERS,
    TABLE_COUNTERS,
    SnapshotDiff,
    diff,
)
from pgtune_hx.collect.model import Section, Snapshot

# Counters of the collectors' sections that collect.diff does not subtract.
EXTRA_TABLE_COUNTERS: tuple[str, ...] = (
    "n_tup_newpage_upd",
    "toast_blks_read",
    "toast_blks_hit",
    "tidx_blks_read",
    "tidx_blks_hit",
)
INDEX_COUNTERS = ("idx_scan", "idx_tup_read", "idx_tup_fetch", "idx_blks_read", "idx_blks_hit")
EXTRA_STATEMENT_COUNTERS = (
    "local_blks_hit",
    "local_blks_dirtied",
    "temp_blk_read_time",
    "temp_blk_write_time",
    "local_blk_read_time",
    "local_blk_write_time",
    "blk_read_time",
    "blk_write_time",
    "jit_functions",
    "jit_generation_time",
    "jit_inlining_count",
    "jit_inlining_time",
    "jit_optimization_count",
    "jit_optimization_time",
    "jit_emission_count",
    "jit_emission_time",
    "jit_deform_count",
    "jit_deform_time",
    "wal_buffers_full",
)
ALL_TABLE_COUNTERS = (*TABLE_COUNTERS, *EXTRA_TABLE_COUNTERS)
ALL_STATEMENT_COUNTERS = (*STATEMENT_COUNTERS, *EXTRA_STATEMENT_COUNTERS)
IO_COUNTERS: tuple[str, ...] = (
    *("reads", "read_bytes", "read_time", "writes", "write_bytes", "write_time"),
    *("writebacks", "writeback_time", "extends", "extend_bytes", "extend_time"),
    *("hits", "evictions", "reuses", "fsyncs", "fsync_time"),
)


_NUMBER = frozenset({int, float})
UNCHANGED: dict[str, Any] = {}  # subtract()'s answer for an object with no activity


def subtract(
    old: dict[str, Any] | None, new: dict[str, Any], names: Iterable[str]
) -> dict[str, Any] | None:
    """``new`` with each named counter replaced by new - old; None when one went
    down; UNCHANGED when none moved. Without ``old`` (the object appeared in the
    interval) the counters count from zero.

    >>> subtract({"a": 1, "b": 5}, {"a": 4, "b": 5, "c": "x"}, ["a", "b"])
    {'a': 3, 'b': 0, 'c': 'x'}
    >>> subtract({"a": 9}, {"a": 4}, ["a"]) is None
    True
    >>> subtract({"a": 4}, {"a": 4, "c": "x"}, ["a"]) is UNCHANGED
    True
    """
    if old is None:
        return dict(new)
    deltas: dict[str, Any] = {}
    before = old.get
    after = new.get
    moved = False
    for name in names:
        a: Any = before(name)
        b: Any = after(name)
        if type(a) not in _NUMBER or type(b) not in _NUMBER:
            continue
        if b < a:
            return None
        if b != a:
            moved = True
        deltas[name] = b - a
    if not moved:
        return UNCHANGED
    row = dict(new)
    row.update(deltas)
    return row


# Large per-object sections: the diff's verdict on them depends only on the small
# sections (resets, restarts, pg_stat_statements_info), so it is asked on copies
# without their rows, and the rows are subtracted here, by the same per-row rules.
PER_OBJECT = ("tables", "indexes", "statements", "table_bloat", "index_bloat")


def _verdict_copy(snapshot: Snapshot) -> Snapshot:
    sections = {
        name: Section(name, list(s.columns), [] if name in PER_OBJECT else s.rows, s.error)
        for name, s in snapshot.sections.items()
    }
    return Snapshot(
        captured_at=snapshot.captured_at,
        server=snapshot.server,
        capabilities=snapshot.capabilities,
        host=snapshot.host,
        sections=sections,
    )


def recreated(old: dict[str, Any], new: dict[str, Any], since: dt.datetime) -> bool:
    """A pg_stat_statements entry evicted and created again after ``since`` counts
    from its re-creation: stats_since (17+) moved, or is newer than the first snapshot.

    >>> t0 = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    >>> recreated({"stats_since": "2025-01-01T00:00:00+00:00"},
    ...           {"stats_since": "2025-01-02T00:00:00+00:00"}, t0)
    True
    """
    after, before = new.get("stats_since"), old.get("stats_since")
    if not after:
        return False
    if before and after != before:
        return True
    return dt.datetime.fromisoformat(str(after)) > since


class Interval:
    """The later snapshot's rows with counters over the interval since the earlier one."""

    def __init__(self, earlier: Snapshot, later: Snapshot) -> None:
        self.a = earlier
        self.b = later
        self.notes: list[str] = []
        self._rows: dict[str, list[dict[str, Any]]] = {}

    @cached_property
    def diff(self) -> SnapshotDiff:
        found = diff(_verdict_copy(self.a), _verdict_copy(self.b), top=0)
        self.notes.extend(e.message for e in found.events)
        return found

    @property
    def seconds(self) -> float:
        return self.diff.interval_s

    def rows(self, name: str) -> list[dict[str, Any]]:
        if name not in self._rows:
            builder = getattr(self, f"_{name}", None)
            self._rows[name] = builder() if builder else self._shared(name)
        return self._rows[name]

    def _not_comparable(self, family: str, why: str | None) -> list[dict[str, Any]]:
        note = f"{family}: not compared over the interval ({why})"
        if note not in self.notes:
            self.notes.append(note)
        return []

    def _tables(self) -> list[dict[str, Any]]:
        family = self.diff.tables
        if not family.valid:
            return self._not_comparable("tables", family.na)
        old = {r.get("relid"): r for r in self.a.rows("tables")}
        rows = []
        for row in self.b.rows("tables"):
            merged = subtract(old.get(row.get("relid")), row, ALL_TABLE_COUNTERS)
            # None: its counters went down (a reset); UNCHANGED: nothing happened to it
            if merged is not None and merged is not UNCHANGED:
                rows.append(merged)
        return rows

    def _indexes(self) -> list[dict[str, Any]]:
        family = self.diff.tables  # same statistics, same resets
        if not family.valid:
            return self._not_comparable("indexes", family.na)
        old = {r.get("indexrelid"): r for r in self.a.rows("indexes")}
        rows = []
        for row in self.b.rows("indexes"):
            merged = subtract(old.get(row.get("indexrelid")), row, INDEX_COUNTERS)
            if merged is not None and merged is not UNCHANGED:
                rows.append(merged)
        return rows

    def _statements(self) -> list[dict[str, Any]]:
        family = self.diff.statements
        if not family.valid:
            return self._not_comparable("statements", family.na)
        keys = ("queryid", "dbid", "userid", "toplevel")
        earlier = {tuple(r.get(k) for k in keys): r for r in self.a.rows("statements")}
        since = self.a.captured
        rows = []
        lost = 0
        for row in self.b.rows("statements"):
            old = earlier.get(tuple(row.get(k) for k in keys))
            if (
                old is not None
                and old.get("calls") == row.get("calls")
                and old.get("plans") == row.get("plans")
                and old.get("stats_since") == row.get("stats_since")
            ):
                continue  # every counter moves with calls or plans: not run in the interval
            if old is not None and recreated(old, row, since):
                old = None
            merged = subtract(old, row, ALL_STATEMENT_COUNTERS)
            if merged is UNCHANGED:
                continue  # not run in the interval
            if merged is None:  # went down: re-created, unless a restart reloaded old counts
                if self.diff.restarted:
                    lost += 1
                    continue
                merged = dict(row)
            calls = merged.get("calls") or 0
            if not calls and not merged.get("total_exec_time"):
                continue  # not run in the interval
            merged["mean_exec_time"] = (
                (merged.get("total_exec_time") or 0) / calls if calls else None
            )
            rows.append(merged)
        if lost:
            self.notes.append(
                f"statements: {lost} statements lost counts at the restart and are left out"
            )
        return rows

    def _database(self) -> list[dict[str, Any]]:
        family = self.diff.databases
        if not family.valid:
            return self._not_comparable("database", family.na)
        later = {r.get("datname"): r for r in self.b.rows("database")}
        rows = []
        for delta in family.rows:
            row = later.get(delta.get("datname"))
            if row is None or delta.get("na"):
                continue
            merged = dict(row)
            merged.update({n: c["delta"] for n, c in delta["counters"].items()})
            rows.append(merged)
        return rows

    def _shared(self, name: str) -> list[dict[str, Any]]:
        """bgwriter, checkpointer, wal, archiver: one row each."""
        rows = self.b.rows(name)
        if name not in SHARED_FAMILIES or not rows:
            return rows
        rates = self.diff.rates.get(name, {})
        row = dict(rows[0])
        for counter_name, counter in rates.items():
            if counter_name not in row:
                continue
            if counter.na:
                return self._not_comparable(name, counter.na)
            row[counter_name] = counter.delta
        return [row]

    def _io(self) -> list[dict[str, Any]]:
        if self.diff.stats_discarded:
            return self._not_comparable("io", "statistics discarded at restart")
        keys = ("backend_type", "object", "context")
        old = {tuple(r.get(k) for k in keys): r for r in self.a.rows("io")}
        rows = []
        for row in self.b.rows("io"):
            before = old.get(tuple(row.get(k) for k in keys))
            if before is not None and before.get("stats_reset") != row.get("stats_reset"):
                return self._not_comparable("io", f"pg_stat_io reset at {row.get('stats_reset')}")
            merged = subtract(before, row, IO_COUNTERS)
            if merged is None:
                return self._not_comparable("io", "counters went down (reset)")
            if merged is not UNCHANGED:
                rows.append(merged)
        return rows
