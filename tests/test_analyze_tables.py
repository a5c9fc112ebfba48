"""Table rules on real tables, on PostgreSQL 18 and 15."""

from __future__ import annotations

from typing import Any

import psycopg

from pgtune_hx.analyze.findings import Severity
from tests.helpers.analysis import about, changed, run_rule, snapshot, work
from tests.helpers.locks import LockHolder
from tests.helpers.servers import TestDatabase

NO_AUTOVACUUM = "with (autovacuum_enabled = false)"


def _table(db: TestDatabase, options: str = NO_AUTOVACUUM, rows: int = 3000) -> None:
    work(
        db.dsn,
        f"create table t (id int primary key, a int, b int, note text) {options}",
        f"insert into t select g, g % 50, g % 97, 'note ' || g from generate_series(1, {rows}) g",
    )


# -- table.seq_scan_heavy -----------------------------------------------------------


def test_repeated_full_scans_signal_a_missing_index(db: TestDatabase) -> None:
    _table(db, options="")
    work(db.dsn, *["select count(*) from t where b = 5"] * 6)
    found = run_rule(snapshot(db.dsn), "table.seq_scan_heavy", min_table_bytes=0, min_seq_scans=5)
    [finding] = about(found, "public.t")
    assert finding.evidence["seq_scan"] >= 6
    assert finding.evidence["seq_tup_read"] >= 6 * 3000
    assert finding.evidence["idx_tup_fetch"] == 0
    assert finding.fix_kind == "action"
    assert finding.fix is not None and "pgtune-hx advise" in finding.fix


def test_table_read_mostly_through_indexes_is_fine(db: TestDatabase) -> None:
    _table(db, options="")
    work(db.dsn, "create index t_b on t (b)", "analyze t")
    work(db.dsn, *["select count(*) from t where a = 5"] * 6)  # a has no index
    work(db.dsn, *["select sum(id) from t where b < 90"] * 12, enable_seqscan="off")
    snap = snapshot(db.dsn)
    row = next(r for r in snap.rows("tables") if r["relname"] == "t")
    assert row["seq_scan"] >= 6 and row["idx_tup_fetch"] > row["seq_tup_read"]
    assert run_rule(snap, "table.seq_scan_heavy", min_table_bytes=0, min_seq_scans=5) == []


# -- table.dead_tuples ------------------------------------------------------------------


def test_dead_tuples_from_real_updates(db: TestDatabase) -> None:
    _table(db)
    work(db.dsn, "update t set note = note || '!'")
    with LockHolder(db.dsn, "begin isolation level repeatable read", "select count(*) from t") as h:
        found = run_rule(snapshot(db.dsn), "table.dead_tuples", min_dead_tuples=1000)
    [finding] = about(found, "public.t")
    assert finding.evidence["n_dead_tup"] == 3000
    assert finding.evidence["n_live_tup"] == 3000
    assert finding.evidence["dead_ratio"] == 0.5
    assert finding.evidence["autovacuum_enabled"] is False
    # the session holding the oldest snapshot is named: VACUUM could not clean behind it
    assert finding.evidence["oldest_xmin_holder"]["pid"] == h.pid
    assert finding.fix is not None and "VACUUM (VERBOSE, ANALYZE) public.t;" in finding.fix


def test_vacuumed_table_has_no_dead_tuple_finding(db: TestDatabase) -> None:
    _table(db)
    work(db.dsn, "update t set note = note || '!'")
    # a session's own counts reach the shared statistics after its VACUUM report:
    # vacuum from another session, as autovacuum would
    work(db.dsn, "vacuum t")
    assert run_rule(snapshot(db.dsn), "table.dead_tuples", min_dead_tuples=1000) == []


# -- table.autovacuum_lag ----------------------------------------------------------------


def test_autovacuum_disabled_table_past_its_trigger(db: TestDatabase) -> None:
    _table(db)
    work(db.dsn, "analyze t", "update t set note = note || '!'")
    [finding] = about(run_rule(snapshot(db.dsn), "table.autovacuum_lag"), "public.t")
    assert finding.evidence["autovacuum_enabled"] is False
    # trigger = autovacuum_vacuum_threshold 50 + scale factor 0.2 * 3000 rows
    assert finding.evidence["autovacuum_vacuum_trigger"] == 650
    assert finding.evidence["n_dead_tup"] == 3000
    assert "dead tuples past the vacuum trigger" in finding.evidence["reasons"]
    assert finding.fix is not None
    assert finding.fix.startswith("ALTER TABLE public.t SET (autovacuum_enabled = on);")


