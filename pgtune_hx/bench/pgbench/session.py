"""One benchmark from start to finish: check, prepare, run (A/B), restore, record.

Order matters for the user's safety and time: every input is checked before
the server is touched (scripts, settings files against pg_settings), the data
is prepared next (database, pgbench tables, workload setup, a one-transaction
probe of each custom script), and only then do measured runs start. With two
configurations the server is restarted before every run, A's and B's alike, so
that both start from the same state; the settings are put back (and the
server restarted once more) whatever happens, Ctrl-C included.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import pglast
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

import pgtune_hx
from pgtune_hx.bench.pgbench import compare as comparison
from pgtune_hx.bench.pgbench.compare import PlannedRun, plan_runs
from pgtune_hx.bench.pgbench.parse import ProgressLine
from pgtune_hx.bench.pgbench.results import RESULTS_FORMAT, host_info
from pgtune_hx.bench.pgbench.runner import Pgbench, PgbenchRunner, RunSpec
from pgtune_hx.bench.pgbench.scripts import ScriptSpec, check_script_file
from pgtune_hx.bench.pgbench.settings import (
    PgSetting,
    SettingsFile,
    SystemSettings,
    fetch_catalog,
    in_force,
    validate,
)
from pgtune_hx.bench.target import BenchTarget
from pgtune_hx.db import Guard, connect, translated
from pgtune_hx.db.connect import Connection
from pgtune_hx.db.redact import display_dsn
from pgtune_hx.embedded import EmbeddedServer
from pgtune_hx.errors import InsufficientPrivilege, PgtuneError, ServerError, UsageError

log = logging.getLogger(__name__)

DEFAULT_DATABASE = "pgtune_hx_bench"
CURRENT = "current"  # label of the only configuration when not comparing
SETUP_TIMEOUT_MS = 600_000


class Observer(Protocol):
    """What a front end learns while a benchmark runs (all calls on the caller's thread)."""

    def message(self, text: str) -> None: ...

    def run_started(self, planned: PlannedRun, total: int, duration_s: int) -> None: ...

    def progress(self, line: ProgressLine) -> None: ...

    def run_finished(self, planned: PlannedRun, run: Mapping[str, Any]) -> None: ...


class QuietObserver:
    def message(self, text: str) -> None:
        pass

    def run_started(self, planned: PlannedRun, total: int, duration_s: int) -> None:
        pass

    def progress(self, line: ProgressLine) -> None:
        pass

    def run_finished(self, planned: PlannedRun, run: Mapping[str, Any]) -> None:
        pass


@dataclass(frozen=True)
class BenchOptions:
    scripts: tuple[ScriptSpec, ...]
    scale: int = 1
    clients: tuple[int, ...] = (1,)
    duration_s: int = 30
    runs: int = 3
    max_tries: int = 3
    database: str = DEFAULT_DATABASE
    configs: tuple[SettingsFile, SettingsFile] | None = None
    reinit: bool = False
    warmup_s: int = 0
    keep_logs: Path | None = None
    pgbench_path: Path | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)

    def labels(self) -> list[str]:
        return ["A", "B"] if self.configs else [CURRENT]


def with_dbname(dsn: str, dbname: str) -> str:
    params = {k: v for k, v in conninfo_to_dict(dsn).items() if v is not None}
    params["dbname"] = dbname
    return make_conninfo("", **params)


def _writable(dsn: str, timeout_ms: int = 60_000) -> Connection:
    return connect(dsn, Guard(read_only=False, statement_timeout_ms=timeout_ms))


# -- preparing the data -------------------------------------------------------------


def ensure_database(admin_dsn: str, name: str) -> bool:
    """Create the benchmark database when missing; True when it was created."""
    with _writable(admin_dsn) as conn, translated(f"creating database {name}"):
        exists = conn.execute("select 1 from pg_database where datname = %s", (name,)).fetchone()
        if exists:
            return False
        conn.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
    return True


