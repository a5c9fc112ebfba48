"""Query facts from SQL text (pglast visitors), including pg_stat_statements' $n text."""

from __future__ import annotations

import pytest

from benchmarks.workload_sql import statements
from pgtune_hx.analyze.query import RelationInfo, extract_facts, extract_many
from pgtune_hx.analyze.query_model import Predicate, QueryFacts
from pgtune_hx.analyze.sql_text import fast_parsing, parse
from pgtune_hx.errors import InvalidSQL, UsageError

CATALOG = {
    ("public", "orders"): RelationInfo(
        "public",
        "orders",
        "table",
        ("id", "customer_id", "status", "created_at", "total", "note", "data", "deleted_at"),
    ),
    ("public", "customers"): RelationInfo(
        "public", "customers", "table", ("id", "email", "region", "deleted_at")
    ),
    ("shop", "orders"): RelationInfo("shop", "orders", "table", ("id", "sku")),
    ("app", "active_customers"): RelationInfo(
        "app",
        "active_customers",
        "view",
        ("id", "mail", "region"),
        "SELECT c.id, lower(c.email) AS mail, c.region FROM public.customers c"
        " WHERE c.deleted_at IS NULL;",
    ),
}


def lookup(schema: str, name: str) -> RelationInfo | None:
    return CATALOG.get((schema, name))


def preds(facts: QueryFacts) -> set[tuple[str, str, str, str, bool]]:
    return {
        (p.table.alias if p.table else "?", p.target.sql, p.operator, p.operand.kind, p.in_or)
        for p in facts.predicates
    }


def only(facts: QueryFacts, target: str) -> Predicate:
    found = [p for p in facts.predicates if p.target.sql == target]
    assert len(found) == 1, facts.predicates
    return found[0]


def test_predicates_with_operators_params_and_or() -> None:
    f = extract_facts(
        "SELECT o.id FROM orders o WHERE o.status = 'failed' AND o.created_at >= $1"
        " AND (o.total > 100 OR o.note LIKE '%refund%') AND o.deleted_at IS NULL"
        " AND NOT (o.customer_id = 7)"
    )
    assert preds(f) == {
        ("o", "status", "=", "const", False),
        ("o", "created_at", ">=", "param", False),
        ("o", "total", ">", "const", True),
        ("o", "note", "LIKE", "const", True),
        ("o", "deleted_at", "IS NULL", "null", False),
        ("o", "customer_id", "=", "const", False),
    }
    assert only(f, "customer_id").negated is True
    assert only(f, "customer_id").kind == "other"
    assert only(f, "status").operand.value == "failed"
    assert only(f, "created_at").operand.param == 1
    assert only(f, "deleted_at").kind == "null"
    assert f.params == 1


def test_pg_stat_statements_text_with_squashed_in_list_and_limit_param() -> None:
    f = extract_facts(
        "SELECT * FROM orders WHERE status IN ($1 /*, ... */) AND customer_id = ANY($2)"
        " ORDER BY created_at DESC LIMIT $3"
    )
    assert only(f, "status").operator == "IN"
    assert only(f, "status").operand.kind == "list"
    assert only(f, "customer_id").operator == "IN"
    assert only(f, "customer_id").operand.kind == "param"
    assert f.limit is not None and f.limit.param == 3
    assert f.params == 3
    assert [t.name for t in f.star] == ["orders"]


def test_commuted_comparison_and_between() -> None:
    f = extract_facts("SELECT 1 FROM orders WHERE $1 < created_at AND total BETWEEN 1 AND 5")
    assert only(f, "created_at").operator == ">"
    between = only(f, "total")
    assert between.operator == "BETWEEN"
    assert [i.value for i in between.operand.items] == [1, 5]


def test_schema_resolution_through_search_path() -> None:
    without_catalog = extract_facts("SELECT 1 FROM orders", search_path=["shop", "public"])
    assert without_catalog.tables[0].schema == "shop"
    with_catalog = extract_facts(
        "SELECT 1 FROM orders", search_path=["app", "public"], lookup=lookup
    )
    assert with_catalog.tables[0].schema == "public"
    qualified = extract_facts("SELECT 1 FROM shop.orders", lookup=lookup)
    assert qualified.tables[0].schema == "shop"
    missing = extract_facts("SELECT 1 FROM nowhere", lookup=lookup)
    assert missing.tables[0].schema is None


def test_unqualified_columns_of_a_join_need_the_catalog() -> None:
    sql = (
        "SELECT email, total FROM orders JOIN customers ON customers.id = customer_id"
        " WHERE region = $1"
    )
    blind = extract_facts(sql)
    assert all(p.table is None for p in blind.predicates if p.target.sql == "region")
    assert not blind.joins
    seen = extract_facts(sql, lookup=lookup)
    assert only(seen, "region").table is not None
    assert only(seen, "region").table.name == "customers"  # type: ignore[union-attr]
    (join,) = seen.joins
    assert {join.left.name, join.right.name} == {"orders", "customers"}
    assert {join.left_column.sql, join.right_column.sql} == {"id", "customer_id"}
    assert seen.unresolved == ()