def test_insert_only_table_past_the_insert_trigger(db: TestDatabase) -> None:
    _table(db)  # 3000 inserts, never vacuumed; insert trigger: 1000 + 0.2 * 0 rows
    [finding] = about(run_rule(snapshot(db.dsn), "table.autovacuum_lag"), "public.t")
    assert finding.evidence["n_ins_since_vacuum"] == 3000
    assert finding.evidence["autovacuum_insert_trigger"] == 1000
    assert finding.evidence["reasons"] == ["inserts past the insert vacuum trigger"]


def test_per_table_settings_are_sized_to_the_table(db: TestDatabase) -> None:
    """A real snapshot whose table row is changed to 50 million rows and 12 GB
    (a test server cannot hold such a table); everything else is as collected."""
    _table(db)
    work(db.dsn, "analyze t", "update t set note = note || '!'")

    def big(row: dict[str, Any]) -> bool:
        return bool(row["relname"] == "t")

    snap = changed(
        snapshot(db.dsn),
        "tables",
        big,
        reltuples=50_000_000,
        n_live_tup=50_000_000,
        n_dead_tup=12_000_000,
        table_bytes=12 * 1024**3,
    )
    [finding] = run_rule(snap, "table.autovacuum_lag")
    assert finding.fix is not None
    first = finding.fix.splitlines()[0]
    assert first == (
        "ALTER TABLE public.t SET (autovacuum_enabled = on, "
        "autovacuum_vacuum_scale_factor = 0.01, autovacuum_vacuum_threshold = 10000, "
        "autovacuum_vacuum_insert_scale_factor = 0.01, "
        "autovacuum_vacuum_insert_threshold = 10000, "
        "autovacuum_analyze_scale_factor = 0.01, autovacuum_analyze_threshold = 10000, "
        "autovacuum_vacuum_cost_limit = 2000);"
    )
    # and it is valid SQL on the server
    with psycopg.connect(db.dsn, autocommit=True) as conn:
        conn.execute(first.encode())
        options = conn.execute("select reloptions from pg_class where relname = 't'").fetchone()
    assert options is not None and "autovacuum_vacuum_scale_factor=0.01" in options[0]


def test_table_under_its_trigger_is_not_behind(db: TestDatabase) -> None:
    _table(db, options="")
    work(db.dsn, "vacuum analyze t", "update t set note = 'x' where id <= 100")
    assert about(run_rule(snapshot(db.dsn), "table.autovacuum_lag"), "public.t") == []


# -- table.stale_stats ------------------------------------------------------------------


def test_never_analyzed_table(db: TestDatabase) -> None:
    _table(db)
    [finding] = about(run_rule(snapshot(db.dsn), "table.stale_stats"), "public.t")
    assert finding.evidence["never_analyzed"] is True
    assert finding.evidence["n_mod_since_analyze"] == 3000
    assert finding.fix is not None and finding.fix.startswith("ANALYZE (VERBOSE) public.t;")


def test_stats_gone_stale_after_changes(db: TestDatabase) -> None:
    _table(db)
    work(db.dsn, "analyze t", "update t set a = a + 1")
    [finding] = about(run_rule(snapshot(db.dsn), "table.stale_stats"), "public.t")
    assert finding.evidence["never_analyzed"] is False
    assert finding.evidence["n_mod_since_analyze"] == 3000
    assert finding.evidence["autovacuum_analyze_trigger"] == 350  # 50 + 0.1 * 3000


def test_freshly_analyzed_table_is_not_stale(db: TestDatabase) -> None:
    _table(db)
    work(db.dsn, "update t set a = a + 1 where id <= 200")
    work(db.dsn, "analyze t")
    assert run_rule(snapshot(db.dsn), "table.stale_stats") == []


# -- table.low_hot_ratio ------------------------------------------------------------------