def pgbench_tables_at_scale(dsn: str, scale: int) -> bool:
    """The four pgbench tables exist and hold exactly `scale` worth of rows."""
    with connect(dsn) as conn, translated("checking the pgbench tables"):
        row = conn.execute(
            "select to_regclass('pgbench_accounts') is not null"
            " and to_regclass('pgbench_branches') is not null"
            " and to_regclass('pgbench_tellers') is not null"
            " and to_regclass('pgbench_history') is not null as present"
        ).fetchone()
        if not row or not row["present"]:
            return False
        counts = conn.execute(
            "select (select count(*) from pgbench_branches) as branches,"
            " (select count(*) from pgbench_tellers) as tellers,"
            " (select max(aid) from pgbench_accounts) as max_aid"
        ).fetchone()
    assert counts is not None
    return bool(
        counts["branches"] == scale
        and counts["tellers"] == 10 * scale
        and counts["max_aid"] == 100_000 * scale
    )


def apply_setup(dsn: str, path: Path, scale: int) -> float:
    """Run a workload's setup SQL; pgtune_hx.scale holds --scale for it to size data."""
    started = time.monotonic()
    # one statement at a time: autocommit each, so VACUUM and CREATE INDEX
    # CONCURRENTLY work, and an error names its statement
    statements = pglast.split(path.read_text(encoding="utf-8"))
    with _writable(dsn, SETUP_TIMEOUT_MS) as conn:
        conn.execute("select set_config('pgtune_hx.scale', %s, false)", (str(scale),))
        for number, statement in enumerate(statements, 1):
            with translated(f"setup {path.name}, statement {number}"):
                conn.execute(str(statement).encode())
    return time.monotonic() - started


def _checkpoint(dsn: str) -> bool:
    """Best effort: flush dirty pages so a checkpoint does not land inside the run."""
    try:
        with _writable(dsn, 300_000) as conn, translated("checkpoint"):
            conn.execute("checkpoint")
    except InsufficientPrivilege:
        return False
    return True


# -- settings in force ---------------------------------------------------------------


def settings_snapshot(dsn: str) -> dict[str, dict[str, Any]]:
    """Every setting not at its built-in default, as the server sees it."""
    with connect(dsn) as conn, translated("reading settings in force"):
        rows = conn.execute(
            "select name, setting, unit, source from pg_settings"
            " where source not in ('default', 'override', 'client', 'session')"
            " order by name"
        ).fetchall()
    return {
        r["name"]: {"setting": r["setting"], "unit": r["unit"], "source": r["source"]} for r in rows
    }


def postmaster_start_time(dsn: str) -> str:
    with connect(dsn) as conn, translated("reading the postmaster start time"):
        row = conn.execute("select pg_postmaster_start_time()::text as t").fetchone()
    return str(row["t"]) if row else ""


def verify_in_force(
    dsn: str, wanted: Mapping[str, str], catalog: Mapping[str, PgSetting]
) -> list[str]:
    """ServerError when a numeric/bool/enum setting did not take; notes for strings."""
    if not wanted:
        return []
    with connect(dsn) as conn, translated("checking settings in force"):
        rows = conn.execute(
            "select lower(name) as name, setting, pending_restart from pg_settings"
            " where lower(name) = any(%s)",
            (list(wanted),),
        ).fetchall()
    live = {r["name"]: r for r in rows}
    problems: list[str] = []
    notes: list[str] = []
    for name, value in wanted.items():
        row = live.get(name)
        setting = catalog[name]
        if row is None:
            problems.append(f"{name} is not visible in pg_settings")
        elif not in_force(value, setting, str(row["setting"])) or row["pending_restart"]:
            message = f"{name} is {row['setting']} after the restart, not {value}"
            (notes if setting.vartype == "string" else problems).append(message)
    if problems:
        raise ServerError(
            "settings did not take effect: " + "; ".join(problems),
            hint="is a value set on the command line or in another file that wins?",
        )
    return notes


