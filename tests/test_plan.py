"""EXPLAIN JSON plans: golden fixtures from real servers, time accounting, errors, live plans."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import psycopg
import pytest

from pgtune_hx.analyze.explain import explain
from pgtune_hx.analyze.plan import Plan, PlanNode, PlanVisitor, load_plan, parse_plan
from pgtune_hx.analyze.plan_findings import plan_findings, row_misestimates
from pgtune_hx.db import connect
from pgtune_hx.errors import InvalidInputFile
from tests.helpers.servers import TestDatabase

FIXTURES = Path(__file__).parent / "fixtures" / "plans"

# scenario -> finding codes it must produce (tests/fixtures/plans/make_plans.py)
EXPECTED: dict[str, set[str]] = {
    "selective_seq_scan": {"selective-seq-scan", "filter-removes-rows"},
    "sort_spill": {"sort-spill"},
    "hash_spill": {"hash-spill"},
    "hashagg_spill": {"hashagg-spill"},
    "lossy_bitmap": {"lossy-bitmap"},
    "heap_fetches": {"index-only-heap-fetches"},
    "misestimate": {"row-misestimate", "selective-seq-scan"},
    "nested_loop": {"many-loops"},
    "workers_not_launched": {"workers-not-launched"},
    "jit": {"jit-share"},
    "cte_subplans": set(),
    "parallel": set(),
    "indexed_lookup": set(),
    "generic_plan": set(),
}
# warnings a scenario must not raise (false positives seen while building the rules)
CLEAN = {"indexed_lookup", "parallel", "cte_subplans", "generic_plan"}


def fixtures() -> list[Path]:
    return sorted(FIXTURES.glob("pg*_*.json"))


def scenario(path: Path) -> str:
    return path.stem.split("_", 1)[1]


def load(name: str) -> Plan:
    return load_plan((FIXTURES / name).read_text(), source=name)


def test_every_scenario_was_captured_on_both_servers() -> None:
    names = {p.name for p in fixtures()}
    for name in EXPECTED:
        if name == "generic_plan":
            assert "pg18_generic_plan.json" in names
        elif name == "jit":
            assert "pg15_jit.json" in names  # the embedded 18 has no LLVM
        else:
            assert {f"pg18_{name}.json", f"pg15_{name}.json"} <= names, name


@pytest.mark.parametrize("path", fixtures(), ids=lambda p: p.stem)
def test_golden_fixture_findings(path: Path) -> None:
    plan = load_plan(path.read_text(), source=path.name)
    found = plan_findings(plan)
    codes = {f.code for f in found}
    assert EXPECTED[scenario(path)] <= codes, [f.message for f in found]
    if scenario(path) in CLEAN:
        assert not [f for f in found if f.severity != "info"], [f.message for f in found]
    for f in found:
        assert f.message and "\n" not in f.message
        assert f.severity in ("info", "warning", "critical")
        json.dumps(f.to_dict())


@pytest.mark.parametrize("path", fixtures(), ids=lambda p: p.stem)
def test_exclusive_times_add_up(path: Path) -> None:
    plan = load_plan(path.read_text(), source=path.name)
    nodes = list(plan.nodes())
    assert [n.id for n in nodes] == list(range(len(nodes)))
    if not plan.timed:
        assert all(n.exclusive_ms is None for n in nodes)
        return
    assert all(n.exclusive_ms is not None and n.exclusive_ms >= 0 for n in nodes)
    total = sum(n.exclusive_ms or 0.0 for n in nodes)
    root = plan.root.inclusive_ms or 0.0
    if scenario(path) == "cte_subplans":
        # the CTE's plan is timed in its InitPlan and again in the CTE Scan
        assert total >= root
    else:
        assert total == pytest.approx(root, rel=1e-6)
    assert all(n.exclusive_cost >= 0 for n in nodes)


def test_parallel_nodes_are_counted_in_elapsed_time() -> None:
    plan = load("pg18_parallel.json")
    gather = next(n for n in plan.nodes() if n.node_type in ("Gather", "Gather Merge"))
    launched = int(gather.raw["Workers Launched"])
    assert launched == 2
    scan = next(n for n in plan.nodes() if n.node_type == "Seq Scan")
    assert scan.loops == 3 and scan.processes == 3
    assert scan.actual_total_ms is not None
    assert scan.inclusive_ms == pytest.approx(scan.actual_total_ms)
    # the Gather waits for its workers: its time covers theirs
    assert (gather.inclusive_ms or 0) >= (scan.inclusive_ms or 0)


def test_loops_multiply_per_loop_times() -> None:
    plan = parse_plan(
        [
            {
                "Plan": {
                    "Node Type": "Nested Loop",
                    "Startup Cost": 0,
                    "Total Cost": 100,
                    "Plan Rows": 10,
                    "Actual Total Time": 30.0,
                    "Actual Rows": 10,
                    "Actual Loops": 1,
                    "Plans": [
                        _leaf("Seq Scan", 10, 1, 2.0, "Outer"),
                        _leaf("Index Scan", 1000, 1000, 0.02, "Inner"),
                    ],
                },
                "Execution Time": 31.0,
            }
        ]
    )
    _outer, inner = plan.root.children
    assert inner.inclusive_ms == pytest.approx(20.0)
    assert plan.root.exclusive_ms == pytest.approx(8.0)
    assert plan.root.exclusive_cost == pytest.approx(100 - 10 - 10)
    findings = {f.code: f for f in plan_findings(plan)}
    assert findings["many-loops"].details["loops"] == 1000
    assert findings["many-loops"].severity == "warning"  # 65% of the run


def _leaf(kind: str, rows: float, loops: int, ms: float, rel: str) -> dict[str, Any]:
    return {
        "Node Type": kind,
        "Parent Relationship": rel,
        "Relation Name": "t",
        "Startup Cost": 0,
        "Total Cost": 10,
        "Plan Rows": rows,
        "Actual Total Time": ms,
        "Actual Rows": rows,
        "Actual Loops": loops,
    }


def test_misestimate_thresholds_are_keyword_defaults() -> None:
    plan = load("pg18_misestimate.json")
    (finding,) = row_misestimates(plan)
    assert finding.details["direction"] == "under"
    assert finding.details["factor"] >= 10
    assert row_misestimates(plan, info=10_000) == []


def test_limit_does_not_make_an_overestimate() -> None:
    plan = load("pg18_cte_subplans.json")
    assert not [f for f in row_misestimates(plan) if f.details["direction"] == "over"]


def test_visitor_dispatches_on_node_type() -> None:
    class Count(PlanVisitor):
        def __init__(self) -> None:
            self.scans: list[str] = []
            self.others = 0

        def visit_SeqScan(self, node: PlanNode) -> None:
            self.scans.append(node.label)

        def generic_visit(self, node: PlanNode) -> None:
            self.others += 1

    visitor = Count()
    plan = load("pg15_sort_spill.json")
    visitor.walk(plan)
    assert visitor.scans == ["Seq Scan on orders"]
    assert visitor.others == len(list(plan.nodes())) - 1


def test_psql_aligned_output_and_wrappers_are_accepted() -> None:
    raw = (FIXTURES / "pg18_indexed_lookup.json").read_text()
    lines = raw.rstrip("\n").splitlines()
    psql = " QUERY PLAN\n" + "-" * 20 + "\n" + "\n".join(f" {ln}+" for ln in lines) + "\n(1 row)\n"
    assert load_plan(psql).root.node_type == load_plan(raw).root.node_type
    wrapped = json.dumps({"QUERY PLAN": json.loads(raw)})
    assert load_plan(wrapped).root.index_name == "orders_pkey"
    bare = json.dumps(json.loads(raw)[0])
    assert load_plan(bare.encode()).execution_ms is not None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("not json", "not EXPLAIN JSON"),
        ("[]", "expected one plan"),
        ('[{"Plan": 1}]', "no 'Plan' object"),
        ('{"Plan": {"Total Cost": 1}}', "missing 'Node Type'"),
        ('{"Plan": {"Node Type": "Seq Scan", "Startup Cost": 0, "Plan Rows": 1}}', "Total Cost"),
        (
            '{"Plan": {"Node Type": "Sort", "Startup Cost": 0, "Total Cost": "x", "Plan Rows": 1}}',
            "'Total Cost' must be a number",
        ),
        (
            '{"Plan": {"Node Type": "Sort", "Startup Cost": 0, "Total Cost": 1, "Plan Rows": 1,'
            ' "Plans": [5]}}',
            "Plans[0]: expected a plan node",
        ),
        (
            '{"Plan": {"Node Type": "Sort", "Startup Cost": 0, "Total Cost": 1, "Plan Rows": 1,'
            ' "Actual Loops": -1}}',
            "must not be negative",
        ),
        ('"a string"', "expected a JSON object"),
    ],
)
def test_foreign_or_corrupt_json_is_a_clear_error(text: str, message: str) -> None:
    with pytest.raises(InvalidInputFile, match=message.replace("[", r"\[").replace("(", r"\(")):
        load_plan(text, source="plan.json")


def test_deep_nesting_is_an_error_not_a_crash() -> None:
    node: dict[str, Any] = {
        "Node Type": "Result",
        "Startup Cost": 0,
        "Total Cost": 0,
        "Plan Rows": 1,
    }
    for _ in range(600):
        node = {
            "Node Type": "Result",
            "Startup Cost": 0,
            "Total Cost": 0,
            "Plan Rows": 1,
            "Plans": [node],
        }
    with pytest.raises(InvalidInputFile, match="nested deeper"):
        parse_plan({"Plan": node})
    with pytest.raises(InvalidInputFile):
        load_plan("[" * 100_000 + "]" * 100_000)


def test_live_sort_spill_and_generic_plan(db: TestDatabase) -> None:
    db.execute(
        "create table big as select g as id, md5(g::text) as note from generate_series(1, 30000) g"
    )
    db.execute("analyze big")
    with connect(db.dsn) as conn:
        conn.execute("set work_mem = '64kB'")
        row = conn.execute(
            "explain (analyze, buffers, format json) select * from big order by note"
        ).fetchone()
        assert row is not None
        plan = parse_plan(row["QUERY PLAN"])
        sort = (
            plan.root
            if plan.root.node_type == "Sort"
            else next(n for n in plan.nodes() if n.node_type == "Sort")
        )
        assert "external" in (sort.text("Sort Method") or "")
        assert "sort-spill" in {f.code for f in plan_findings(plan)}
        if db.major >= 16:
            row = conn.execute(
                "explain (generic_plan, format json) select * from big where id = $1"
            ).fetchone()
            assert row is not None
            generic = parse_plan(row["QUERY PLAN"])
            assert not generic.analyzed and generic.root.relation == "big"
            assert plan_findings(generic) == []


def test_normalized_typed_literals_are_planned(db: TestDatabase) -> None:
    """pg_stat_statements writes interval '1 day' as `interval $1`, which the server's
    parser refuses: explain plans it as a cast, on 18 (GENERIC_PLAN) and 15 (PREPARE)."""
    db.execute("create table events as select g as id, now() as at from generate_series(1, 100) g")
    text = "select id from events where at > now() - interval $1 and at::date <> date $2 limit $3"
    with connect(db.dsn) as conn:
        with pytest.raises(psycopg.errors.SyntaxError):
            conn.execute(f"prepare p as {text}".encode())
        conn.rollback()
        explained = explain(conn, text)
    assert explained.method == ("generic_plan" if db.major >= 16 else "prepared_generic")
    assert "events" in {node.relation for node in explained.plan.nodes()}
