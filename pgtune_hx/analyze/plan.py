"""EXPLAIN (FORMAT JSON [, ANALYZE, BUFFERS]) as a tree with exclusive time and cost.

``parse_plan(data)`` / ``load_plan(text)`` accept what the server returns
(``[{"Plan": ...}]``), a bare ``{"Plan": ...}``, the same wrapped as
``{"QUERY PLAN": ...}``, and psql's aligned output of it. Anything else is an
InvalidInputFile naming the path of the bad field.

Time accounting (documented in docs/plan-findings.md):

- ``Actual Total Time`` is an average per loop, so a node's inclusive time is
  ``total_time x loops``.
- Below a Gather / Gather Merge the node runs in P processes at once
  (``Workers Launched`` + 1 for the leader), its loops count every process'
  executions, and summing them would count CPU time, not elapsed time. The
  elapsed inclusive time is ``total_time x loops / P`` with
  ``P = min(loops, workers_launched + 1)`` (the leader may not take part).
- Exclusive time is inclusive time minus the children's inclusive times,
  clamped at zero: a CTE's plan is timed both where it is defined (InitPlan)
  and inside the CTE Scan that pulls rows from it.
- Exclusive cost is the same subtraction on ``Total Cost``; costs are per
  execution estimates, so it is an indication of where the planner puts the
  work, not a planner number.

``PlanVisitor`` walks the tree in the same dispatch style as pglast's
visitors: ``visit_SeqScan``, ``visit_HashJoin``... named after the node type
without spaces, ``generic_visit`` for the rest.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from pgtune_hx.errors import InvalidInputFile

MAX_DEPTH = 500
GATHER_NODES = frozenset({"Gather", "Gather Merge"})


@dataclass(frozen=True, eq=False)
class PlanNode:
    """One plan node; times in ms, rows per loop as EXPLAIN prints them."""

    id: int
    node_type: str
    depth: int
    children: tuple[PlanNode, ...]
    startup_cost: float
    total_cost: float
    plan_rows: float
    plan_width: int
    parent_relationship: str | None = None
    subplan_name: str | None = None
    relation: str | None = None
    schema: str | None = None
    alias: str | None = None
    index_name: str | None = None
    join_type: str | None = None
    strategy: str | None = None
    parallel_aware: bool = False
    loops: int | None = None
    actual_rows: float | None = None
    actual_startup_ms: float | None = None
    actual_total_ms: float | None = None
    processes: int = 1
    inclusive_ms: float | None = None
    exclusive_ms: float | None = None
    exclusive_cost: float = 0.0
    raw: Mapping[str, Any] = field(default_factory=dict)

    # -- convenience over raw keys --------------------------------------

    def num(self, key: str) -> float | None:
        value = self.raw.get(key)
        return (
            float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None
        )

    def text(self, key: str) -> str | None:
        value = self.raw.get(key)
        return value if isinstance(value, str) else None

    @property
    def executed(self) -> bool:
        return bool(self.loops)

    @property
    def total_rows(self) -> float | None:
        """Rows returned over all loops."""
        if self.actual_rows is None or self.loops is None:
            return None
        return self.actual_rows * self.loops

    def removed(self, key: str = "Rows Removed by Filter") -> float:
        """Rows removed over all loops (EXPLAIN prints a per-loop average)."""
        per_loop = self.num(key) or 0.0
        return per_loop * (self.loops or 0)

    @property
    def label(self) -> str:
        """'Seq Scan on orders o', 'Index Scan using i on t', 'Hash Join'."""
        text = self.node_type
        operation = self.text("Operation")
        if self.node_type == "ModifyTable" and operation:
            text = operation  # Insert / Update / Delete / Merge, as EXPLAIN prints it
        if self.index_name and self.node_type in (
            "Index Scan",
            "Index Only Scan",
            "Bitmap Index Scan",
        ):
            text += f" using {self.index_name}"
        if self.relation:
            text += f" on {self.relation}"
            if self.alias and self.alias != self.relation:
                text += f" {self.alias}"
        if self.subplan_name:
            text = f"{self.subplan_name}: {text}"
        return text

    def walk(self) -> Iterator[PlanNode]:
        """This node and its descendants, parents first."""
        stack = [self]
        while stack:
            node = stack.pop()
            yield node
            stack.extend(reversed(node.children))

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "node_type": self.node_type,
            "label": self.label,
            "relation": self.relation,
            "schema": self.schema,
            "alias": self.alias,
            "index_name": self.index_name,
            "startup_cost": self.startup_cost,
            "total_cost": self.total_cost,
            "exclusive_cost": round(self.exclusive_cost, 2),
            "plan_rows": self.plan_rows,
            "actual_rows": self.actual_rows,
            "loops": self.loops,
            "processes": self.processes,
            "inclusive_ms": _round(self.inclusive_ms),
            "exclusive_ms": _round(self.exclusive_ms),
            "children": [c.to_dict() for c in self.children],
        }


@dataclass(frozen=True, eq=False)
class Plan:
    root: PlanNode
    analyzed: bool
    timed: bool
    planning_ms: float | None = None
    execution_ms: float | None = None
    jit: Mapping[str, Any] | None = None
    settings: Mapping[str, Any] = field(default_factory=dict)
    triggers: tuple[Mapping[str, Any], ...] = ()

    def nodes(self) -> Iterator[PlanNode]:
        return self.root.walk()

    @property
    def total_ms(self) -> float | None:
        """Execution time, else the root's inclusive time."""
        if self.execution_ms is not None:
            return self.execution_ms
        return self.root.inclusive_ms

    @property
    def total_cost(self) -> float:
        return self.root.total_cost

    def jit_total_ms(self) -> float | None:
        if not self.jit:
            return None
        timing = self.jit.get("Timing")
        if not isinstance(timing, Mapping):
            return None
        total = timing.get("Total")
        if isinstance(total, Mapping):  # never seen, but be lenient
            total = total.get("Total")
        return float(total) if isinstance(total, int | float) else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "analyzed": self.analyzed,
            "planning_ms": self.planning_ms,
            "execution_ms": self.execution_ms,
            "total_cost": self.total_cost,
            "jit_ms": self.jit_total_ms(),
            "root": self.root.to_dict(),
        }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