@contextlib.contextmanager
def shielded() -> Iterator[None]:
    """Hold Ctrl-C while settings are put back; deliver it afterwards."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda signum, _frame: received.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if received:
        raise KeyboardInterrupt


def put_back(system: SystemSettings, server: EmbeddedServer) -> None:
    """Restore the settings and restart; when the server is down (a configuration
    kept it from starting), rewrite postgresql.auto.conf and start it."""
    try:
        if server.status().running:
            system.restore()
            server.restart()
            return
    except PgtuneError as exc:
        log.warning("restoring settings online failed (%s); rewriting postgresql.auto.conf", exc)
    server.stop()
    system.restore_offline(server.data_dir / "postgresql.auto.conf")
    server.start()


# -- the benchmark ----------------------------------------------------------------------


@dataclass
class _Prepared:
    pgbench: Pgbench
    runner: PgbenchRunner
    bench_dsn: str
    catalog: dict[str, PgSetting]
    workload: dict[str, Any]


def check_inputs(
    target: BenchTarget, options: BenchOptions
) -> tuple[Pgbench, dict[str, PgSetting]]:
    """Everything that can be wrong with the inputs, before anything is written."""
    if not options.scripts:
        raise UsageError("no script: give --builtin or --script")
    pgbench = Pgbench.locate(target, options.pgbench_path)
    for script in options.scripts:
        if script.path is not None:
            check_script_file(script.path, pgbench_major=pgbench.major)
    if options.max_tries != 1 and not pgbench.has_retries:
        raise UsageError(
            f"--max-tries {options.max_tries} needs pgbench 15 or newer, "
            f"this one is {pgbench.version} (use --max-tries 1)"
        )
    catalog: dict[str, PgSetting] = {}
    if options.configs:
        if not target.is_embedded:
            raise UsageError(
                "--compare applies settings with ALTER SYSTEM and restarts the server between "
                "runs; it works only on the embedded server (--dsn embedded)"
            )
        with connect(target.dsn) as conn:
            catalog = fetch_catalog(conn)
        for config in options.configs:
            validate(config, catalog)
    return pgbench, catalog


def prepare(target: BenchTarget, options: BenchOptions, observer: Observer) -> _Prepared:
    pgbench, catalog = check_inputs(target, options)
    bench_dsn = with_dbname(target.dsn, options.database)
    runner = PgbenchRunner(pgbench, bench_dsn)
    where = "the embedded server" if target.is_embedded else "server"
    observer.message(
        f"benchmark database {options.database} on {where} {display_dsn(bench_dsn)}: pgbench "
        f"tables at scale {options.scale} (recreated if their scale differs) and the "
        "workloads' setup tables"
    )
    created = ensure_database(target.dsn, options.database)
    init_s: float | None = None
    if options.reinit or created or not pgbench_tables_at_scale(bench_dsn, options.scale):
        observer.message(
            f"initializing pgbench data: pgbench -i -s {options.scale} in database "
            f"{options.database}"
        )
        init_s = runner.initialize(options.scale)
    setups: list[dict[str, Any]] = []
    for script in options.scripts:
        setup = script.setup
        if setup is not None and all(s["file"] != str(setup) for s in setups):
            observer.message(f"workload setup: {setup.name} in database {options.database}")
            seconds = apply_setup(bench_dsn, setup, options.scale)
            setups.append({"file": str(setup), "seconds": round(seconds, 3)})
    for script in options.scripts:
        if script.path is not None:
            observer.message(f"probing {script.name} with one transaction")
            runner.probe(script, scale=options.scale)
    workload = {
        "scripts": [s.describe() for s in options.scripts],
        "scale": options.scale,
        "database": options.database,
        "initialized": init_s is not None,
        "init_seconds": round(init_s, 3) if init_s is not None else None,
        "setup": setups,
    }
    return _Prepared(pgbench, runner, bench_dsn, catalog, workload)


def run_benchmark(
    target: BenchTarget, options: BenchOptions, observer: Observer | None = None
) -> dict[str, Any]:
    """Check, prepare, run every planned run, restore; the results document."""
    observer = observer or QuietObserver()
    created_at = datetime.now(UTC).isoformat(timespec="seconds")
    host = host_info()
    prepared = prepare(target, options, observer)
    configs: dict[str, SettingsFile] = (
        dict(zip(["A", "B"], options.configs, strict=True)) if options.configs else {}
    )
    plan = plan_runs(options.labels(), options.clients, options.runs)
    runs: list[dict[str, Any]] = []
    in_force_by_label: dict[str, dict[str, Any]] = {}
    notes: list[str] = list(options.notes)
    system = (
        SystemSettings(target.dsn, {n for c in configs.values() for n in c.settings})
        if configs
        else None
    )
    try:
        if system is not None:
            system.capture()
        for planned in plan:
            if system is not None and target.embedded is not None:
                config = configs[planned.config]
                system.apply(config.settings)
                target.embedded.restart()
                for note in verify_in_force(target.dsn, config.settings, prepared.catalog):
                    if note not in notes:
                        notes.append(note)
            elif planned.index == 0 or planned.clients != plan[planned.index - 1].clients:
                _checkpoint(target.dsn)
            if planned.config not in in_force_by_label:
                in_force_by_label[planned.config] = settings_snapshot(target.dsn)
            runs.append(_measure(prepared, options, planned, len(plan), observer))
    finally:
        if system is not None and target.embedded is not None:
            with shielded():
                put_back(system, target.embedded)
    host["load_average_end"] = host_info()["load_average"]
    return {
        "format": RESULTS_FORMAT,
        "created_at": created_at,
        "tool": {"pgtune_hx": pgtune_hx.__version__},
        "pgbench": {"version": prepared.pgbench.version, "path": str(prepared.pgbench.path)},
        "server": _server_info(target, options),
        "host": host,
        "notes": notes,
        "workload": prepared.workload,
        "parameters": {
            "clients": list(options.clients),
            "duration_s": options.duration_s,
            "runs": options.runs,
            "max_tries": options.max_tries,
            "threads": "min(clients, cpu_count)",
            "warmup_s": options.warmup_s,
            "restart_before_each_run": bool(configs),
            "order": "ABAB at each client count" if configs else "in order",
        },
        "configs": [
            {
                "label": label,
                **(
                    configs[label].to_dict()
                    if label in configs
                    else {"source": "as found", "settings": {}}
                ),
                "settings_in_force": in_force_by_label.get(label, {}),
            }
            for label in options.labels()
        ],
        "runs": runs,
        "results": comparison.aggregate(runs),
        "comparison": comparison.compare(runs) if configs else None,
    }


def _measure(
    prepared: _Prepared,
    options: BenchOptions,
    planned: PlannedRun,
    total: int,
    observer: Observer,
) -> dict[str, Any]:
    spec = RunSpec(
        scripts=options.scripts,
        clients=planned.clients,
        duration_s=options.duration_s,
        scale=options.scale,
        max_tries=options.max_tries,
    )
    if options.warmup_s > 0:
        observer.message(f"warm-up: {options.warmup_s}s, not measured")
        prepared.runner.run(replace(spec, duration_s=options.warmup_s))
    start_time = postmaster_start_time(prepared.bench_dsn)
    observer.run_started(planned, total, options.duration_s)
    label = f"run{planned.index:03d}-{planned.config}-c{planned.clients}"
    outcome = prepared.runner.run(
        spec, on_progress=observer.progress, keep_logs=options.keep_logs, label=label
    )
    run: dict[str, Any] = {
        "index": planned.index,
        "config": planned.config,
        "clients": planned.clients,
        "repeat": planned.repeat,
        "threads": spec.thread_count(),
        "postmaster_start_time": start_time,
        **outcome.to_dict(),
    }
    if outcome.log_files:
        run["log_files"] = [str(p) for p in outcome.log_files]
    observer.run_finished(planned, run)
    return run


def _server_info(target: BenchTarget, options: BenchOptions) -> dict[str, Any]:
    with connect(target.dsn) as conn, translated("reading the server version"):
        row = conn.execute(
            "select current_setting('server_version') as version,"
            " current_setting('server_version_num')::int as version_num"
        ).fetchone()
    assert row is not None
    return {
        "version": row["version"],
        "version_num": row["version_num"],
        "embedded": target.is_embedded,
        "target": target.describe(),
        "database": options.database,
    }
