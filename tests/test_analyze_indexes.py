"""Index rules on real indexes, on PostgreSQL 18 and 15."""

from __future__ import annotations

import psycopg
import pytest

from pgtune_hx.analyze.findings import Severity
from tests.helpers.analysis import about, run_rule, snapshot, work
from tests.helpers.servers import TestDatabase

TABLE = (
    "create table t (id int primary key, a int, b int, c text);"
    "insert into t select g, g % 50, g % 97, 'v' || g from generate_series(1, 3000) g;"
)


def _pg_size(db: TestDatabase, index: str) -> int:
    return int(db.execute("select pg_relation_size(%s::regclass) as s", [index])[0]["s"])


# -- index.unused ---------------------------------------------------------------------


def test_unused_index_is_reported_with_its_real_size(db: TestDatabase) -> None:
    work(db.dsn, TABLE, "create index t_b on t (b)", "create unique index t_c_key on t (c)")
    found = run_rule(snapshot(db.dsn), "index.unused", min_size_bytes=0)
    [finding] = about(found, "public.t_b")
    assert finding.severity is Severity.warning
    assert finding.evidence["idx_scan"] == 0
    assert finding.evidence["size_bytes"] == _pg_size(db, "t_b")
    assert finding.evidence["table"] == "public.t"
    assert "standbys" in finding.evidence["scope"]
    assert finding.evidence["standbys_connected"] == 0
    assert finding.fix == "DROP INDEX CONCURRENTLY public.t_b;"
    # constraint-backed and unique indexes enforce something: never "unused"
    assert not about(found, "public.t_pkey")
    assert not about(found, "public.t_c_key")


def test_scanned_index_is_not_unused(db: TestDatabase) -> None:
    work(db.dsn, TABLE, "create index t_b on t (b)", "analyze t")
    work(db.dsn, "select * from t where b = 5", "select * from t where b = 6", enable_seqscan="off")
    snap = snapshot(db.dsn)
    assert not about(run_rule(snap, "index.unused", min_size_bytes=0), "public.t_b")
    # and an unused index under the size threshold is not worth a finding either
    work(db.dsn, "create index t_a on t (a)")
    assert not about(run_rule(snapshot(db.dsn), "index.unused"), "public.t_a")


def test_unused_after_a_recent_stats_reset_is_only_informational(db: TestDatabase) -> None:
    work(db.dsn, TABLE, "create index t_b on t (b)", "select pg_stat_reset()")
    [finding] = about(run_rule(snapshot(db.dsn), "index.unused", min_size_bytes=0), "public.t_b")
    assert finding.severity is Severity.info
    assert finding.confidence == "low"
    assert finding.evidence["stats_reset"] is not None
    assert finding.evidence["stats_age"].endswith("s")


def test_quoted_names_in_the_fix(db: TestDatabase) -> None:
    work(
        db.dsn,
        'create schema "Sales"; create table "Sales"."Order Lines" (id int, "user" int);'
        'insert into "Sales"."Order Lines" select g, g from generate_series(1, 2000) g;'
        'create index "By User" on "Sales"."Order Lines" ("user")',
    )
    [finding] = run_rule(snapshot(db.dsn), "index.unused", min_size_bytes=0)
    assert finding.object == '"Sales"."By User"'
    assert finding.fix == 'DROP INDEX CONCURRENTLY "Sales"."By User";'
    # the fix is valid SQL for this very index
    with psycopg.connect(db.dsn, autocommit=True) as conn:
        conn.execute(finding.fix.encode())
        assert conn.execute('select to_regclass(\'"Sales"."By User"\')').fetchone() == (None,)


# -- index.duplicate ---------------------------------------------------------------------


