"""activity, blocking, locks and prepared_xacts.

``blocking`` is the lock-wait graph built from pg_blocking_pids(): one row per
backend that waits or makes others wait, with who it waits for (blocked_by),
who waits for it (blocks), the root blockers of its chain (root_pids: the
sessions at the head, which wait for nobody), its distance from them (depth)
and how many sessions wait behind it in all (blocked_count). A blocker of pid
0 is a prepared transaction (it has no backend); it is a root of its own.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from pgtune_hx.collect.model import Section
from pgtune_hx.collect.runner import Context, section
from pgtune_hx.collect.statements import mask_secrets

PREPARED = 0
BLOCKING_COLUMNS = [
    "pid",
    "kind",
    "blocked_by",
    "blocks",
    "is_root",
    "root_pids",
    "depth",
    "blocked_count",
    "in_cycle",
    "usename",
    "datname",
    "application_name",
    "state",
    "wait_event_type",
    "wait_event",
    "xact_age_s",
    "state_age_s",
    "query",
]
_CARRIED = BLOCKING_COLUMNS[9:]


def _walk(start: int, edges: dict[int, list[int]]) -> set[int]:
    """Every node reachable from ``start`` along ``edges``; ``start`` itself only
    when it lies on a cycle."""
    seen: set[int] = set()
    stack = list(edges.get(start, ()))
    while stack:
        node = stack.pop()
        if node in seen:
            continue
        seen.add(node)
        stack.extend(edges.get(node, ()))
    return seen


def _depth(pid: int, waits_for: dict[int, list[int]]) -> int | None:
    """Hops from ``pid`` up to the nearest root; None inside a cycle with no root."""
    frontier, seen, hops = [pid], {pid}, 0
    while frontier:
        if any(not waits_for.get(p) for p in frontier):
            return hops
        hops += 1
        nxt = [b for p in frontier for b in waits_for.get(p, ()) if b not in seen]
        seen.update(nxt)
        frontier = nxt
    return None


def blocking_graph(activity: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows of the blocking section from activity rows carrying ``blocked_by``."""
    by_pid = {int(r["pid"]): r for r in activity}
    waits_for: dict[int, list[int]] = {
        pid: sorted({int(b) for b in r["blocked_by"]})
        for pid, r in by_pid.items()
        if r.get("blocked_by")
    }
    blocks: dict[int, list[int]] = defaultdict(list)
    for pid, blockers in waits_for.items():
        for blocker in blockers:
            blocks[blocker].append(pid)
    nodes = sorted(set(waits_for) | set(blocks))
    rows = []
    for pid in nodes:
        upstream = _walk(pid, waits_for)
        roots = sorted(p for p in upstream - {pid} if not waits_for.get(p))
        info = by_pid.get(pid, {})
        row: dict[str, Any] = {
            "pid": pid,
            "kind": "prepared transaction" if pid == PREPARED else info.get("backend_type"),
            "blocked_by": waits_for.get(pid, []),
            "blocks": sorted(blocks.get(pid, [])),
            "is_root": pid not in waits_for,
            "root_pids": roots,
            "depth": _depth(pid, waits_for),
            "blocked_count": len(_walk(pid, blocks) - {pid}),
            "in_cycle": pid in upstream,
        }
        row.update({c: info.get(c) for c in _CARRIED})
        rows.append(row)
    return rows


def collect_activity(ctx: Context) -> list[Section]:
    activity = section(ctx, "activity")
    for row in activity.rows:
        if row.get("query"):
            row["query"] = mask_secrets(row["query"])
    if not ctx.caps.can_read_all_stats():
        activity.skipped.append(
            f"role {ctx.caps.role} sees other roles' sessions without query or state "
            "(no pg_read_all_stats)"
        )
    blocking = Section("blocking", list(BLOCKING_COLUMNS), blocking_graph(activity.rows))
    return [activity, blocking]


def collect_locks(ctx: Context) -> list[Section]:
    return [section(ctx, "locks")]


def collect_prepared(ctx: Context) -> list[Section]:
    return [section(ctx, "prepared_xacts")]