def test_view_is_expanded_to_base_columns() -> None:
    f = extract_facts(
        "SELECT id FROM active_customers WHERE mail = $1 AND region = 'eu'",
        search_path=["app", "public"],
        lookup=lookup,
    )
    assert [(t.schema, t.name, t.via_view) for t in f.tables] == [
        ("public", "customers", "app.active_customers")
    ]
    assert preds(f) == {
        ("c", "lower(email)", "=", "param", False),
        ("c", "region", "=", "const", False),
        ("c", "deleted_at", "IS NULL", "null", False),
    }
    assert only(f, "lower(email)").target.kind == "lower"


def test_join_keys_from_on_where_using_and_subqueries() -> None:
    f = extract_facts(
        "SELECT o.id FROM orders o JOIN customers c ON c.id = o.customer_id, items i"
        " WHERE i.order_id = o.id AND EXISTS (SELECT 1 FROM refunds r WHERE r.order_id = o.id)"
        " AND o.customer_id IN (SELECT id FROM vip)"
    )
    pairs = {
        (j.left.alias, j.left_column.sql, j.right.alias, j.right_column.sql, j.source)
        for j in f.joins
    }
    assert pairs == {
        ("c", "id", "o", "customer_id", "on"),
        ("i", "order_id", "o", "id", "where"),
        ("r", "order_id", "o", "id", "where"),
        ("o", "customer_id", "vip", "id", "in-subquery"),
    }
    using = extract_facts("SELECT 1 FROM orders JOIN items USING (order_id)")
    assert [(j.left.name, j.right.name, j.source) for j in using.joins] == [
        ("orders", "items", "using")
    ]


def test_cte_and_subselect_columns_map_to_base_columns() -> None:
    f = extract_facts(
        "WITH recent AS (SELECT id, status AS st FROM orders WHERE created_at > now() - '1 day'"
        "::interval) SELECT * FROM recent r JOIN (SELECT id, region FROM customers) c"
        " ON c.id = r.id WHERE r.st = 'new' AND c.region = $1"
    )
    assert ("orders", "status", "=") in {
        (p.table.name, p.target.sql, p.operator) for p in f.predicates if p.table
    }
    assert ("customers", "region", "=") in {
        (p.table.name, p.target.sql, p.operator) for p in f.predicates if p.table
    }
    assert only(f, "created_at").operand.kind == "expr"
    assert [(j.left.name, j.right.name) for j in f.joins] == [("customers", "orders")]


def test_order_by_direction_nulls_alias_and_position() -> None:
    f = extract_facts(
        "SELECT o.created_at AS ts, o.total FROM orders o"
        " ORDER BY ts DESC NULLS LAST, 2, o.id NULLS FIRST LIMIT 10"
    )
    keys = [(s.target.sql if s.target else None, s.descending, s.nulls_first) for s in f.order_by]
    assert keys == [("created_at", True, False), ("total", False, None), ("id", False, True)]
    assert f.order_by[0].is_default_nulls is False
    assert f.order_by[1].is_default_nulls is True
    assert f.limit is not None and f.limit.count == 10


def test_group_by_projected_and_star() -> None:
    f = extract_facts(
        "SELECT c.region, count(*) AS n FROM customers c JOIN orders o ON o.customer_id = c.id"
        " GROUP BY c.region ORDER BY n DESC"
    )
    assert [g.text for g in f.group_by] == ["c.region"]
    assert f.order_by[0].target is None and f.order_by[0].descending
    assert {(u.table.alias, u.column) for u in f.projected} == {("c", "region")}
    star = extract_facts("SELECT o.*, c.email FROM orders o JOIN customers c ON c.id = o.cid")
    assert [t.alias for t in star.star] == ["o"]
    assert star.columns_of(star.tables[0]) is None
    assert star.columns_of(star.tables[1]) == frozenset({"email", "id"})


def test_expressions_on_columns() -> None:
    f = extract_facts(
        "SELECT 1 FROM events e WHERE lower(e.email) = $1 AND e.payload ->> 'kind' = 'click'"
        " AND date_trunc('day', e.ts) = $2 AND e.payload -> 'a' ->> 'b' = $3"
        " AND abs(e.x) > 5 ORDER BY upper(e.name)"
    )
    kinds = {p.target.sql: p.target.kind for p in f.predicates}
    assert kinds == {
        "lower(email)": "lower",
        "payload ->> 'kind'": "json_field",
        "date_trunc('day', ts)": "date_trunc",
        "(payload -> 'a') ->> 'b'": "json_field",
        "abs(x)": "function",
    }
    assert f.order_by[0].target is not None and f.order_by[0].target.sql == "upper(name)"
    assert only(f, "lower(email)").target.key_sql() == "(lower(email))"
    assert {e.sql for _, e in f.expressions} >= {"lower(email)", "upper(name)"}