def test_duplicate_indexes_are_found_by_their_parsed_definition(db: TestDatabase) -> None:
    work(
        db.dsn,
        TABLE,
        "create index t_b1 on t (b)",
        "create index t_b2 on t using btree (b asc)",  # same index, spelled differently
        "create index t_lc1 on t (lower(c))",
        "create index t_lc2 on t (lower((c)))",
        "create unique index t_id_again on t (id)",  # duplicates the primary key
    )
    found = run_rule(snapshot(db.dsn), "index.duplicate")
    [b2] = about(found, "public.t_b2")
    assert b2.evidence["duplicate_of"] == "public.t_b1"
    assert b2.evidence["size_bytes"] == _pg_size(db, "t_b2")
    assert b2.fix == "DROP INDEX CONCURRENTLY public.t_b2;"
    [lc2] = about(found, "public.t_lc2")
    assert lc2.evidence["duplicate_of"] == "public.t_lc1"
    [again] = about(found, "public.t_id_again")
    assert again.evidence["duplicate_of"] == "public.t_pkey"  # the constraint is kept
    assert {f.object for f in found} == {"public.t_b2", "public.t_lc2", "public.t_id_again"}


def test_similar_but_different_indexes_are_not_duplicates(db: TestDatabase) -> None:
    work(
        db.dsn,
        TABLE,
        "create index t_b on t (b)",
        "create index t_b_desc on t (b desc)",
        "create index t_b_partial on t (b) where b > 10",
        "create index t_b_hash on t using hash (b)",
        "create index t_b_incl on t (b) include (a)",
        "create index t_lower on t (lower(c))",
        "create index t_upper on t (upper(c))",
        'create index t_c_collate on t (c collate "C")',
        "create index t_c on t (c)",
        "create unique index t_b_a_key on t (b, a)",
        "create index t_b_a on t (b, a)",  # the unique one is not a duplicate of this
    )
    found = run_rule(snapshot(db.dsn), "index.duplicate")
    # only the plain (b, a) duplicates the unique (b, a): it is the one to drop
    assert [f.object for f in found] == ["public.t_b_a"]
    assert found[0].evidence["duplicate_of"] == "public.t_b_a_key"


# -- index.redundant -----------------------------------------------------------------------


def test_prefix_index_is_redundant(db: TestDatabase) -> None:
    work(
        db.dsn,
        TABLE,
        "create index t_a on t (a)",
        "create index t_a_b on t (a, b)",
        "create index t_c on t (c)",
        "create index t_c_incl on t (c) include (a, b)",
    )
    found = run_rule(snapshot(db.dsn), "index.redundant")
    [a] = about(found, "public.t_a")
    assert a.evidence["covered_by"] == "public.t_a_b"
    assert a.severity is Severity.info
    [c] = about(found, "public.t_c")
    assert c.evidence["covered_by"] == "public.t_c_incl"
    assert len(found) == 2


def test_non_prefix_and_constraint_indexes_are_not_redundant(db: TestDatabase) -> None:
    work(
        db.dsn,
        TABLE,
        "create index t_a_b on t (a, b)",
        "create index t_b on t (b)",  # not a leading prefix
        "create unique index t_a_key on t (a, id)",
        "create index t_a_id_b on t (a, id, b)",  # t_a_key enforces uniqueness: kept
        "create index t_a_part on t (a) where b > 0",  # other predicate
        "create index t_a_hash on t using hash (a)",  # other access method
        "create index t_a_desc on t (a desc)",  # other ordering
    )
    assert run_rule(snapshot(db.dsn), "index.redundant") == []


# -- index.invalid ---------------------------------------------------------------------


def test_failed_concurrent_build_leaves_an_invalid_index(db: TestDatabase) -> None:
    work(db.dsn, TABLE)
    with (
        psycopg.connect(db.dsn, autocommit=True) as conn,
        pytest.raises(psycopg.errors.UniqueViolation),
    ):
        conn.execute("create unique index concurrently t_a_unique on t (a)")  # a repeats
    [finding] = run_rule(snapshot(db.dsn), "index.invalid")
    assert finding.object == "public.t_a_unique"
    assert finding.evidence["indisvalid"] is False
    ready = db.execute("select indisready from pg_index where indexrelid = 't_a_unique'::regclass")
    # the build failed in its first phase: not yet maintained by writes
    assert finding.evidence["maintained_on_writes"] is ready[0]["indisready"] is False
    assert finding.fix is not None
    assert finding.fix.startswith("REINDEX INDEX CONCURRENTLY public.t_a_unique;")


