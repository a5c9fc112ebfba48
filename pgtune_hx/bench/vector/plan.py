"""Did the planner use the index? EXPLAIN (FORMAT JSON) walked node by node.

A silent sequential scan returns exact results, which would report a perfect
recall for an index that was never used: such a pass is flagged instead.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

INDEX_SCANS = ("Index Scan", "Index Only Scan")


def walk(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every plan node, depth first, InitPlans and SubPlans included."""
    yield node
    for child in node.get("Plans", []) or []:
        yield from walk(child)


@dataclass(frozen=True)
class PlanCheck:
    uses_index: bool
    node_types: tuple[str, ...]
    reason: str | None = None

    def to_dict(self) -> dict[str, object]:
        return {
            "uses_index": self.uses_index,
            "nodes": list(self.node_types),
            "reason": self.reason,
        }


def check_plan(explain_json: Any, index_name: str, table: str) -> PlanCheck:
    """``explain_json`` is what EXPLAIN (FORMAT JSON) returns: a list with one
    object holding "Plan".

    >>> plan = [{"Plan": {"Node Type": "Limit", "Plans": [
    ...     {"Node Type": "Seq Scan", "Relation Name": "items"}]}}]
    >>> check_plan(plan, "vb_hnsw", "items").reason
    'sequential scan on items instead of index vb_hnsw'
    """
    root = explain_json[0]["Plan"]
    nodes = list(walk(root))
    types = tuple(str(n.get("Node Type")) for n in nodes)
    for node in nodes:
        if node.get("Node Type") in INDEX_SCANS and node.get("Index Name") == index_name:
            return PlanCheck(True, types)
    for node in nodes:
        if node.get("Relation Name") == table:
            kind = str(node.get("Node Type")).lower()
            if kind == "seq scan":
                kind = "sequential scan"
            return PlanCheck(False, types, f"{kind} on {table} instead of index {index_name}")
    return PlanCheck(False, types, f"index {index_name} not in the plan")