def test_full_pages_prevent_hot_updates(db: TestDatabase) -> None:
    _table(db)  # fillfactor 100: the pages are full
    work(db.dsn, "update t set note = note || '!'")
    [finding] = about(
        run_rule(snapshot(db.dsn), "table.low_hot_ratio", min_updates=1000), "public.t"
    )
    assert finding.evidence["n_tup_upd"] == 3000
    assert finding.evidence["hot_ratio"] < 0.1
    assert finding.evidence["fillfactor"] == 100
    assert finding.fix is not None
    assert finding.fix.startswith("ALTER TABLE public.t SET (fillfactor = 90);")
    if db.major >= 16:  # n_tup_newpage_upd tells why
        assert finding.evidence["cause"] == "no room on the page"
        assert finding.confidence == "high"
    else:
        assert finding.evidence["n_tup_newpage_upd"] is None
        assert finding.confidence == "medium"


def test_updates_of_an_indexed_column_prevent_hot_updates(db: TestDatabase) -> None:
    _table(db, options="with (autovacuum_enabled = false, fillfactor = 50)")
    work(db.dsn, "create index t_a on t (a)", "update t set a = a + 1")
    [finding] = about(
        run_rule(snapshot(db.dsn), "table.low_hot_ratio", min_updates=1000), "public.t"
    )
    assert finding.evidence["hot_ratio"] == 0.0
    if db.major >= 16:
        assert finding.evidence["cause"] == "updates change indexed columns"
        assert finding.fix_kind == "action"


def test_room_on_the_page_gives_hot_updates(db: TestDatabase) -> None:
    _table(db, options="with (autovacuum_enabled = false, fillfactor = 50)")
    work(db.dsn, "update t set note = note || '!'")
    snap = snapshot(db.dsn)
    row = next(r for r in snap.rows("tables") if r["relname"] == "t")
    assert row["n_tup_hot_upd"] > 0.9 * row["n_tup_upd"]
    assert run_rule(snap, "table.low_hot_ratio", min_updates=1000) == []


# -- table.xid_wraparound, table.mxid_wraparound ------------------------------------------


def _is_t(row: dict[str, Any]) -> bool:
    return bool(row.get("relname") == "t")


def test_xid_age_near_wraparound(db: TestDatabase) -> None:
    """XID age cannot reach a billion on a test server: a real snapshot with the
    table's and the database's xid_age changed; all other figures are real."""
    _table(db)
    snap = snapshot(db.dsn)
    real_age = next(r for r in snap.rows("tables") if _is_t(r))["xid_age"]
    assert 0 < real_age < 10_000_000
    aged = changed(snap, "tables", _is_t, xid_age=1_200_000_000)
    aged = changed(aged, "database", lambda r: r["datname"] == db.name, xid_age=1_700_000_000)
    found = run_rule(aged, "table.xid_wraparound")
    [table] = about(found, "public.t")
    assert table.severity is Severity.warning
    assert table.evidence["xid_age"] == 1_200_000_000
    assert table.evidence["remaining"] == 2**31 - 1_200_000_000
    assert table.fix == "VACUUM (FREEZE, VERBOSE) public.t;"
    [database] = about(found, f"database {db.name}")
    assert database.severity is Severity.critical
    assert found[0] is database  # critical first


def test_real_xid_ages_are_far_from_wraparound(db: TestDatabase) -> None:
    _table(db)
    snap = snapshot(db.dsn)
    assert run_rule(snap, "table.xid_wraparound") == []
    assert run_rule(snap, "table.mxid_wraparound") == []


def test_multixact_age_near_wraparound(db: TestDatabase) -> None:
    """Two sessions share a row lock for real (a multixact); its age is then
    changed in the snapshot to 1.1 billion, which a test server cannot reach."""
    _table(db)
    with (
        LockHolder(db.dsn, "begin", "select * from t where id = 1 for share"),
        LockHolder(db.dsn, "begin", "select * from t where id = 1 for share"),
    ):
        pass
    snap = snapshot(db.dsn)
    aged = changed(snap, "tables", _is_t, mxid_age=1_100_000_000)
    [finding] = about(run_rule(aged, "table.mxid_wraparound"), "public.t")
    assert finding.evidence["mxid_age"] == 1_100_000_000
    assert finding.severity is Severity.warning


# -- table.sequence_near_max -------------------------------------------------------------


