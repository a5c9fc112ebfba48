"""Property tests of the plan parser: generated plans keep their invariants,
malformed input is a Plan or an InvalidInputFile, never a crash."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pgtune_hx.analyze.plan import Plan, load_plan, parse_plan
from pgtune_hx.analyze.plan_findings import plan_findings
from pgtune_hx.errors import InvalidInputFile

SETTINGS = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
FIXTURES = sorted((Path(__file__).parent / "fixtures" / "plans").glob("pg*.json"))

NODE_TYPES = [
    "Seq Scan",
    "Index Scan",
    "Index Only Scan",
    "Bitmap Heap Scan",
    "Hash Join",
    "Nested Loop",
    "Merge Join",
    "Hash",
    "Sort",
    "Aggregate",
    "Limit",
    "Gather",
    "Gather Merge",
    "Memoize",
]
small = st.floats(min_value=0, max_value=1e7, allow_nan=False, allow_infinity=False)


@st.composite
def node_fields(draw: st.DrawFn, analyzed: bool) -> dict[str, Any]:
    node: dict[str, Any] = {
        "Node Type": draw(st.sampled_from(NODE_TYPES)),
        "Startup Cost": draw(small),
        "Total Cost": draw(small),
        "Plan Rows": draw(small),
        "Plan Width": draw(st.integers(0, 2000)),
        "Parent Relationship": draw(st.sampled_from(["Outer", "Inner", "SubPlan", "InitPlan"])),
    }
    if analyzed:
        node["Actual Total Time"] = draw(small)
        node["Actual Startup Time"] = draw(small)
        node["Actual Rows"] = draw(small)
        node["Actual Loops"] = draw(st.integers(0, 100_000))
        extras = {
            "Rows Removed by Filter": small,
            "Heap Fetches": small,
            "Lossy Heap Blocks": small,
            "Hash Batches": st.integers(0, 64),
            "Workers Planned": st.integers(0, 8),
            "Workers Launched": st.integers(0, 8),
            "Sort Method": st.sampled_from(["quicksort", "external merge", "top-N heapsort"]),
        }
        for key, strategy in extras.items():
            if draw(st.booleans()):
                node[key] = draw(strategy)
    return node


def plans(analyzed: bool) -> st.SearchStrategy[dict[str, Any]]:
    return st.recursive(
        node_fields(analyzed),
        lambda children: st.builds(
            lambda parent, kids: {**parent, "Plans": kids},
            node_fields(analyzed),
            st.lists(children, min_size=1, max_size=3),
        ),
        max_leaves=25,
    )


def _count(node: dict[str, Any]) -> int:
    return 1 + sum(_count(c) for c in node.get("Plans", []))


@SETTINGS
@given(st.booleans().flatmap(lambda a: st.tuples(st.just(a), plans(a))), small)
def test_generated_plans_keep_their_invariants(
    case: tuple[bool, dict[str, Any]], execution: float
) -> None:
    analyzed, root = case
    plan = parse_plan([{"Plan": root, "Execution Time": execution}])
    nodes = list(plan.nodes())
    assert len(nodes) == _count(root)
    assert [n.id for n in nodes] == list(range(len(nodes)))
    assert plan.analyzed == analyzed
    for node in nodes:
        assert node.exclusive_cost >= 0
        assert all(c.depth == node.depth + 1 for c in node.children)
        if analyzed:
            assert node.exclusive_ms is not None and node.exclusive_ms >= 0
            assert node.inclusive_ms is not None and node.inclusive_ms >= node.exclusive_ms
            assert 1 <= node.processes <= max(1, node.loops or 1)
        else:
            assert node.exclusive_ms is None
    for finding in plan_findings(plan):
        assert finding.message and finding.severity in ("info", "warning", "critical")
    json.dumps(plan.to_dict())


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | small | st.text(max_size=10),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=20,
)


def _outcome(text: str) -> Plan | InvalidInputFile:
    try:
        return load_plan(text, source="x.json")
    except InvalidInputFile as exc:
        return exc


@SETTINGS
@given(json_values)
def test_random_json_is_a_plan_or_a_clear_error(value: Any) -> None:
    result = _outcome(json.dumps(value))
    if isinstance(result, InvalidInputFile):
        assert str(result).startswith("x.json")
    else:
        plan_findings(result)


@SETTINGS
@given(st.text(max_size=300))
def test_random_text_is_a_plan_or_a_clear_error(text: str) -> None:
    result = _outcome(text)
    assert isinstance(result, Plan | InvalidInputFile)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(value, dict):
        for k, v in value.items():
            out.extend(_paths(v, (*prefix, k)))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out.extend(_paths(v, (*prefix, i)))
    return out


@SETTINGS
@given(st.sampled_from(FIXTURES), st.integers(min_value=0), json_values)
def test_corrupted_fixtures_never_crash(path: Path, pick: int, replacement: Any) -> None:
    data = json.loads(path.read_text())
    paths = _paths(data)[1:]
    where = paths[pick % len(paths)]
    target = data
    for step in where[:-1]:
        target = target[step]
    target[where[-1]] = replacement
    result = _outcome(json.dumps(data))
    if isinstance(result, Plan):
        for finding in plan_findings(result):
            assert finding.message
