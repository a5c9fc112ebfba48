"""Counters over an interval: rows of the later snapshot minus the earlier one.

Placeholder until collect.diff lands: same idea, keys and counters per section.
"""

from __future__ import annotations

from typing import Any

from pgtune_hx.collect.model import Snapshot

KEYS: dict[str, tuple[str, ...]] = {
    "tables": ("relid",),
    "indexes": ("indexrelid",),
    "statements": ("userid", "dbid", "queryid", "toplevel"),
    "database": ("datname",),
    "bgwriter": (),
    "checkpointer": (),
    "wal": (),
    "archiver": (),
    "io": ("backend_type", "object", "context"),
}

GAUGES = frozenset(
    {
        "relid",
        "indexrelid",
        "userid",
        "dbid",
        "queryid",
        "datid",
        "reltuples",
        "relpages",
        "n_live_tup",
        "n_dead_tup",
        "n_mod_since_analyze",
        "n_ins_since_vacuum",
        "xid_age",
        "mxid_age",
        "size_bytes",
        "total_bytes",
        "table_bytes",
        "index_bytes",
        "toast_bytes",
        "numbackends",
        "mean_exec_time",
        "min_exec_time",
        "max_exec_time",
        "stddev_exec_time",
        "mean_plan_time",
        "min_plan_time",
        "max_plan_time",
        "stddev_plan_time",
        "hot_ratio",
        "dead_ratio",
        "table_reltuples",
        "indnatts",
        "indnkeyatts",
        "relallvisible",
        "datfrozenxid_age",
        "datminmxid_age",
    }
)


def _key(row: dict[str, Any], cols: tuple[str, ...]) -> tuple[Any, ...]:
    return tuple(row.get(c) for c in cols)


def deltas(earlier: Snapshot, later: Snapshot, name: str) -> list[dict[str, Any]]:
    cols = KEYS.get(name)
    if cols is None:
        return later.rows(name)
    before = {_key(r, cols): r for r in earlier.rows(name)}
    result: list[dict[str, Any]] = []
    for row in later.rows(name):
        old = before.get(_key(row, cols))
        new = dict(row)
        if old is not None:
            for column, value in row.items():
                if column in GAUGES or column in cols:
                    continue
                prev = old.get(column)
                if isinstance(value, int | float) and not isinstance(value, bool):
                    if isinstance(prev, int | float) and not isinstance(prev, bool):
                        diff = value - prev
                        new[column] = value if diff < 0 else diff
        result.append(new)
    return result