def test_integer_sequence_near_its_maximum(db: TestDatabase) -> None:
    work(
        db.dsn,
        "create table orders (id serial primary key, note text)",
        "select setval('orders_id_seq', 2000000000)",
        "create sequence tickets as integer",
        "select setval('tickets', 1700000000)",
    )
    found = run_rule(snapshot(db.dsn), "table.sequence_near_max")
    [orders] = about(found, "public.orders_id_seq")
    assert orders.severity is Severity.critical
    assert orders.evidence["last_value"] == 2_000_000_000
    assert orders.evidence["values_remaining"] == 2_147_483_647 - 2_000_000_000
    assert orders.evidence["owned_by"] == "public.orders.id"
    assert orders.fix is not None
    assert orders.fix.splitlines()[:2] == [
        "ALTER SEQUENCE public.orders_id_seq AS bigint;",
        "ALTER TABLE public.orders ALTER COLUMN id TYPE bigint;  "
        "-- rewrites the table under an ACCESS EXCLUSIVE lock",
    ]
    [tickets] = about(found, "public.tickets")
    assert tickets.severity is Severity.warning


def test_bigint_sequence_behind_an_integer_column(db: TestDatabase) -> None:
    work(
        db.dsn,
        "create table events (id int primary key)",
        "create sequence events_seq as bigint owned by events.id",
        "select setval('events_seq', 2100000000)",
    )
    [finding] = run_rule(snapshot(db.dsn), "table.sequence_near_max")
    assert finding.object == "public.events_seq"
    assert finding.evidence["column_type"] == "integer"
    assert finding.severity is Severity.critical
    assert finding.fix == (
        "ALTER TABLE public.events ALTER COLUMN id TYPE bigint;  "
        "-- rewrites the table under an ACCESS EXCLUSIVE lock"
    )


def test_sequences_with_room_left(db: TestDatabase) -> None:
    work(
        db.dsn,
        "create table orders (id bigserial primary key)",
        "select setval('orders_id_seq', 2100000000)",  # bigint: far from its maximum
        "create sequence fresh as integer",
        "select nextval('fresh')",
    )
    assert run_rule(snapshot(db.dsn), "table.sequence_near_max") == []


# -- table.bloat --------------------------------------------------------------------------


def _holes(db: TestDatabase, *, pgstattuple: bool) -> None:
    """20,000 rows, two of three deleted and vacuumed: the pages stay."""
    if pgstattuple:
        work(db.dsn, "create extension pgstattuple")
    work(
        db.dsn,
        "create table holey (id int primary key, a int, b int, note text)",
        "insert into holey select g, g % 50, g % 97, 'note ' || g from generate_series(1, 20000) g",
        "create table packed as select * from holey",
        "delete from holey where id % 3 <> 0",
    )
    work(db.dsn, "vacuum analyze holey", "vacuum analyze packed")


def test_bloated_table_estimated_from_statistics(db: TestDatabase) -> None:
    _holes(db, pgstattuple=False)
    found = run_rule(snapshot(db.dsn), "table.bloat", min_bloat_bytes=0)
    [finding] = found  # not packed
    assert finding.object == "public.holey"
    assert finding.evidence["method"] == "estimate"
    assert finding.confidence == "medium"
    pages = db.execute("select relpages from pg_class where relname = 'holey'")[0]["relpages"]
    assert finding.evidence["relpages"] == pages
    # a third of the rows is left: about two thirds of the pages are not needed
    assert 0.55 <= finding.evidence["bloat_ratio"] <= 0.75
    assert finding.fix is not None
    assert finding.fix.endswith("VACUUM (FULL, VERBOSE, ANALYZE) public.holey;")


def test_bloated_table_measured_with_pgstattuple(db: TestDatabase) -> None:
    _holes(db, pgstattuple=True)
    [finding] = run_rule(snapshot(db.dsn), "table.bloat", min_bloat_bytes=0)
    assert finding.evidence["method"] == "pgstattuple"
    assert finding.confidence == "high"
    measured = db.execute("select approx_free_percent from pgstattuple_approx('holey')")
    assert finding.evidence["approx_free_percent"] == measured[0]["approx_free_percent"]
    assert 0.55 <= finding.evidence["bloat_ratio"] <= 0.75


def test_packed_table_is_not_bloated(db: TestDatabase) -> None:
    _holes(db, pgstattuple=False)
    work(db.dsn, "vacuum full holey")
    work(db.dsn, "analyze holey")
    assert run_rule(snapshot(db.dsn), "table.bloat", min_bloat_bytes=0) == []
