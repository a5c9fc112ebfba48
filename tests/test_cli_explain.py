"""`pgtune-hx explain` against real servers: generic plans, guarded ANALYZE, plan files."""

from __future__ import annotations

from pathlib import Path

import pytest

from pgtune_hx.errors import InvalidInputFile, InvalidSQL, UsageError, WriteNotAllowed
from tests.helpers.cli import invoke
from tests.helpers.servers import TestDatabase

FIXTURES = Path(__file__).parent / "fixtures" / "plans"


@pytest.fixture
def orders(db: TestDatabase) -> TestDatabase:
    db.execute(
        "create table orders as select g as id, g % 500 as customer_id, md5(g::text) as note"
        " from generate_series(1, 20000) g"
    )
    db.execute("create index orders_customer on orders (customer_id)")
    db.execute("analyze orders")
    return db


def test_normalized_statement_gets_a_generic_plan(orders: TestDatabase) -> None:
    result = invoke(
        "explain",
        "--dsn",
        orders.dsn,
        "--format",
        "json",
        "SELECT id FROM orders WHERE customer_id = $1 ORDER BY id LIMIT $2",
    )
    assert result.code == 0, result.stderr
    payload = result.json()
    expected = "generic_plan" if orders.major >= 16 else "prepared_generic"
    assert payload["method"] == expected
    assert payload["plan"]["analyzed"] is False
    labels = []
    stack = [payload["plan"]["root"]]
    while stack:
        node = stack.pop()
        labels.append(node["label"])
        stack.extend(node["children"])
    assert any("orders" in label for label in labels)


def test_analyze_select_runs_read_only(orders: TestDatabase) -> None:
    result = invoke(
        "explain",
        "--dsn",
        orders.dsn,
        "--analyze",
        "-f",
        "json",
        "SELECT count(*) FROM orders WHERE note LIKE 'ab%'",
    )
    assert result.code == 0, result.stderr
    payload = result.json()
    assert payload["method"] == "analyze"
    assert payload["plan"]["analyzed"] is True
    assert payload["plan"]["execution_ms"] > 0
    text = invoke("explain", "--dsn", orders.dsn, "--analyze", "SELECT * FROM orders WHERE id = 7")
    assert text.code == 0 and "EXPLAIN ANALYZE" in text.stdout and "actual" in text.stdout


def test_analyze_of_a_write_needs_the_flag_and_is_rolled_back(orders: TestDatabase) -> None:
    sql = "UPDATE orders SET note = 'changed' WHERE customer_id = 3"
    refused = invoke("explain", "--dsn", orders.dsn, "--analyze", sql)
    assert refused.code == WriteNotAllowed.exit_code
    assert "--allow-writes" in refused.error_line
    done = invoke("explain", "--dsn", orders.dsn, "--analyze", "--allow-writes", "-f", "json", sql)
    assert done.code == 0, done.stderr
    assert done.json()["method"] == "analyze_rolled_back"
    assert done.json()["plan"]["root"]["actual_rows"] == 0
    (row,) = orders.execute("select count(*) as n from orders where note = 'changed'")
    assert row["n"] == 0
    locking = invoke("explain", "--dsn", orders.dsn, "--analyze", "SELECT * FROM orders FOR UPDATE")
    assert locking.code == WriteNotAllowed.exit_code


def test_analyze_refuses_open_parameters(orders: TestDatabase) -> None:
    result = invoke(
        "explain", "--dsn", orders.dsn, "--analyze", "SELECT * FROM orders WHERE id = $1"
    )
    assert result.code == UsageError.exit_code
    assert "$n parameter" in result.error_line


def test_invalid_sql_reports_the_position(orders: TestDatabase) -> None:
    result = invoke("explain", "--dsn", orders.dsn, "SELECT * FROM orders WHERE id = = 1")
    assert result.code == InvalidSQL.exit_code
    assert "position 33" in result.error_line


def test_plan_file_and_stdin(tmp_path: Path) -> None:
    result = invoke("explain", "--plan-file", str(FIXTURES / "pg18_sort_spill.json"), "-f", "json")
    assert result.code == 0, result.stderr
    assert "sort-spill" in {f["code"] for f in result.json()["findings"]}
    text = invoke("explain", "--plan-file", str(FIXTURES / "pg18_sort_spill.json"))
    assert "sort-spill" in text.stdout and "Sort" in text.stdout
    bad = tmp_path / "plan.json"
    bad.write_text('{"Plan": {"Node Type": 3}}')
    corrupt = invoke("explain", "--plan-file", str(bad))
    assert corrupt.code == InvalidInputFile.exit_code
    assert "Node Type" in corrupt.error_line
    missing = invoke("explain", "--plan-file", str(tmp_path / "nope.json"))
    assert missing.code == InvalidInputFile.exit_code
    both = invoke("explain", "SELECT 1", "--plan-file", str(bad))
    assert both.code == UsageError.exit_code


def test_statement_from_stdin(orders: TestDatabase) -> None:
    result = invoke(
        "explain",
        "--dsn",
        orders.dsn,
        "-f",
        "json",
        "-",
        stdin="SELECT * FROM orders WHERE id = 1;\n",
    )
    assert result.code == 0, result.stderr
    assert result.json()["method"] == "plain"
