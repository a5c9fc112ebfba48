"""`pgtune-hx advise` over pg_stat_statements and files: weights, write cost, HOT, --apply."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import psycopg
import pytest

from pgtune_hx.errors import InvalidInputFile, InvalidSQL, UsageError
from tests.helpers.cli import invoke
from tests.helpers.locks import LockHolder
from tests.helpers.servers import TestDatabase

REQUIRED_FIELDS = {
    "table",
    "create_sql",
    "columns",
    "method",
    "verified_by",
    "cost_before",
    "cost_after",
    "queries",
}


def load_events(db: TestDatabase, rows: int = 40_000) -> None:
    db.execute(
        "create table events (id int primary key, account_id int not null, kind text not null,"
        " created_at timestamptz not null, payload text not null)"
    )
    db.execute(
        "insert into events select g, g %% 4000, (array['view','click','buy'])[g %% 3 + 1],"
        " '2024-01-01'::timestamptz + g * interval '1 minute', md5(g::text)"
        " from generate_series(1, %s) g",
        (rows,),
    )
    db.execute("vacuum analyze events")


def reset_stats(db: TestDatabase) -> None:
    db.execute("select pg_stat_statements_reset()")
    db.execute("select pg_stat_reset()")


def repeat(db: TestDatabase, sql: str, params: list[tuple[Any, ...]]) -> None:
    with db.admin() as conn:
        for p in params:
            conn.execute(sql.encode(), p)


def advise_json(*args: str) -> dict[str, Any]:
    result = invoke("advise", *args, "--format", "json")
    assert result.code == 0, result.stderr
    payload: dict[str, Any] = result.json()
    return payload


def test_statements_workload_with_documented_fields(db: TestDatabase) -> None:
    load_events(db)
    reset_stats(db)
    repeat(
        db,
        "select id, created_at from events where account_id = %s order by created_at desc limit 5",
        [(i,) for i in range(30)],
    )
    repeat(db, "select count(*) from events where account_id = %s", [(i,) for i in range(30)])
    payload = advise_json("--dsn", db.dsn, "--statements")
    assert payload["method"] in ("estimate", "hypopg")
    suggestions = payload["suggestions"]
    assert suggestions, payload["rejected"]
    first = suggestions[0]
    assert set(first) >= REQUIRED_FIELDS
    assert first["table"] == "public.events"
    assert first["columns"][0] == "account_id"
    assert first["create_sql"].startswith("CREATE INDEX CONCURRENTLY ")
    assert first["cost_after"] < first["cost_before"]
    texts = [q["query"] for s in suggestions for q in s["queries"]]
    assert any("account_id = $1" in t for t in texts), texts
    assert all(q["id"].startswith("queryid ") for s in suggestions for q in s["queries"])
    assert all(q["weight_ms"] > 0 for s in suggestions for q in s["queries"])
    # the advisor's own catalog and EXPLAIN statements are not advised for
    assert not [q for q in payload["queries"] if "pg_catalog" in q["query"]]


def test_write_cost_outweighs_a_small_gain(db: TestDatabase) -> None:
    load_events(db, 30_000)
    reset_stats(db)
    repeat(db, "select id from events where kind = 'buy' and account_id = %s", [(1,), (2,)])
    before = advise_json("--dsn", db.dsn, "--statements")
    assert [s["table"] for s in before["suggestions"]] == ["public.events"]
    db.execute(
        "insert into events select g, g % 4000, 'view', now(), 'x'"
        " from generate_series(30001, 230000) g"
    )
    after = advise_json("--dsn", db.dsn, "--statements")
    assert after["suggestions"] == []
    codes = {r["code"] for r in after["rejected"]}
    assert "write-cost" in codes, after["rejected"]


def test_hot_updated_columns_need_a_decisive_gain(db: TestDatabase) -> None:
    db.execute(
        "create table accounts (id int primary key, balance int not null,"
        " last_seen timestamptz not null, note text) with (fillfactor = 70)"
    )
    db.execute(
        "insert into accounts select g, g % 100, '2024-01-01'::timestamptz + g * interval '1 s',"
        " md5(g::text) from generate_series(1, 30000) g"
    )
    db.execute("vacuum analyze accounts")
    reset_stats(db)
    repeat(
        db,
        "update accounts set last_seen = last_seen + interval '1 day' where id = %s",
        [(i * 37 % 30000 + 1,) for i in range(600)],
    )
    (row,) = db.execute("select n_tup_hot_upd from pg_stat_user_tables where relname = 'accounts'")
    assert row["n_tup_hot_upd"] > 300  # HOT today
    repeat(
        db,
        "select id from accounts where last_seen between %s and %s",
        [("2024-01-01 01:00", "2024-01-01 01:05")] * 3,
    )
    rare = advise_json("--dsn", db.dsn, "--statements")
    assert [s for s in rare["suggestions"] if "last_seen" in s["columns"]] == []
    hot = [r for r in rare["rejected"] if r["code"] == "hot-updates"]
    assert hot and "HOT" in hot[0]["reason"]
    repeat(
        db,
        "select id from accounts where last_seen between %s and %s",
        [("2024-01-01 01:00", "2024-01-01 01:05")] * 400,
    )
    busy = advise_json("--dsn", db.dsn, "--statements")
    assert [s["columns"][0] for s in busy["suggestions"]] == ["last_seen"], busy["rejected"]
    assert any("HOT" in n for n in busy["suggestions"][0]["notes"])


def test_file_workload_with_weights(db18: TestDatabase, tmp_path: Path) -> None:
    db = db18
    load_events(db, 30_000)
    sql_file = tmp_path / "workload.sql"
    sql_file.write_text(
        "-- weight: 900\nselect * from events where account_id = $1;\n"
        "-- weight: 5\nselect * from events where created_at > now();\n"
        "vacuum events;\n"
    )
    payload = advise_json("--dsn", db.dsn, "--file", str(sql_file))
    weights = {q["query"]: q["weight_ms"] for q in payload["queries"]}
    assert weights["select * from events where account_id = $1"] == 900
    assert any("account_id" in s["columns"] for s in payload["suggestions"])
    json_file = tmp_path / "workload.json"
    json_file.write_text(
        json.dumps(
            {
                "window_s": 3600,
                "queries": [
                    {"query": "select * from events where kind = 'buy'", "calls": 10, "mean_ms": 3}
                ],
            }
        )
    )
    low = advise_json("--dsn", db.dsn, "--file", str(json_file))
    assert low["suggestions"] == []
    assert {r["code"] for r in low["rejected"]} == {"low-cardinality"}


def test_cli_errors_are_one_line(db: TestDatabase, tmp_path: Path) -> None:
    bad = invoke("advise", "--dsn", db.dsn, "--query", "select * from where")
    assert bad.code == InvalidSQL.exit_code and "position" in bad.error_line
    both = invoke("advise", "--dsn", db.dsn, "--query", "select 1", "--statements")
    assert both.code == UsageError.exit_code
    missing = invoke("advise", "--dsn", db.dsn, "--file", str(tmp_path / "none.sql"))
    assert missing.code == InvalidInputFile.exit_code
    broken = tmp_path / "w.json"
    broken.write_text("{not json")
    corrupt = invoke("advise", "--dsn", db.dsn, "--file", str(broken))
    assert corrupt.code == InvalidInputFile.exit_code and "not JSON" in corrupt.error_line
    utility = invoke("advise", "--dsn", db.dsn, "--query", "vacuum")
    assert utility.code == UsageError.exit_code
    size = invoke(
        "advise", "--dsn", db.dsn, "--query", "select 1 from pg_class", "--max-size", "lots"
    )
    assert size.code == UsageError.exit_code


def test_text_output_names_the_method_and_the_statements(db: TestDatabase) -> None:
    load_events(db, 30_000)
    result = invoke(
        "advise", "--dsn", db.dsn, "--query", "select * from events where account_id = $1"
    )
    assert result.code == 0, result.stderr
    assert "CREATE INDEX CONCURRENTLY events_account_id_idx ON public.events" in result.stdout
    assert "estimated from pg_stats (unverified)" in result.stdout  # no HypoPG here
    assert "speeds up q1" in result.stdout


def _index_state(db: TestDatabase, name: str) -> list[dict[str, Any]]:
    return db.execute(
        "select i.indisvalid from pg_index i join pg_class c on c.oid = i.indexrelid"
        " where c.relname = %s",
        (name,),
    )


def test_apply_creates_the_indexes_concurrently(db18: TestDatabase) -> None:
    db = db18
    load_events(db, 30_000)
    payload = advise_json(
        "--dsn", db.dsn, "--query", "select * from events where account_id = $1", "--apply"
    )
    (applied,) = payload["applied"]
    assert applied["ok"] is True and applied["error"] is None
    assert applied["name"] == payload["suggestions"][0]["name"]
    assert _index_state(db, applied["name"]) == [{"indisvalid": True}]
    again = advise_json("--dsn", db.dsn, "--query", "select * from events where account_id = $1")
    assert again["suggestions"] == []  # served now


def test_apply_failure_drops_the_invalid_leftover(db18: TestDatabase) -> None:
    db = db18
    load_events(db, 30_000)
    query = "select * from events where account_id = $1"
    name = advise_json("--dsn", db.dsn, "--query", query)["suggestions"][0]["name"]
    # an open transaction that wrote to the table: CREATE INDEX CONCURRENTLY has
    # made its catalog entry, then waits for it and hits lock_timeout; the holder
    # ends a second later, so the retried DROP INDEX CONCURRENTLY gets through
    holder = LockHolder(db.dsn, "insert into events values (-1, 1, 'view', now(), 'x')")
    with holder:
        threading.Timer(1.0, holder.__exit__, (None, None, None)).start()
        result = invoke(
            "--lock-timeout",
            "300",
            "advise",
            "--dsn",
            db.dsn,
            "--query",
            query,
            "--apply",
            "-f",
            "json",
        )
    assert result.code == 0, result.stderr
    (applied,) = result.json()["applied"]
    assert applied["ok"] is False
    assert "lock timeout" in applied["error"]
    assert applied["dropped_invalid"] is True
    assert _index_state(db, name) == []


def test_hypopg_is_used_when_installed(db: TestDatabase) -> None:
    with db.admin() as conn:
        row = conn.execute("select 1 from pg_available_extensions where name = 'hypopg'").fetchone()
        if row is None:
            pytest.skip(f"HypoPG is not available on {db.target.name}")
        conn.execute("create extension hypopg")
    load_events(db, 30_000)
    payload = advise_json("--dsn", db.dsn, "--query", "select * from events where account_id = $1")
    assert payload["method"] == "hypopg"
    assert payload["suggestions"][0]["verified_by"] == "hypopg"
    with psycopg.connect(db.dsn) as conn:
        left = conn.execute("select count(*) from hypopg_list_indexes").fetchone()
        assert left == (0,)  # per session anyway, and reset by the advisor


def test_statement_over_a_view_indexes_its_base_table(db18: TestDatabase) -> None:
    db = db18
    load_events(db, 30_000)
    db.execute(
        "create view purchases as select id, account_id, created_at from events where kind = 'buy'"
    )
    payload = advise_json(
        "--dsn", db.dsn, "--query", "select * from purchases where account_id = $1"
    )
    (first, *_) = payload["suggestions"]
    assert first["table"] == "public.events"
    assert first["columns"][0] == "account_id"