def test_valid_indexes_are_not_invalid(db: TestDatabase) -> None:
    work(db.dsn, TABLE, "create index concurrently t_a on t (a)")
    assert run_rule(snapshot(db.dsn), "index.invalid") == []


# -- index.write_cost -------------------------------------------------------------------


def _write_heavy(db: TestDatabase, scans: int) -> None:
    work(
        db.dsn,
        "create table w (id int primary key, a int, b int)",
        "create index w_b on w (b)",
        *[
            f"insert into w select g, g, g from generate_series({i + 1}, {i + 1000}) g"
            for i in range(0, 6000, 1000)
        ],
        "delete from w where id <= 1000",
        "analyze w",
    )
    work(db.dsn, *["select * from w where b = 4242"] * scans, enable_seqscan="off")


def test_rarely_scanned_index_on_write_heavy_table(db: TestDatabase) -> None:
    _write_heavy(db, scans=2)
    found = run_rule(
        snapshot(db.dsn), "index.write_cost", min_table_writes=5000, min_writes_per_scan=1000
    )
    [finding] = about(found, "public.w_b")
    assert finding.evidence["index_writes"] == 7000  # 6000 inserts + 1000 deletes
    assert finding.evidence["idx_scan"] == 2
    assert finding.evidence["writes_per_scan"] == 3500.0
    assert not about(found, "public.w_pkey")  # constraint indexes are not candidates


def test_often_scanned_index_is_worth_its_writes(db: TestDatabase) -> None:
    _write_heavy(db, scans=20)
    found = run_rule(
        snapshot(db.dsn), "index.write_cost", min_table_writes=5000, min_writes_per_scan=1000
    )
    assert found == []


# -- index.bloat --------------------------------------------------------------------------


def _sparse_index(db: TestDatabase, *, pgstattuple: bool) -> None:
    if pgstattuple:
        work(db.dsn, "create extension pgstattuple")
    work(
        db.dsn,
        "create table h (id int primary key, a int)",
        "insert into h select g, g from generate_series(1, 20000) g",
        "delete from h where id % 4 <> 0",
    )
    work(db.dsn, "vacuum analyze h")


def test_index_left_sparse_by_deletes(db: TestDatabase) -> None:
    _sparse_index(db, pgstattuple=False)
    [finding] = run_rule(snapshot(db.dsn), "index.bloat", min_bloat_bytes=0)
    assert finding.object == "public.h_pkey"
    assert finding.evidence["method"] == "estimate"
    assert finding.evidence["table"] == "public.h"
    assert finding.evidence["bloat_ratio"] >= 0.6  # three quarters of the entries are gone
    assert finding.fix == "REINDEX INDEX CONCURRENTLY public.h_pkey;"


def test_index_bloat_measured_with_pgstatindex(db: TestDatabase) -> None:
    _sparse_index(db, pgstattuple=True)
    [finding] = run_rule(snapshot(db.dsn), "index.bloat", min_bloat_bytes=0)
    assert finding.evidence["method"] == "pgstattuple"
    density = db.execute("select avg_leaf_density from pgstatindex('h_pkey')")[0]
    assert finding.evidence["avg_leaf_density"] == density["avg_leaf_density"]
    assert finding.evidence["bloat_ratio"] == round(1 - density["avg_leaf_density"] / 90, 4)


def test_rebuilt_index_is_not_bloated(db: TestDatabase) -> None:
    _sparse_index(db, pgstattuple=True)
    work(db.dsn, "reindex index h_pkey")
    assert run_rule(snapshot(db.dsn), "index.bloat", min_bloat_bytes=0) == []
