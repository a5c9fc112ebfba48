"""tables: pg_stat_user_tables + pg_statio_user_tables + pg_class, one query.

Sizes never wait on a lock: tables someone holds (or awaits) ACCESS EXCLUSIVE
on get catalog figures (relpages * block_size, size_source 'catalog') and are
listed in ``skipped``. If a lock appears between our look at pg_locks and the
query (lock_timeout fires), the query runs again with a fresh lock list, and
at worst with catalog figures for every table.
"""

from __future__ import annotations

from typing import Any

from pgtune_hx.collect.model import Section
from pgtune_hx.collect.runner import Context, LockedRelation, with_lock_retries


def measured_section(ctx: Context, name: str, what: str) -> Section:
    """A section with exact sizes where no lock is in the way, and notes where one is.

    ``what`` names the unmeasured part of a skipped row, for its note."""
    result, exact = with_lock_retries(
        ctx, name, lambda refresh: ctx.exclusive_oids(refresh=refresh)
    )
    result.skipped = _skipped(ctx, result.rows, what)
    if not exact:
        result.skipped.append("a lock appeared while collecting: every size is a catalog figure")
    return result


def _skipped(ctx: Context, rows: list[dict[str, Any]], what: str) -> list[str]:
    reasons: dict[int, LockedRelation] = {}
    for lock in ctx.locked():
        reasons.setdefault(lock.oid, lock)
        reasons.setdefault(lock.owner_oid, lock)
    notes = []
    for row in rows:
        if row.get("size_source") != "catalog":
            continue
        found = reasons.get(row.get("indexrelid") or 0) or reasons.get(row["relid"])
        name = f"{row['schemaname']}.{row.get('indexrelname') or row['relname']}"
        why = found.describe() if found else "locked"
        notes.append(f"{name}: {what} not measured ({why}); catalog figures used")
    return notes


def collect(ctx: Context) -> list[Section]:
    return [measured_section(ctx, "tables", "size")]
