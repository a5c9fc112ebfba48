"""table_bloat and index_bloat sections: estimates from pg_stats, pgstattuple measurements,
and no waiting on locked relations."""

from __future__ import annotations

from tests.helpers.analysis import snapshot, work
from tests.helpers.locks import LockHolder
from tests.helpers.servers import TestDatabase


def _tables(db: TestDatabase) -> None:
    work(
        db.dsn,
        "create extension pgstattuple",
        "create table holey (id int primary key, a int, note text)",
        "insert into holey select g, g, 'note ' || g from generate_series(1, 20000) g",
        "create table packed as select * from holey",
        "create index packed_expr on packed (lower(note))",
        "delete from holey where id % 3 <> 0",
    )
    work(db.dsn, "vacuum analyze holey", "vacuum analyze packed")


def test_estimates_and_measurements(db: TestDatabase) -> None:
    _tables(db)
    snap = snapshot(db.dsn)
    assert snap.errors().keys().isdisjoint({"table_bloat", "index_bloat"})
    tables = {r["relname"]: r for r in snap.rows("table_bloat")}
    packed = tables["packed"]
    assert packed["stats_columns"] == packed["columns"] == 3
    assert packed["bloat_ratio"] < 0.05  # estimated or measured, it is packed
    # the estimate of a freshly written table is close to its real size
    assert abs(packed["expected_pages"] - packed["relpages"]) <= 0.06 * packed["relpages"]
    holey = tables["holey"]
    assert holey["method"] == "pgstattuple"
    assert holey["expected_pages"] < 0.45 * holey["relpages"]  # a third of the rows is left
    assert 0.55 <= holey["bloat_ratio"] <= 0.75
    assert holey["approx_free_percent"] > 50
    indexes = {r["indexrelname"]: r for r in snap.rows("index_bloat")}
    assert indexes["holey_pkey"]["method"] == "pgstattuple"
    assert indexes["holey_pkey"]["avg_leaf_density"] < 50
    assert indexes["packed_expr"]["expected_pages"] is None  # no statistics for expressions


def test_locked_relations_are_estimated_not_measured(db: TestDatabase) -> None:
    _tables(db)
    with LockHolder(db.dsn, "lock table holey in access exclusive mode"):
        snap = snapshot(db.dsn)
    # not even tried: a try would have hit lock_timeout and left a note
    assert not any("holey" in note for note in snap.section("table_bloat").skipped)
    holey = next(r for r in snap.rows("table_bloat") if r["relname"] == "holey")
    assert holey["method"] == "estimate"
    assert holey["bloat_ratio"] > 0.5
    assert (
        next(r for r in snap.rows("index_bloat") if r["indexrelname"] == "holey_pkey")["method"]
        == "estimate"
    )
