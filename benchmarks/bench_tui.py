"""Client CPU of one monitor refresh with 200 sessions connected.

On a throwaway embedded server (max_connections 300) this opens 200 sessions
with psycopg: idle ones, idle in transaction, active ones (a pg_sleep sent
without waiting for it) and lock waiters behind one holder, so the refresh
sees a realistic mix and a lock tree. Then it measures, many times:

- headless: one refresh as the monitor's worker thread does it, for the
  Activity/Overview/Locks screens (core sections + pg_locks) and for the
  Statements screen (+ pg_stat_statements): LiveCollector.collect + the
  RefreshModel update, CPU from time.process_time() around each refresh;
- app: the Textual app itself, headless (Pilot), on the Activity screen with
  all 200 sessions drawn, refreshing every 0.25 s: the worker's CPU per refresh
  (time.thread_time), the main thread's CPU to draw it, and the whole process's
  CPU (resource.getrusage, every thread, rendering and timers included) divided
  by the number of refreshes.

Target: at most 100 ms of client CPU per refresh (p95). Writes
benchmarks/results/tui.json. The machine may be shared: the result records the
CPU count and load average, since wall times move with neighbours.

    .venv/bin/python benchmarks/bench_tui.py [--sessions 200] [--iterations 200]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import resource
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from pgtune_hx.db import Guard, connect
from pgtune_hx.embedded import EmbeddedServer
from pgtune_hx.tui.app import MonitorApp
from pgtune_hx.tui.live import (
    CORE_SECTIONS,
    LOCK_SECTIONS,
    STATEMENT_SECTIONS,
    LiveCollector,
    LiveConfig,
)
from pgtune_hx.tui.model import RefreshModel
from pgtune_hx.tui.widgets import RowTable

RESULTS = Path(__file__).parent / "results" / "tui.json"
TARGET_MS = 100.0
DBNAME = "bench_tui"
OPERATORS = ("=", "<", ">", "<=", ">=", "<>")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def summary(values: list[float]) -> dict[str, float]:
    return {
        "n": len(values),
        "p50": round(statistics.median(values), 3),
        "p95": round(percentile(values, 0.95), 3),
        "max": round(max(values), 3),
        "mean": round(statistics.fmean(values), 3),
    }


def process_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def setup(server: EmbeddedServer, statements: int) -> str:
    with psycopg.connect(server.dsn("postgres"), autocommit=True) as conn:
        conn.execute(f"drop database if exists {DBNAME} with (force)")
        conn.execute(f"create database {DBNAME}")
    dsn = server.dsn(DBNAME)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("create extension pg_stat_statements")
        conn.execute("create table t (id int primary key, v int)")
        conn.execute("insert into t select g, g from generate_series(1, 1000) g")
        # distinct statements (constants are normalized away, so the shape differs),
        # for the Statements screen to rank a real list
        for i in range(statements):
            columns = sql.SQL(", ").join([sql.Identifier("v")] * (i % 50 + 1))
            operator = sql.SQL(OPERATORS[(i // 50) % len(OPERATORS)])
            order = sql.SQL("order by id" if (i // 300) % 2 else "")
            query = sql.SQL("select {} from t where id {} %s {}").format(columns, operator, order)
            conn.execute(query, [i % 1000 + 1])
    return dsn


def open_sessions(dsn: str, count: int) -> tuple[list[psycopg.Connection[Any]], dict[str, int]]:
    """Idle, idle in transaction, active and lock-waiting sessions."""
    sessions: list[psycopg.Connection[Any]] = []
    mix = {"idle": 0, "idle in transaction": 0, "active": 0, "waiting": 0}
    holder = psycopg.connect(dsn, application_name="bench-holder")
    holder.execute("update t set v = 0 where id = 1")  # open transaction holding a row lock
    sessions.append(holder)
    mix["idle in transaction"] += 1
    for i in range(count - 1):
        conn = psycopg.connect(dsn, autocommit=True, application_name=f"bench-{i % 10}")
        sessions.append(conn)
        kind = i % 10
        if kind < 6:
            mix["idle"] += 1
        elif kind < 7:
            conn.execute("begin")
            conn.execute("select 1")
            mix["idle in transaction"] += 1
        elif kind < 9:
            # sent, not awaited: the backend stays active without a Python thread
            conn.pgconn.send_query(b"select pg_sleep(3600)")
            mix["active"] += 1
        else:
            conn.pgconn.send_query(b"update t set v = v + 1 where id = 1")
            mix["waiting"] += 1
    return sessions, mix


def close_sessions(sessions: list[psycopg.Connection[Any]]) -> None:
    for conn in sessions:
        with contextlib.suppress(Exception):  # best effort at teardown
            conn.pgconn.finish()


def headless(dsn: str, sections: frozenset[str], iterations: int) -> dict[str, Any]:
    cpu: list[float] = []
    wall: list[float] = []
    rows = 0
    with connect(dsn, Guard()) as conn:
        collector = LiveCollector(conn)
        model = RefreshModel()
        for _ in range(3):  # warm caches (query texts, plans)
            model.update(collector.collect(sections))
        for _ in range(iterations):
            c0, w0 = time.process_time(), time.perf_counter()
            view = model.update(collector.collect(sections))
            cpu.append((time.process_time() - c0) * 1000.0)
            wall.append((time.perf_counter() - w0) * 1000.0)
            rows = len(view.sessions)
            time.sleep(0.01)
    return {
        "sections": sorted(sections),
        "sessions_seen": rows,
        "cpu_ms": summary(cpu),
        "wall_ms": summary(wall),
    }


async def app_run(dsn: str, refreshes: int) -> dict[str, Any]:
    app = MonitorApp(live=LiveConfig(dsn, Guard()), refresh_s=0.25, start="activity")
    async with app.run_test(size=(200, 60)) as pilot:
        while len(app.refresh_costs) < 5:
            await pilot.pause(0.05)
        app.refresh_costs.clear()
        cpu0, wall0 = process_cpu(), time.perf_counter()
        while len(app.refresh_costs) < refreshes:
            await pilot.pause(0.5)  # the benchmark's own polling stays out of the figures
        cpu1, wall1 = process_cpu(), time.perf_counter()
        costs = list(app.refresh_costs)
        drawn = app.screen.query_one("#sessions", RowTable).row_count
    done = len(costs)
    return {
        "refreshes": done,
        "rows_drawn": drawn,
        "collect_cpu_ms": summary([c[0] for c in costs]),
        "collect_wall_ms": summary([c[1] for c in costs]),
        "draw_cpu_ms": summary([c[2] for c in costs]),
        "collect_plus_draw_cpu_ms": summary([c[0] + c[2] for c in costs]),
        "process_cpu_ms_per_refresh": round((cpu1 - cpu0) * 1000.0 / done, 3),
        "measured_interval_s": round((wall1 - wall0) / done, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sessions", type=int, default=200)
    parser.add_argument("--iterations", type=int, default=200)
    parser.add_argument("--statements", type=int, default=500)
    parser.add_argument("--app-refreshes", type=int, default=100)
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="pgtune_hx-bench-tui-"))
    base.chmod(0o755)
    server = EmbeddedServer(base)
    load_before = os.getloadavg()
    server.start()
    sessions: list[psycopg.Connection[Any]] = []
    try:
        dsn = setup(server, args.statements)
        sessions, mix = open_sessions(dsn, args.sessions)
        time.sleep(0.5)
        results: dict[str, Any] = {
            "benchmark": "tui refresh client CPU",
            "sessions": args.sessions,
            "session_mix": mix,
            "server_version": server.binaries.major(),
            "machine": {
                "cpus": os.cpu_count(),
                "python": platform.python_version(),
                "loadavg_before": [round(x, 2) for x in load_before],
                "note": "shared machine (2 cores, several jobs): wall times vary with load",
            },
            "headless": {
                "activity_locks_overview": headless(
                    dsn, CORE_SECTIONS | LOCK_SECTIONS, args.iterations
                ),
                "statements": headless(dsn, CORE_SECTIONS | STATEMENT_SECTIONS, args.iterations),
            },
            "app": asyncio.run(app_run(dsn, args.app_refreshes)),
        }
        results["machine"]["loadavg_after"] = [round(x, 2) for x in os.getloadavg()]
        worst = max(
            results["headless"]["activity_locks_overview"]["cpu_ms"]["p95"],
            results["headless"]["statements"]["cpu_ms"]["p95"],
            results["app"]["collect_plus_draw_cpu_ms"]["p95"],
        )
        results["target"] = {
            "client_cpu_ms_per_refresh_max": TARGET_MS,
            "worst_p95_ms": worst,
            "process_cpu_ms_per_refresh": results["app"]["process_cpu_ms_per_refresh"],
            "met": worst <= TARGET_MS and results["app"]["process_cpu_ms_per_refresh"] <= TARGET_MS,
        }
    finally:
        close_sessions(sessions)
        server.stop(mode="immediate")
        shutil.rmtree(base, ignore_errors=True)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
