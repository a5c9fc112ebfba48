"""Counters over an interval, for rules analyzing two snapshots.

Continuity (resets, restarts, evicted statements) is judged by the
collectors' diff (``pgtune_hx.collect.diff``): a family it declares not
comparable yields no rows here, and its reason becomes a note of the analysis,
so no rule ever reads a negative or meaningless delta. Rows keep every column
of the later snapshot; only the cumulative counters are replaced by their
deltas. Counters the diff does not carry (JIT times, index scans, pg_stat_io)
are subtracted here under the same verdicts.
"""

from __future__ import annotations

import sys
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
from pgtune_hx.collect.model import Snapshot

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
IO_COUNTERS: tuple[str, ...] = (
    *("reads", "read_bytes", "read_time", "writes", "write_bytes", "write_time"),
    *("writebacks", "writeback_time", "extends", "extend_bytes", "extend_time"),
    *("hits", "evictions", "reuses", "fsyncs", "fsync_time"),
)


def _num(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return value


def subtract(
    old: dict[str, Any] | None, new: dict[str, Any], names: Iterable[str]
) -> dict[str, Any] | None:
    """``new`` with each named counter replaced by new - old; None when one went down.
    Without ``old`` (the object appeared in the interval) the counters count from zero.

    >>> subtract({"a": 1, "b": 5}, {"a": 4, "b": 5, "c": "x"}, ["a", "b"])
    {'a': 3, 'b': 0, 'c': 'x'}
    >>> subtract({"a": 9}, {"a": 4}, ["a"]) is None
    True
    """
    row = dict(new)
    if old is None:
        return row
    for name in names:
        a, b = _num(old.get(name)), _num(new.get(name))
        if a is None or b is None:
            continue
        if b < a:
            return None
        row[name] = b - a
    return row


class Interval:
    """The later snapshot's rows with counters over the interval since the earlier one."""

    def __init__(self, earlier: Snapshot, later: Snapshot) -> None:
        self.a = earlier
        self.b = later
        self.notes: list[str] = []
        self._rows: dict[str, list[dict[str, Any]]] = {}

    @cached_property
    def diff(self) -> SnapshotDiff:
        found = diff(self.a, self.b, top=sys.maxsize)
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
        deltas = {r["relid"]: r for r in family.rows if r.get("na") is None}
        old = {r.get("relid"): r for r in self.a.rows("tables")}
        rows = []
        for row in self.b.rows("tables"):
            delta = deltas.get(row.get("relid"))
            if delta is None:
                continue  # nothing moved, or its counters went down
            merged = subtract(old.get(row.get("relid")), row, EXTRA_TABLE_COUNTERS)
            if merged is None:
                continue
            merged.update({c: delta[c] for c in TABLE_COUNTERS if c in delta})
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
            if merged is not None:
                rows.append(merged)
        return rows

    def _statements(self) -> list[dict[str, Any]]:
        family = self.diff.statements
        if not family.valid:
            return self._not_comparable("statements", family.na)
        keys = ("queryid", "dbid", "userid", "toplevel")
        later = {tuple(r.get(k) for k in keys): r for r in self.b.rows("statements")}
        earlier = {tuple(r.get(k) for k in keys): r for r in self.a.rows("statements")}
        rows = []
        for delta in family.rows:
            key = tuple(delta.get(k) for k in keys)
            row = later.get(key)
            if row is None:
                continue
            base = None if delta.get("new") else earlier.get(key)
            merged = subtract(base, row, EXTRA_STATEMENT_COUNTERS) or dict(row)
            merged.update({c: delta[c] for c in STATEMENT_COUNTERS if c in delta})
            merged["mean_exec_time"] = delta.get("mean_exec_ms")
            rows.append(merged)
        if family.na:
            self.notes.append(f"statements: {family.na}")
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
            rows.append(merged)
        return rows
