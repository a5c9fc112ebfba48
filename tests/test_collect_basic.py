"""tables, indexes, statements and settings against real objects."""

from __future__ import annotations

from pgtune_hx.collect.snapshot import collect_snapshot
from pgtune_hx.db import connect
from tests.helpers.servers import TestDatabase
from tests.helpers.stats import flush


def _setup(db: TestDatabase) -> None:
    with db.admin() as conn:
        conn.execute(
            "create table orders (id int primary key, customer int, note text, amount numeric)"
        )
        conn.execute("create index orders_customer_idx on orders (customer)")
        conn.execute("create index orders_note_lower on orders (lower(note)) where amount > 0")
        conn.execute(
            "insert into orders select g, g % 10, 'n' || g, g from generate_series(1, 2000) g"
        )
        conn.execute("update orders set amount = amount + 1 where id <= 500")
        for _ in range(3):
            conn.execute("select count(*) from orders where id = %s", [7])
        flush(conn)


def test_tables_indexes_statements_settings(db: TestDatabase) -> None:
    _setup(db)
    with connect(db.dsn) as conn:
        snap = collect_snapshot(conn)

    tables = {r["relname"]: r for r in snap.rows("tables")}
    orders = tables["orders"]
    assert orders["n_tup_ins"] == 2000
    assert orders["n_tup_upd"] == 500
    assert orders["n_dead_tup"] == 500  # the updates left the old versions behind
    assert orders["size_source"] == "exact"
    assert orders["total_bytes"] == (
        orders["table_bytes"] + orders["index_bytes"] + orders["toast_bytes"]
    )
    assert orders["table_bytes"] >= 8192
    assert orders["xid_age"] >= 1

    indexes = {r["indexrelname"]: r for r in snap.rows("indexes")}
    assert indexes["orders_customer_idx"]["idx_scan"] == 0  # never used
    assert indexes["orders_pkey"]["idx_scan"] >= 1 or tables["orders"]["seq_scan"] >= 3
    assert indexes["orders_pkey"]["constraint_type"] == "primary key"
    assert indexes["orders_customer_idx"]["columns"] == ["customer"]
    partial = indexes["orders_note_lower"]
    assert partial["columns"] == [None]
    assert partial["expressions"] == ["lower(note)"]
    # printed by pglast in normal form (comparable with other pglast-printed SQL)
    assert partial["predicate"] == "amount > CAST(0 AS numeric)"

    mine = [r for r in snap.rows("statements") if r["datname"] == db.name]
    counted = [r for r in mine if "count(*) from orders" in r["query"]]
    assert counted
    assert counted[0]["calls"] == 3

    settings = {r["name"]: r for r in snap.rows("settings")}
    assert settings["shared_preload_libraries"]["setting"].startswith("pg_stat_statements")
    assert snap.server["server_version_num"] // 10000 == db.major
    expected = {} if db.major >= 16 else {"io": "pg_stat_io needs PostgreSQL 16+, server is 15"}
    assert snap.errors() == expected


def test_partitions_name_their_parent_and_reloptions_show(db: TestDatabase) -> None:
    with db.admin() as conn:
        conn.execute("create table events (id int, at date) partition by range (at)")
        conn.execute(
            "create table events_2026 partition of events "
            "for values from ('2026-01-01') to ('2027-01-01')"
        )
        conn.execute(
            "alter table events_2026 set (autovacuum_vacuum_scale_factor = 0.01, fillfactor = 90)"
        )
    with connect(db.dsn) as conn:
        snap = collect_snapshot(conn, ["tables"])
    tables = {r["relname"]: r for r in snap.rows("tables")}
    assert tables["events"]["relkind"] == "p"
    assert tables["events"]["xid_age"] is None  # a partitioned table has no storage
    assert tables["events_2026"]["relispartition"] is True
    assert tables["events_2026"]["parent"] == "public.events"
    assert tables["events_2026"]["reloptions"] == [
        "autovacuum_vacuum_scale_factor=0.01",
        "fillfactor=90",
    ]
    frame = snap.frame("tables")
    assert set(frame["relname"]) == {"events", "events_2026"}