def test_like_anchoring_jsonb_containment_and_booleans() -> None:
    f = extract_facts(
        "SELECT 1 FROM t WHERE a LIKE 'abc%' AND b LIKE '%abc%' AND c ILIKE $1"
        " AND d NOT LIKE '_x' AND j @> '{\"k\": 1}' AND flag AND NOT archived"
        " AND ok IS TRUE"
    )
    a, b, c = only(f, "a"), only(f, "b"), only(f, "c")
    assert a.like is not None and a.like.anchored is True and a.like.prefix == "abc"
    assert b.like is not None and b.like.anchored is False
    assert c.like is not None and c.like.anchored is None and c.like.case_insensitive
    assert only(f, "d").operator == "NOT LIKE"
    assert only(f, "j").operator == "@>" and only(f, "j").kind == "containment"
    assert (only(f, "flag").operator, only(f, "flag").operand.value) == ("=", True)
    archived = only(f, "archived")
    assert (archived.operator, archived.operand.value, archived.negated) == ("=", False, False)
    assert (only(f, "ok").operator, only(f, "ok").operand.value) == ("=", True)


def test_comparison_nested_in_an_expression_is_no_predicate() -> None:
    f = extract_facts("SELECT 1 FROM t WHERE coalesce(a = 1, true) AND CASE WHEN b > 2 THEN c END")
    assert f.predicates == ()


def test_fingerprint_ignores_constants_only() -> None:
    a = extract_facts("SELECT * FROM orders WHERE id = 1")
    b = extract_facts("SELECT * FROM orders WHERE id = 42")
    c = extract_facts("SELECT * FROM orders WHERE id = $1")
    d = extract_facts("SELECT * FROM orders WHERE customer_id = 1")
    assert a.fingerprint == b.fingerprint == c.fingerprint
    assert a.fingerprint != d.fingerprint


def test_statement_kinds_and_read_only() -> None:
    assert extract_facts("SELECT 1 FROM t").is_read_only
    assert not extract_facts("SELECT 1 FROM t FOR UPDATE").is_read_only
    assert not extract_facts("SELECT * INTO new_t FROM t").is_read_only
    assert not extract_facts("WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d").is_read_only
    upd = extract_facts("UPDATE orders SET status = $1, total = total + 1 WHERE id = $2")
    assert upd.kind == "update" and not upd.is_read_only
    assert {u.column for u in upd.updated_columns} == {"status", "total"}
    assert [t.name for t in upd.written] == ["orders"]
    assert only(upd, "id").operand.param == 2
    ins = extract_facts(
        "INSERT INTO orders (id, status) VALUES ($1, $2)"
        " ON CONFLICT (id) DO UPDATE SET status = excluded.status"
    )
    assert ins.kind == "insert" and {u.column for u in ins.updated_columns} == {"status"}
    assert extract_facts("EXPLAIN SELECT 1 FROM t WHERE a = 1").kind == "select"
    assert extract_facts("VACUUM t").kind == "utility"


def test_invalid_sql_gives_the_position() -> None:
    with pytest.raises(InvalidSQL) as info:
        extract_facts("SELECT *\nFROM orders WHER id = 1")
    message = str(info.value)
    assert "position 27" in message and "line 2, column 18" in message
    assert "near: id = 1" in message
    assert "syntax error" in message
    with pytest.raises(InvalidSQL, match="end of input"):
        extract_facts("SELECT (")
    with pytest.raises(UsageError):
        extract_facts("")
    with pytest.raises(UsageError):
        extract_facts("SELECT 1; SELECT 2")


def test_extract_many_reports_errors_in_place() -> None:
    results = extract_many(["SELECT 1 FROM t WHERE a = $1", "SELEC oops", "UPDATE t SET a = 1"])
    assert isinstance(results[0], QueryFacts)
    assert isinstance(results[1], InvalidSQL)
    assert isinstance(results[2], QueryFacts) and results[2].kind == "update"


def test_fast_parsing_builds_the_same_trees() -> None:
    corpus = [
        *statements(300, seed=7),
        "SELECT a FROM t WHERE b @> '{\"x\": [1, 2.5, true, null]}'::jsonb",
        "SELECT B'1010', 1.5e10, -3, 'it''s', NULL::int, ARRAY[1,2]",
        "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 9)"
        " SELECT * FROM r",
    ]
    for sql in corpus:
        slow = parse(sql)
        with fast_parsing():
            fast = parse(sql)
        assert [s() for s in slow] == [s() for s in fast], sql


def test_recursive_cte_does_not_loop() -> None:
    f = extract_facts(
        "WITH RECURSIVE tree AS (SELECT id, parent_id FROM nodes WHERE id = $1"
        " UNION ALL SELECT n.id, n.parent_id FROM nodes n JOIN tree t ON n.parent_id = t.id)"
        " SELECT * FROM tree"
    )
    assert {t.name for t in f.tables} == {"nodes"}
    assert ("nodes", "id", "=") in {
        (p.table.name, p.target.sql, p.operator) for p in f.predicates if p.table
    }