class PlanVisitor:
    """Dispatch on node type: ``visit_SeqScan(node)``, ``visit_HashJoin(node)``, ...

    ``walk(plan)`` visits every node, parents first; ``generic_visit`` gets
    the nodes without a method of their own.
    """

    def walk(self, plan: Plan | PlanNode) -> None:
        root = plan.root if isinstance(plan, Plan) else plan
        for node in root.walk():
            self.visit(node)

    def visit(self, node: PlanNode) -> None:
        method = getattr(self, "visit_" + node.node_type.replace(" ", ""), None)
        if method is None:
            self.generic_visit(node)
        else:
            method(node)

    def generic_visit(self, node: PlanNode) -> None:
        """Nodes without a visit_<Type> method; nothing by default."""


# -- loading -----------------------------------------------------------------


def load_plan(text: str | bytes, *, source: str = "plan") -> Plan:
    """A plan from EXPLAIN's JSON text (or psql's aligned output of it)."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidInputFile(f"{source}: not UTF-8 text") from None
    cleaned = _strip_psql(text)
    try:
        data = json.loads(cleaned)
    except (json.JSONDecodeError, RecursionError) as exc:
        detail = exc.msg if isinstance(exc, json.JSONDecodeError) else "nested too deeply"
        raise InvalidInputFile(
            f"{source}: not EXPLAIN JSON ({detail})",
            hint="produce it with EXPLAIN (FORMAT JSON ...)",
        ) from None
    return parse_plan(data, source=source)


def _strip_psql(text: str) -> str:
    """psql prints ' QUERY PLAN', a dash line, the JSON with '+' at line ends
    and '(1 row)'; keep only the JSON."""
    lines = text.strip().splitlines()
    if not lines or lines[0].strip() != "QUERY PLAN":
        return text
    body = [ln for ln in lines[1:] if not set(ln.strip()) <= {"-"}]
    if body and body[-1].strip().startswith("(") and body[-1].strip().endswith(")"):
        body = body[:-1]
    return "\n".join(ln.rstrip().removesuffix("+").rstrip() for ln in body)


def parse_plan(data: Any, *, source: str = "plan") -> Plan:
    """A plan from decoded EXPLAIN JSON, or InvalidInputFile saying what is wrong."""
    top = _unwrap(data, source)
    plan_data = top.get("Plan")
    if not isinstance(plan_data, Mapping):
        raise InvalidInputFile(f"{source}: no 'Plan' object; is this EXPLAIN (FORMAT JSON) output?")
    root = _build(plan_data, source)
    analyzed = any(n.loops is not None for n in root.walk())
    timed = any(n.actual_total_ms is not None for n in root.walk())
    jit = top.get("JIT")
    settings = top.get("Settings")
    triggers = top.get("Triggers")
    return Plan(
        root=root,
        analyzed=analyzed,
        timed=timed,
        planning_ms=_opt_number(top, "Planning Time", source),
        execution_ms=_opt_number(top, "Execution Time", source),
        jit=jit if isinstance(jit, Mapping) else None,
        settings=settings if isinstance(settings, Mapping) else {},
        triggers=tuple(t for t in triggers if isinstance(t, Mapping))
        if isinstance(triggers, list)
        else (),
    )


def _unwrap(data: Any, source: str) -> Mapping[str, Any]:
    for _ in range(3):
        if isinstance(data, list):
            if len(data) != 1:
                raise InvalidInputFile(
                    f"{source}: expected one plan, found a list of {len(data)} items"
                )
            data = data[0]
        elif isinstance(data, Mapping) and "QUERY PLAN" in data and "Plan" not in data:
            data = data["QUERY PLAN"]
        else:
            break
    if not isinstance(data, Mapping):
        raise InvalidInputFile(
            f"{source}: expected a JSON object with a 'Plan', got {type(data).__name__}"
        )
    return data


def _opt_number(obj: Mapping[str, Any], key: str, where: str) -> float | None:
    value = obj.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InvalidInputFile(f"{where}: '{key}' must be a number, got {value!r:.40}")
    if value < 0:
        raise InvalidInputFile(f"{where}: '{key}' must not be negative, got {value}")
    return float(value)


def _opt_text(obj: Mapping[str, Any], key: str, where: str) -> str | None:
    value = obj.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidInputFile(f"{where}: '{key}' must be text, got {value!r:.40}")
    return value


@dataclass
class _Raw:
    data: Mapping[str, Any]
    path: str
    depth: int
    children: list[_Raw] = field(default_factory=list)
    in_parallel: int = 0  # processes of the enclosing Gather, 0 outside one


def _build(root_data: Mapping[str, Any], source: str) -> PlanNode:
    """Validate and build bottom-up with an explicit stack (no recursion limit)."""
    root = _Raw(root_data, f"{source}: Plan", 0)
    order: list[_Raw] = []
    stack = [root]
    while stack:
        raw = stack.pop()
        if raw.depth > MAX_DEPTH:
            raise InvalidInputFile(f"{raw.path}: plan nested deeper than {MAX_DEPTH} levels")
        _check_node(raw)
        order.append(raw)
        plans = raw.data.get("Plans", [])
        if not isinstance(plans, list):
            raise InvalidInputFile(f"{raw.path}: 'Plans' must be a list")
        workers = _processes(raw)
        for i, child in enumerate(plans):
            if not isinstance(child, Mapping):
                raise InvalidInputFile(f"{raw.path}.Plans[{i}]: expected a plan node object")
            sub = _Raw(child, f"{raw.path}.Plans[{i}]", raw.depth + 1)
            sub.in_parallel = workers or raw.in_parallel
            raw.children.append(sub)
        stack.extend(reversed(raw.children))  # pop in plan order: ids are pre-order
    built: dict[int, PlanNode] = {}
    ids = {id(raw): i for i, raw in enumerate(order)}
    for raw in reversed(order):
        children = tuple(built[id(c)] for c in raw.children)
        built[id(raw)] = _node(raw, ids[id(raw)], children)
    return built[id(root)]


def _processes(raw: _Raw) -> int:
    """Processes running the children of a Gather (0 if not a Gather)."""
    if raw.data.get("Node Type") not in GATHER_NODES:
        return 0
    launched = raw.data.get("Workers Launched")
    planned = raw.data.get("Workers Planned")
    workers = launched if isinstance(launched, int) else planned
    workers = workers if isinstance(workers, int) and workers >= 0 else 0
    leader = 0 if raw.data.get("Single Copy") is True else 1
    return max(1, workers + leader)


_NUMBERS = (
    "Startup Cost",
    "Total Cost",
    "Plan Rows",
    "Plan Width",
    "Actual Startup Time",
    "Actual Total Time",
    "Actual Rows",
    "Actual Loops",
    "Rows Removed by Filter",
    "Rows Removed by Join Filter",
    "Rows Removed by Index Recheck",
    "Heap Fetches",
    "Exact Heap Blocks",
    "Lossy Heap Blocks",
    "Hash Batches",
    "Original Hash Batches",
    "HashAgg Batches",
    "Disk Usage",
    "Sort Space Used",
    "Workers Planned",
    "Workers Launched",
    "Peak Memory Usage",
)
_TEXTS = (
    "Node Type",
    "Relation Name",
    "Schema",
    "Alias",
    "Index Name",
    "Parent Relationship",
    "Subplan Name",
    "Join Type",
    "Strategy",
    "Sort Method",
    "Sort Space Type",
)


def _check_node(raw: _Raw) -> None:
    data = raw.data
    node_type = data.get("Node Type")
    if not isinstance(node_type, str) or not node_type:
        raise InvalidInputFile(f"{raw.path}: missing 'Node Type'; not an EXPLAIN plan node")
    for key in _NUMBERS:
        _opt_number(data, key, raw.path)
    for key in _TEXTS:
        _opt_text(data, key, raw.path)
    for key in ("Startup Cost", "Total Cost", "Plan Rows"):
        if key not in data:
            raise InvalidInputFile(f"{raw.path}: missing '{key}'")


def _node(raw: _Raw, node_id: int, children: tuple[PlanNode, ...]) -> PlanNode:
    d = raw.data
    loops_value = d.get("Actual Loops")
    loops = int(loops_value) if isinstance(loops_value, int | float) else None
    total_ms = _num(d, "Actual Total Time")
    processes = 1
    inclusive: float | None = None
    if total_ms is not None and loops is not None:
        if raw.in_parallel and loops > 0:
            processes = max(1, min(loops, raw.in_parallel))
        inclusive = total_ms * loops / processes
    exclusive: float | None = None
    if inclusive is not None:
        below = sum(c.inclusive_ms or 0.0 for c in children)
        exclusive = max(0.0, inclusive - below)
    total_cost = _num(d, "Total Cost") or 0.0
    exclusive_cost = max(0.0, total_cost - sum(c.total_cost for c in children))
    plain = {k: v for k, v in d.items() if k != "Plans"}
    return PlanNode(
        id=node_id,
        node_type=str(d["Node Type"]),
        depth=raw.depth,
        children=children,
        startup_cost=_num(d, "Startup Cost") or 0.0,
        total_cost=total_cost,
        plan_rows=_num(d, "Plan Rows") or 0.0,
        plan_width=int(_num(d, "Plan Width") or 0),
        parent_relationship=_text(d, "Parent Relationship"),
        subplan_name=_text(d, "Subplan Name"),
        relation=_text(d, "Relation Name"),
        schema=_text(d, "Schema"),
        alias=_text(d, "Alias"),
        index_name=_text(d, "Index Name"),
        join_type=_text(d, "Join Type"),
        strategy=_text(d, "Strategy"),
        parallel_aware=d.get("Parallel Aware") is True,
        loops=loops,
        actual_rows=_num(d, "Actual Rows"),
        actual_startup_ms=_num(d, "Actual Startup Time"),
        actual_total_ms=total_ms,
        processes=processes,
        inclusive_ms=inclusive,
        exclusive_ms=exclusive,
        exclusive_cost=exclusive_cost,
        raw=plain,
    )


def _num(d: Mapping[str, Any], key: str) -> float | None:
    value = d.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _text(d: Mapping[str, Any], key: str) -> str | None:
    value = d.get(key)
    return value if isinstance(value, str) else None
