"""tables: pg_stat_user_tables + pg_statio_user_tables + pg_class, one query.

Sizes are catalog figures (relpages * block_size), measured with the size
functions only for tables whose figures are stale and which are big enough to
matter (see the SQL). Measuring never waits on a lock: tables someone holds or
awaits ACCESS EXCLUSIVE on keep their catalog figures and are listed in
``skipped``. If a lock appears between our look at pg_locks and the query
(lock_timeout fires), the query runs again with a fresh lock list, and at worst
with catalog figures for every table.
"""

from __future__ import annotations

from pgtune_hx.collect.model import Section
from pgtune_hx.collect.runner import (
    LOCK_BLOCKING_ACCESS_SHARE,
    Context,
    LockedRelation,
    with_lock_retries,
)


def measured_section(ctx: Context, name: str, what: str) -> Section:
    """A section that measures only where no lock is in the way, with notes for the rest.

    ``what`` names the unmeasured part of a skipped row, for its note."""
    result, exact = with_lock_retries(
        ctx,
        name,
        lambda refresh: ctx.exclusive_oids(refresh=refresh),
        {"measure_min_tuples": ctx.measure_min_tuples},
    )
    result.skipped = _skipped(ctx, result, what)
    if not exact:
        result.skipped.append(
            "a lock appeared while collecting: nothing was measured, catalog figures only"
        )
    return result


def _skipped(ctx: Context, result: Section, what: str) -> list[str]:
    reasons: dict[int, LockedRelation] = {}
    for lock in ctx.locked():
        if lock.mode == LOCK_BLOCKING_ACCESS_SHARE:
            reasons.setdefault(lock.oid, lock)
            reasons.setdefault(lock.owner_oid, lock)
    notes: list[str] = []
    if not reasons:
        return notes  # nothing locked: the rows need not even be looked at
    for row in result.rows:
        found = reasons.get(row.get("indexrelid") or 0) or reasons.get(row["relid"])
        if found is None:
            continue
        name = f"{row['schemaname']}.{row.get('indexrelname') or row['relname']}"
        notes.append(f"{name}: {what} not read ({found.describe()}); catalog figures used")
    return notes


def collect(ctx: Context) -> list[Section]:
    return [measured_section(ctx, "tables", "size")]
