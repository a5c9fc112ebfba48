"""Index definitions as pg_get_indexdef prints them, parsed with pglast."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pgtune_hx.collect.indexdef import parse, tail_of
from pgtune_hx.collect.snapshot import collect_snapshot
from pgtune_hx.db import connect
from tests.helpers.servers import TestDatabase


def test_every_part() -> None:
    shape = parse(
        "CREATE UNIQUE INDEX i ON public.t USING btree "
        '(a text_pattern_ops DESC NULLS LAST, lower(b) COLLATE "C", ((c + 1))) '
        "INCLUDE (d, e) WITH (fillfactor='70', deduplicate_items=off) WHERE (a > 'x'::text)",
        "public.t",
    )
    assert shape.parse_error is None
    assert shape.am == "btree" and shape.unique
    assert shape.columns == ["a", None, None]
    assert shape.expressions == ["lower(b)", "c + 1"]
    assert shape.opclasses == ["text_pattern_ops", None, None]
    assert shape.orderings == ["DESC NULLS LAST", None, None]
    assert shape.collations == [None, "C", None]
    assert shape.include == ["d", "e"]
    assert shape.options == {"fillfactor": "70", "deduplicate_items": "off"}
    assert shape.predicate == "a > CAST('x' AS text)"  # pglast's normal form


def test_same_tail_different_unique_flag() -> None:
    """The cache is keyed by the tail; UNIQUE lives in the head and must not leak."""
    plain = parse("CREATE INDEX a ON s.x USING btree (k)", "s.x")
    unique = parse("CREATE UNIQUE INDEX b ON s.y USING btree (k)", "s.y")
    assert not plain.unique and unique.unique
    assert plain.columns == unique.columns == ["k"]


def test_quoted_table_name_holding_using() -> None:
    table = 'public."odd USING btree (x)"'
    definition = f"CREATE INDEX i ON {table} USING hash (y)"
    assert tail_of(definition, table) == "USING hash (y)"
    assert parse(definition, table).am == "hash"
    assert parse(definition, table).columns == ["y"]


def test_unparsable_text_is_reported_not_raised() -> None:
    shape = parse("CREATE INDEX ON", None)
    assert shape.parse_error is not None
    assert shape.columns == []


@given(st.text(max_size=200))
def test_never_raises(text: str) -> None:
    shape = parse(text, "public.t")
    assert shape.parse_error is not None or shape.am is not None


@pytest.mark.pg(">=15")
def test_parsed_against_the_server(db: TestDatabase) -> None:
    with db.admin() as conn:
        conn.execute("create table docs (id int, body text, tags text[], at timestamptz)")
        conn.execute("create index docs_gin on docs using gin (tags)")
        conn.execute("create index docs_brin on docs using brin (at) with (pages_per_range = 16)")
        conn.execute("create unique index docs_nnd on docs (id) nulls not distinct")
        conn.execute(
            "create index docs_cover on docs (id desc) include (body) where at is not null"
        )
    with connect(db.dsn) as conn:
        snap = collect_snapshot(conn, ["indexes"])
    rows = {r["indexrelname"]: r for r in snap.rows("indexes")}
    assert rows["docs_gin"]["am"] == "gin" and rows["docs_gin"]["columns"] == ["tags"]
    assert rows["docs_brin"]["index_options"] == {"pages_per_range": "16"}
    assert rows["docs_nnd"]["nulls_not_distinct"] is True
    assert rows["docs_nnd"]["indisunique"] is True
    cover = rows["docs_cover"]
    assert cover["columns"] == ["id"] and cover["orderings"] == ["DESC"]
    assert cover["include"] == ["body"]
    assert cover["predicate"] == "at IS NOT NULL"
    assert all(r["parse_error"] is None for r in rows.values())


def test_rebuilt_definitions_match_pg_get_indexdef(db: TestDatabase) -> None:
    """Plain indexes are printed from the catalogs; the text must be pg_get_indexdef's."""
    with db.admin() as conn:
        conn.execute("create schema other")
        conn.execute(
            'create table other."Mixed Case" (id int, "Select" text, v varchar(20), '
            "c char(3), tags int[], n numeric, at timestamptz)"
        )
        statements = [
            'create index plain on other."Mixed Case" (id)',
            'create index multi on other."Mixed Case" (id, "Select" desc)',
            'create index nulls on other."Mixed Case" (id nulls first, n desc nulls last)',
            'create index desc_first on other."Mixed Case" (n desc nulls first)',
            'create index coll on other."Mixed Case" ("Select" collate "C")',
            'create index pattern on other."Mixed Case" ("Select" text_pattern_ops)',
            'create index vpattern on other."Mixed Case" (v varchar_pattern_ops)',
            'create index vdefault on other."Mixed Case" (v)',
            'create index chars on other."Mixed Case" (c)',
            'create index explicit_default on other."Mixed Case" (id int4_ops)',
            'create unique index covering on other."Mixed Case" (id) include ("Select", v)',
            'create index filled on other."Mixed Case" (id) with (fillfactor = 70, '
            "deduplicate_items = off)",
            'create index hashed on other."Mixed Case" using hash (v)',
            'create index arr on other."Mixed Case" using gin (tags)',
            'create index ranges on other."Mixed Case" using brin (at) with (pages_per_range = 8)',
        ]
        if db.major >= 15:
            statements.append(
                'create unique index nnd on other."Mixed Case" (n) nulls not distinct'
            )
        for statement in statements:
            conn.execute(statement.encode())
        expected = {
            r["relname"]: r["def"]
            for r in conn.execute(
                "select c.relname, pg_get_indexdef(c.oid) as def from pg_index x "
                "join pg_class c on c.oid = x.indexrelid where x.indrelid = "
                "'other.\"Mixed Case\"'::regclass"
            ).fetchall()
        }
    with connect(db.dsn) as conn:
        snap = collect_snapshot(conn, ["indexes"])
    rows = {r["indexrelname"]: r for r in snap.rows("indexes")}
    assert set(rows) == set(expected)
    for name, definition in expected.items():
        assert rows[name]["indexdef_source"] == "catalog", name
        assert rows[name]["indexdef"] == definition, name
        assert rows[name]["parse_error"] is None, name
    assert rows["coll"]["collations"] == ["C"]
    assert rows["pattern"]["opclasses"] == ["text_pattern_ops"]
    assert rows["covering"]["include"] == ["Select", "v"]
    assert rows["nulls"]["orderings"] == ["NULLS FIRST", "DESC NULLS LAST"]
