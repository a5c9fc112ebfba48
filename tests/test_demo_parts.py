"""The demo's pieces without a server: scale, SQL files, workload plan."""

from __future__ import annotations

import re

import pytest
from pglast import parse_sql

from pgtune_hx.demo.blocks import load_blocks, parse_blocks
from pgtune_hx.demo.schema import Scale
from pgtune_hx.demo.workload import HELD_KEY_ID, REVOKED_EVERY, WEIGHTS, plan_workload


def test_scale_follows_rows_and_refuses_tiny() -> None:
    small, big = Scale.for_rows(20_000), Scale.for_rows(1_000_000)
    assert big.keys == 50 * small.keys
    assert big.chunks <= 4000  # vectors stay modest at any size
    with pytest.raises(ValueError, match="at least"):
        Scale.for_rows(999)


@pytest.mark.parametrize("name", ["schema.sql", "problems.sql", "workload.sql"])
def test_package_sql_parses(name: str) -> None:
    blocks = load_blocks(name)
    assert blocks
    for block in blocks:
        for statement in block.statements():
            # psycopg placeholders become literals; %% is a literal %
            text = re.sub(r"%\(\w+\)s", "1", statement).replace("%%", "%")
            assert parse_sql(text), f"{name}: {block.name}"


def test_blocks_tags_and_duplicates() -> None:
    blocks = parse_blocks("-- step: a [vector]\nselect 1;\n-- step: b [no-vector]\nselect 2;\n")
    assert [b.name for b in blocks if b.applies({"vector"})] == ["a"]
    assert [b.name for b in blocks if b.applies(set())] == ["b"]
    with pytest.raises(ValueError, match="duplicate"):
        parse_blocks("-- query: x\nselect 1;\n-- query: x\nselect 2;\n")


def test_every_weighted_statement_exists() -> None:
    assert set(WEIGHTS) == {b.name for b in load_blocks("workload.sql")}


def test_plan_is_reproducible_and_spares_the_held_row() -> None:
    scale = Scale.for_rows(50_000)
    plan = plan_workload(scale, 2000, {"vector"}, seed=3)
    assert plan == plan_workload(scale, 2000, {"vector"}, seed=3)
    assert plan != plan_workload(scale, 2000, {"vector"}, seed=4)
    assert HELD_KEY_ID % REVOKED_EVERY == 0
    charged = [op for op in plan if op.query in ("gateway.charge_budget", "gateway.log_usage")]
    assert charged and all(op.params["key_id"] % REVOKED_EVERY for op in charged)
    # without pgvector the retrieval statement is left out, the rest stays
    assert {op.query for op in plan_workload(scale, 2000, set())} == set(WEIGHTS) - {
        "rag.nearest_chunks"
    }
