"""Snapshot speed on a large schema, against psql dumping the same raw views.

Builds (once; reused while its shape matches) a database with 10,000 tables,
20,000 indexes (primary key + one secondary each) and 5,000 distinct statements
in pg_stat_statements on a throwaway embedded server, then in one run measures,
alternately and ``--runs`` times:

- snapshot: connect + ``collect_snapshot()`` (every section), as the library
  and ``pgtune-hx snapshot`` do it; writing the file is timed apart (save_s);
- raw dump: ``psql -X -A -t -o /dev/null`` selecting * from every view the
  snapshot reads (pg_indexes standing for the index definitions); for
  reference also the same dump without pg_indexes (informational, no target).

Writes benchmarks/results/collect.json with "summary" (medians, ratio, sizes)
and "target" (<= 2 s and <= 1.5 x the raw dump, and whether each was met).

    .venv/bin/python benchmarks/bench_collect.py [--tables 10000] [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
from _common import machine, quick_results, results_dir

from pgtune_hx.collect import save
from pgtune_hx.collect.snapshot import collect_snapshot
from pgtune_hx.db import connect
from pgtune_hx.embedded import EmbeddedServer

DBNAME = "bench_collect"
TARGET_SECONDS = 2.0
TARGET_RATIO = 1.5

RAW_VIEWS = [
    "pg_stat_activity",
    "pg_locks",
    "pg_prepared_xacts",
    "pg_stat_database",
    "pg_stat_user_tables",
    "pg_statio_user_tables",
    "pg_stat_user_indexes",
    "pg_statio_user_indexes",
    "pg_indexes",
    "pg_stat_statements",
    "pg_stat_statements_info",
    "pg_settings",
    "pg_file_settings",
    "pg_stat_bgwriter",
    "pg_stat_checkpointer",
    "pg_stat_wal",
    "pg_stat_io",
    "pg_stat_archiver",
    "pg_stat_replication",
    "pg_replication_slots",
    "pg_sequences",
    "pg_extension",
]


def build(server: EmbeddedServer, tables: int, statements: int) -> dict[str, int]:
    """Create the schema and the statements unless they are already there."""
    admin = server.dsn("postgres")
    with psycopg.connect(admin, autocommit=True) as conn:
        exists = conn.execute("select 1 from pg_database where datname = %s", [DBNAME]).fetchone()
        if exists is None:
            conn.execute(f"create database {DBNAME}")
    dsn = server.dsn(DBNAME)
    with psycopg.connect(dsn, autocommit=True) as conn:
        have = conn.execute("select count(*) from pg_stat_user_tables").fetchone()
        if have is None or have[0] != tables:
            conn.execute("drop schema public cascade")
            conn.execute("create schema public")
            started = time.perf_counter()
            # COMMIT every 500 tables: one transaction would need 40,000 locks
            # no bind parameters here (DO takes none): the count is an int we made
            conn.execute(
                f"""
                do $$
                begin
                  for i in 1..{int(tables)} loop
                    execute format('create table t%s (id int primary key, a int, b text)', i);
                    execute format('create index t%s_a on t%s (a)', i, i);
                    execute format('insert into t%s select g, mod(g, 7), ''x'' '
                                   'from generate_series(1, 3) g', i);
                    if mod(i, 500) = 0 then commit; end if;
                  end loop;
                end $$
                """.encode()
            )
            print(f"built {tables} tables in {time.perf_counter() - started:.1f} s", flush=True)
        conn.execute("create extension if not exists pg_stat_statements")
        count = conn.execute(
            "select count(*) from pg_stat_statements s join pg_database d on d.oid = s.dbid "
            "where d.datname = %s and s.query like 'select a, b from t%%'",
            [DBNAME],
        ).fetchone()
        if count is None or count[0] < statements:
            script = Path(tempfile.mkstemp(suffix=".sql")[1])
            script.write_text(
                "".join(
                    f"select a, b from t{i} where id = {i % 3};\n"  # noqa: S608 - ints we made
                    for i in range(1, statements + 1)
                )
            )
            script.chmod(0o644)
            started = time.perf_counter()
            psql(server, dsn, "-f", str(script))
            script.unlink()
            print(f"ran {statements} statements in {time.perf_counter() - started:.1f} s")
        shape = conn.execute(
            """
            select (select count(*) from pg_stat_user_tables) as tables,
                   (select count(*) from pg_stat_user_indexes) as indexes,
                   (select count(*) from pg_stat_statements) as statements,
                   (select count(*) from pg_class) as relations
            """
        ).fetchone()
    assert shape is not None
    return {"tables": shape[0], "indexes": shape[1], "statements": shape[2], "relations": shape[3]}


def psql(server: EmbeddedServer, dsn: str, *args: str) -> float:
    started = time.perf_counter()
    subprocess.run(
        [str(server.bin("psql")), "-X", "-q", "-A", "-t", "-o", "/dev/null", "-d", dsn, *args],
        check=True,
        env={k: v for k, v in os.environ.items() if not k.startswith("PG")},
    )
    return time.perf_counter() - started


def raw_dump(server: EmbeddedServer, dsn: str, views: list[str] = RAW_VIEWS) -> float:
    query = "".join(f"select * from {view};\n" for view in views)  # noqa: S608 - constants
    return psql(server, dsn, "-c", query)


# the same dump without pg_indexes: the index definitions are most of its cost
# (pg_get_indexdef per index), and the snapshot rebuilds most of them from catalogs
WITHOUT_INDEXDEF = [v for v in RAW_VIEWS if v != "pg_indexes"]


def snapshot_once(dsn: str, out: Path) -> dict[str, Any]:
    started = time.perf_counter()
    with connect(dsn) as conn:
        snap = collect_snapshot(conn)
    collected = time.perf_counter()
    save(snap, out)
    saved = time.perf_counter()
    return {
        "snapshot_s": collected - started,
        "save_s": saved - collected,
        "file_bytes": out.stat().st_size,
        "errors": snap.errors(),
        "sections_ms": {n: round(s.elapsed_ms, 1) for n, s in snap.sections.items()},
        "rows": {n: len(s.rows) for n, s in snap.sections.items()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tables", type=int, default=10_000)
    parser.add_argument("--statements", type=int, default=5_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--base-dir", type=Path, default=Path("/tmp/pgtune_hx-bench-collect"))
    parser.add_argument("--keep", action="store_true", help="leave the server running")
    parser.add_argument("--output", type=Path, help="default: results/collect.json")
    parser.add_argument("--quick", action="store_true", help="1,000 tables, 500 statements, 2 runs")
    args = parser.parse_args()
    if args.quick:
        quick_results()
        args.tables, args.statements, args.runs = 1_000, 500, 2
        # its own server: rebuilding the full-size database takes minutes
        args.base_dir = args.base_dir.with_name(args.base_dir.name + "-quick")

    args.base_dir.mkdir(parents=True, exist_ok=True)
    args.base_dir.chmod(0o755)
    server = EmbeddedServer(args.base_dir)
    server.start()
    load_before = os.getloadavg()
    try:
        shape = build(server, args.tables, args.statements)
        dsn = server.dsn(DBNAME)
        snapshot_once(dsn, args.base_dir / "warmup.json.gz")  # warm caches for both sides
        raw_dump(server, dsn)
        dumps, snaps, lean = [], [], []
        for run in range(args.runs):
            dumps.append(raw_dump(server, dsn))
            lean.append(raw_dump(server, dsn, WITHOUT_INDEXDEF))
            snaps.append(snapshot_once(dsn, args.base_dir / f"run{run}.json.gz"))
            print(
                f"run {run + 1}: raw dump {dumps[-1]:.3f} s, "
                f"snapshot {snaps[-1]['snapshot_s']:.3f} s (+ save {snaps[-1]['save_s']:.3f} s)",
                flush=True,
            )
    finally:
        if not args.keep:
            server.stop()

    snapshot_s = statistics.median(s["snapshot_s"] for s in snaps)
    dump_s = statistics.median(dumps)
    ratio = snapshot_s / dump_s
    summary = {
        "snapshot_s": round(snapshot_s, 3),
        "raw_dump_s": round(dump_s, 3),
        "ratio": round(ratio, 3),
        "save_s": round(statistics.median(s["save_s"] for s in snaps), 3),
        "file_bytes": snaps[-1]["file_bytes"],
        "runs": args.runs,
    }
    # the 2 s target is for 10,000 tables; a smaller catalog scales it down
    limit = TARGET_SECONDS * min(1.0, args.tables / 10_000)
    target = {"snapshot_s": {"max": limit}, "ratio": {"max": TARGET_RATIO}}
    result = {
        "name": "collect",
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "summary": summary,
        "target": target,
        "target_met": {
            "snapshot_s": snapshot_s <= limit,
            "ratio": ratio <= TARGET_RATIO,
        },
        "snapshot_runs_s": [round(s["snapshot_s"], 3) for s in snaps],
        "raw_dump_runs_s": [round(d, 3) for d in dumps],
        "raw_dump_without_pg_indexes_s": round(statistics.median(lean), 3),
        "ratio_to_dump_without_pg_indexes": round(snapshot_s / statistics.median(lean), 3),
        "database": shape,
        "section_errors": snaps[-1]["errors"],
        "sections_ms": snaps[-1]["sections_ms"],
        "rows": snaps[-1]["rows"],
        "server_version": server.binaries.version(),
        "machine": machine(
            load_before,
            note="timings are medians of alternating runs, so both sides of the "
            "ratio saw the same conditions",
        ),
    }
    print(json.dumps({"summary": summary, "target_met": result["target_met"]}, indent=2))
    expected = {"io"} if server.binaries.major() < 16 else set()
    if set(snaps[-1]["errors"]) - expected:
        raise SystemExit(f"sections failed, result not written: {snaps[-1]['errors']}")
    output = args.output or results_dir() / "collect.json"
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
