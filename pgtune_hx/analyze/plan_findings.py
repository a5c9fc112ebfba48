"""What is wrong in a plan: each finder is a small function with its thresholds
as keyword defaults; docs/plan-findings.md explains every one and why.

``plan_findings(plan)`` runs them all. Most need EXPLAIN ANALYZE (actual rows
and times); on a plain EXPLAIN they find nothing rather than guess.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pgtune_hx.analyze.plan import Plan, PlanNode, PlanVisitor

SEVERITIES = ("info", "warning", "critical")

MANUAL = "https://www.postgresql.org/docs/current/"


@dataclass(frozen=True, eq=False)
class PlanFinding:
    code: str
    severity: str
    message: str
    node_id: int | None = None
    node: str | None = None
    details: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "severity": self.severity,
            "node_id": self.node_id,
            "node": self.node,
            "message": self.message,
            "details": dict(self.details),
        }


def _finding(
    code: str, severity: str, node: PlanNode | None, message: str, **details: Any
) -> PlanFinding:
    return PlanFinding(
        code,
        severity,
        message,
        node.id if node else None,
        node.label if node else None,
        details,
    )


def _pct(x: float) -> str:
    return f"{x * 100:.1f}%" if x < 0.995 else f"{x * 100:.0f}%"


def _stops_early(ancestors: list[PlanNode], node: PlanNode) -> bool:
    """Below a Limit, the inner side of a semi/anti join or a merge join, a
    node is not run to completion: fewer rows than estimated is expected."""
    if any(a.node_type == "Limit" for a in ancestors):
        return True
    if not ancestors:
        return False
    parent = ancestors[-1]
    if parent.join_type in ("Semi", "Anti") and node.parent_relationship == "Inner":
        return True
    return parent.node_type == "Merge Join"


def _with_ancestors(plan: Plan) -> list[tuple[PlanNode, list[PlanNode]]]:
    out: list[tuple[PlanNode, list[PlanNode]]] = []
    stack: list[tuple[PlanNode, list[PlanNode]]] = [(plan.root, [])]
    while stack:
        node, ancestors = stack.pop()
        out.append((node, ancestors))
        for child in reversed(node.children):
            stack.append((child, [*ancestors, node]))
    return out


def row_misestimates(
    plan: Plan,
    *,
    info: float = 10,
    warning: float = 100,
    critical: float = 1000,
    min_rows: float = 100,
) -> list[PlanFinding]:
    """Estimated vs actual rows off by x10 (info), x100 (warning), x1000 (critical).

    Both sides are per-loop averages; nodes where neither side reaches
    ``min_rows`` rows over all loops are ignored (a 1 vs 40 row miss is noise),
    and so are overestimates of nodes that stop early (under a Limit, the inner
    side of a semi/anti join, a merge join input).
    See https://www.postgresql.org/docs/current/planner-stats.html
    """
    found: list[PlanFinding] = []
    for node, ancestors in _with_ancestors(plan):
        if not node.executed or node.actual_rows is None:
            continue
        loops = node.loops or 1
        est, act = node.plan_rows, node.actual_rows
        if max(est, act) * loops < min_rows:
            continue
        ratio = max(est, act) / max(min(est, act), 1.0)
        if ratio < info:
            continue
        way = "under" if act > est else "over"
        if way == "over" and _stops_early(ancestors, node):
            continue
        severity = "critical" if ratio >= critical else "warning" if ratio >= warning else "info"
        found.append(
            _finding(
                "row-misestimate",
                severity,
                node,
                f"{node.label}: planner expected {est:,.0f} rows, got {act:,.0f} "
                f"({way}estimated x{ratio:,.0f}); stale or missing statistics "
                "(ANALYZE, extended statistics for correlated columns)",
                estimated=est,
                actual=act,
                factor=round(ratio, 1),
                direction=way,
            )
        )
    return found


def time_hotspots(
    plan: Plan, *, share: float = 0.5, min_ms: float = 1.0, slow_ms: float = 1000.0
) -> list[PlanFinding]:
    """A node whose own (exclusive) time is at least ``share`` of the run.

    Info by default (it says where the time goes); warning when that node
    alone takes ``slow_ms`` or more. Plans faster than ``min_ms`` and
    single-node plans are skipped: their one node always takes everything.
    """
    total = plan.total_ms
    nodes = list(plan.nodes())
    if not plan.timed or not total or total < min_ms or len(nodes) < 2:
        return []
    found = []
    for node in nodes:
        if node.exclusive_ms is None:
            continue
        part = node.exclusive_ms / total
        if part >= share:
            severity = "warning" if node.exclusive_ms >= slow_ms else "info"
            found.append(
                _finding(
                    "time-hotspot",
                    severity,
                    node,
                    f"{node.label} takes {_pct(min(part, 1.0))} of the execution time "
                    f"({node.exclusive_ms:,.1f} ms of {total:,.1f} ms)",
                    exclusive_ms=round(node.exclusive_ms, 3),
                    share=round(part, 4),
                )
            )
    return found


def rows_removed_by_filter(
    plan: Plan, *, info: float = 0.5, warning: float = 0.9, min_removed: float = 1000
) -> list[PlanFinding]:
    """A filter that throws away more than 50% (info) / 90% (warning) of the
    rows its node produced, counted over all loops; under ``min_removed``
    removed rows it is not worth a line. Join filters are reported the same way.
    """
    found = []
    for node in plan.nodes():
        if not node.executed or node.total_rows is None:
            continue
        for key, code in (
            ("Rows Removed by Filter", "filter-removes-rows"),
            ("Rows Removed by Join Filter", "join-filter-removes-rows"),
        ):
            removed = node.removed(key)
            if removed < min_removed:
                continue
            part = removed / (removed + node.total_rows)
            if part <= info:
                continue
            severity = "warning" if part > warning else "info"
            found.append(
                _finding(
                    code,
                    severity,
                    node,
                    f"{node.label}: {key.lower()} {removed:,.0f} of "
                    f"{removed + node.total_rows:,.0f} rows ({_pct(part)})",
                    removed=removed,
                    kept=node.total_rows,
                    share=round(part, 4),
                )
            )
    return found


def selective_seq_scans(
    plan: Plan, *, min_rows: float = 10_000, max_selectivity: float = 0.05
) -> list[PlanFinding]:
    """A sequential scan that reads at least ``min_rows`` rows to keep at most
    5% of them: an index on the filtered columns would read far less.
    ``pgtune-hx advise`` proposes and verifies one.
    """
    found = []
    for node in plan.nodes():
        if node.node_type != "Seq Scan" or not node.executed or node.total_rows is None:
            continue
        if not node.text("Filter"):
            continue
        scanned = node.total_rows + node.removed()
        if scanned < min_rows:
            continue
        selectivity = node.total_rows / scanned
        if selectivity > max_selectivity:
            continue
        found.append(
            _finding(
                "selective-seq-scan",
                "warning",
                node,
                f"{node.label} reads {scanned:,.0f} rows to return {node.total_rows:,.0f} "
                f"({_pct(selectivity)}) with filter {node.text('Filter')}; "
                "an index may help (pgtune-hx advise)",
                scanned=scanned,
                returned=node.total_rows,
                selectivity=round(selectivity, 6),
                filter=node.text("Filter"),
            )
        )
    return found


class _Spills(PlanVisitor):
    def __init__(self) -> None:
        self.found: list[PlanFinding] = []

    def _workers(self, node: PlanNode) -> list[Mapping[str, Any]]:
        workers = node.raw.get("Workers")
        return [w for w in workers if isinstance(w, Mapping)] if isinstance(workers, list) else []

    def visit_Sort(self, node: PlanNode) -> None:
        for where, data in [("", node.raw), *((" (worker)", w) for w in self._workers(node))]:
            method = str(data.get("Sort Method") or "")
            space_type = data.get("Sort Space Type")
            if "external" in method or space_type == "Disk":
                used = data.get("Sort Space Used")
                self.found.append(
                    _finding(
                        "sort-spill",
                        "warning",
                        node,
                        f"{node.label}{where} spilled to disk ({method or 'external'}, "
                        f"{used} kB): work_mem is too small for it",
                        method=method,
                        disk_kb=used,
                    )
                )
                return

    visit_IncrementalSort = visit_Sort

    def visit_Hash(self, node: PlanNode) -> None:
        batches = node.num("Hash Batches") or 0
        if batches > 1:
            original = node.num("Original Hash Batches") or batches
            grew = batches > original
            self.found.append(
                _finding(
                    "hash-spill",
                    "warning",
                    node,
                    f"{node.label} used {batches:.0f} batches"
                    + (f" (planned {original:.0f}: the row estimate was low)" if grew else "")
                    + "; the hash table did not fit in work_mem x hash_mem_multiplier",
                    batches=batches,
                    original_batches=original,
                )
            )

    def visit_Aggregate(self, node: PlanNode) -> None:
        for data in [node.raw, *self._workers(node)]:
            batches = data.get("HashAgg Batches")
            disk = data.get("Disk Usage")
            if (isinstance(batches, int | float) and batches > 1) or (
                isinstance(disk, int | float) and disk > 0
            ):
                self.found.append(
                    _finding(
                        "hashagg-spill",
                        "warning",
                        node,
                        f"{node.label} (hashed) spilled to disk: {batches} batches, "
                        f"{disk} kB; raise work_mem or hash_mem_multiplier",
                        batches=batches,
                        disk_kb=disk,
                    )
                )
                return

    visit_SetOp = visit_Aggregate


def spills(plan: Plan) -> list[PlanFinding]:
    """Sorts that went external, hashes with more than one batch, hash
    aggregates that wrote to disk (each reported once per node).
    See https://www.postgresql.org/docs/current/runtime-config-resource.html#GUC-WORK-MEM
    """
    visitor = _Spills()
    visitor.walk(plan)
    return visitor.found


class _Lossy(PlanVisitor):
    def __init__(self) -> None:
        self.found: list[PlanFinding] = []

    def visit_BitmapHeapScan(self, node: PlanNode) -> None:
        lossy = node.num("Lossy Heap Blocks") or 0
        if lossy <= 0:
            return
        exact = node.num("Exact Heap Blocks") or 0
        self.found.append(
            _finding(
                "lossy-bitmap",
                "warning",
                node,
                f"{node.label}: {lossy:,.0f} of {lossy + exact:,.0f} heap blocks were lossy "
                "(the bitmap did not fit in work_mem, every row of those pages is rechecked)",
                lossy_blocks=lossy,
                exact_blocks=exact,
                rechecked_removed=node.removed("Rows Removed by Index Recheck"),
            )
        )


def lossy_bitmaps(plan: Plan) -> list[PlanFinding]:
    """Bitmap heap scans with lossy blocks: any is worth a warning."""
    visitor = _Lossy()
    visitor.walk(plan)
    return visitor.found


def heap_fetches(plan: Plan, *, share: float = 0.1, min_fetches: float = 100) -> list[PlanFinding]:
    """Index-only scans that still visit the heap for at least 10% of their
    rows: the visibility map is behind, VACUUM the table (autovacuum tuning).
    """
    found = []
    for node in plan.nodes():
        if node.node_type != "Index Only Scan" or not node.executed:
            continue
        fetches = (node.num("Heap Fetches") or 0) * (node.loops or 1)
        rows = node.total_rows or 0
        if fetches < min_fetches or rows <= 0:
            continue
        part = fetches / rows
        if part < share:
            continue
        found.append(
            _finding(
                "index-only-heap-fetches",
                "warning",
                node,
                f"{node.label} fetched {fetches:,.0f} heap tuples for {rows:,.0f} rows "
                f"({_pct(min(part, 1.0))}): VACUUM {node.relation or 'the table'} "
                "to update its visibility map",
                heap_fetches=fetches,
                rows=rows,
                share=round(part, 4),
            )
        )
    return found


def many_loops(plan: Plan, *, info: int = 1000, warning: int = 100_000) -> list[PlanFinding]:
    """The inner side of a nested loop executed ``info`` (info) or ``warning``
    (warning) times; also a warning when those loops take half the run."""
    found = []
    total = plan.total_ms or 0.0
    for parent in plan.nodes():
        if parent.node_type != "Nested Loop":
            continue
        for inner in parent.children:
            if inner.parent_relationship != "Inner":
                continue
            # a Memoize answers repeated keys from its cache: what runs is below it
            child = inner.children[0] if inner.node_type == "Memoize" and inner.children else inner
            if not child.loops or child.loops < info:
                continue
            share = (child.inclusive_ms or 0.0) / total if total else 0.0
            severity = "warning" if child.loops >= warning or share >= 0.5 else "info"
            found.append(
                _finding(
                    "many-loops",
                    severity,
                    child,
                    f"{child.label} runs {child.loops:,} times as the inner side of a nested "
                    f"loop ({_pct(share)} of the time); a hash or merge join, or a better "
                    "outer estimate, may be cheaper",
                    loops=child.loops,
                    share=round(share, 4),
                )
            )
    return found


class _Workers(PlanVisitor):
    def __init__(self) -> None:
        self.found: list[PlanFinding] = []

    def visit_Gather(self, node: PlanNode) -> None:
        planned = node.num("Workers Planned")
        launched = node.num("Workers Launched")
        if planned is None or launched is None or launched >= planned:
            return
        self.found.append(
            _finding(
                "workers-not-launched",
                "warning",
                node,
                f"{node.label} planned {planned:.0f} workers but launched {launched:.0f}: "
                "max_parallel_workers or max_worker_processes was exhausted",
                planned=planned,
                launched=launched,
            )
        )

    visit_GatherMerge = visit_Gather


def workers_not_launched(plan: Plan) -> list[PlanFinding]:
    """Gather nodes that got fewer workers than planned."""
    visitor = _Workers()
    visitor.walk(plan)
    return visitor.found


def jit_share(plan: Plan, *, share: float = 0.1, min_ms: float = 10.0) -> list[PlanFinding]:
    """JIT compilation that took at least 10% of the execution time and
    ``min_ms`` ms: the query is too short to win it back.
    See https://www.postgresql.org/docs/current/jit-decision.html
    """
    jit_ms = plan.jit_total_ms()
    total = plan.execution_ms
    if jit_ms is None or not total or jit_ms < min_ms:
        return []
    part = jit_ms / total
    if part < share:
        return []
    functions = plan.jit.get("Functions") if plan.jit else None
    return [
        _finding(
            "jit-share",
            "warning",
            None,
            f"JIT took {jit_ms:,.1f} ms, {_pct(min(part, 1.0))} of the {total:,.1f} ms run "
            f"({functions} functions): raise jit_above_cost or set jit = off for this workload",
            jit_ms=jit_ms,
            share=round(part, 4),
            functions=functions,
        )
    ]


FINDERS: tuple[Callable[[Plan], list[PlanFinding]], ...] = (
    row_misestimates,
    time_hotspots,
    rows_removed_by_filter,
    selective_seq_scans,
    spills,
    lossy_bitmaps,
    heap_fetches,
    many_loops,
    workers_not_launched,
    jit_share,
)


def plan_findings(plan: Plan) -> list[PlanFinding]:
    """Every finder's results, most severe first (then in plan order)."""
    found = [f for finder in FINDERS for f in finder(plan)]
    rank = {s: i for i, s in enumerate(reversed(SEVERITIES))}
    return sorted(
        found, key=lambda f: (rank[f.severity], f.node_id if f.node_id is not None else -1)
    )
