"""The demo, start to finish, without any presentation: the CLI shows progress
and renders the report from what this returns.

Phases: prepare the demo database, load it, plant problems, snapshot, run the
workload (with an idle transaction held), snapshot again (with a lock wait in
progress), analyze/advise/tune, and with ``apply`` create the advised indexes
and run the very same workload plan again. Every number in the result was
measured in this run.

Writes go only to the demo database (``pgtune_demo``): it is dropped and made
again only when its comment says the demo made it.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol

from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from pgtune_hx.advise.apply import apply as advisor_apply
from pgtune_hx.advise.model import Advice
from pgtune_hx.assess import Assessment, assess
from pgtune_hx.collect.model import Snapshot
from pgtune_hx.collect.snapshot import collect_snapshot
from pgtune_hx.db import Guard, connect, probe, translated
from pgtune_hx.demo.contention import BlockedUpdate, IdleTransaction
from pgtune_hx.demo.schema import (
    DEMO_COMMENT,
    DEMO_DATABASE,
    Scale,
    StepCallback,
    configure_database,
    problem_steps,
    run_steps,
    schema_steps,
)
from pgtune_hx.demo.workload import HELD_KEY_ID, WorkloadResult, plan_workload, run_workload
from pgtune_hx.errors import UsageError

SEED = 7
# The demo compresses hours into a minute: a transaction idle for the length of
# the workload counts, and statistics a few minutes old are old enough to judge
# an index unused. The report lists these next to the numbers.
DEMO_THRESHOLDS: dict[str, Any] = {"max_idle_s": 10.0, "min_stats_age_days": 0.0}
# generous: loading a million rows on a busy 2-core machine takes a while
ADVISE_GUARD = Guard(read_only=False, statement_timeout_ms=120_000, lock_timeout_ms=10_000)
LOAD_GUARD = Guard(
    read_only=False,
    statement_timeout_ms=900_000,
    lock_timeout_ms=60_000,
    application_name="pgtune_demo-setup",
)


class Progress(Protocol):
    """What the runner tells whoever shows progress (the CLI draws it with rich)."""

    def phase(self, name: str, total: int | None = None) -> None: ...

    def step(self, text: str) -> None: ...

    def advance(self, amount: int = 1) -> None: ...

    def done(self, seconds: float, detail: str) -> None: ...


class Quiet:
    def phase(self, name: str, total: int | None = None) -> None:
        pass

    def step(self, text: str) -> None:
        pass

    def advance(self, amount: int = 1) -> None:
        pass

    def done(self, seconds: float, detail: str) -> None:
        pass


@dataclass(frozen=True)
class DemoOptions:
    rows: int = 1_000_000
    operations: int = 2400
    clients: int = 2
    apply: bool = False
    keep: bool = False
    seed: int = SEED
    dbname: str = DEMO_DATABASE


@dataclass
class Phase:
    name: str
    seconds: float
    detail: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "seconds": round(self.seconds, 3), "detail": self.detail}


@dataclass
class AppliedIndex:
    sql: str
    result: str
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        return {"sql": self.sql, "result": self.result, "seconds": round(self.seconds, 3)}


@dataclass
class DemoResult:
    dbname: str
    dsn: str
    scale: Scale
    options: DemoOptions
    capabilities: set[str]
    phases: list[Phase] = field(default_factory=list)
    before_snapshot: Snapshot | None = None
    after_snapshot: Snapshot | None = None
    assessment: Assessment | None = None
    before: WorkloadResult | None = None
    after: WorkloadResult | None = None
    applied: list[AppliedIndex] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def report_dict(self) -> dict[str, Any]:
        """The demo's own section of the report."""
        return {
            "phases": [p.to_dict() for p in self.phases],
            "before": self.before.to_dict() if self.before else None,
            "after": self.after.to_dict() if self.after else None,
            "applied": [a.to_dict() for a in self.applied],
            "notes": list(self.notes),
            "rows": self.scale.rows,
        }


def database_dsn(admin_dsn: str, dbname: str) -> str:
    params: dict[str, Any] = conninfo_to_dict(admin_dsn)
    params["dbname"] = dbname
    return make_conninfo("", **params)


@contextmanager
def _timed(
    result: DemoResult, progress: Progress, name: str, total: int | None = None
) -> Iterator[list[str]]:
    """Time one phase; the block may append a one-line detail."""
    progress.phase(name, total)
    detail: list[str] = []
    started = time.perf_counter()
    yield detail
    seconds = time.perf_counter() - started
    result.phases.append(Phase(name, seconds, "; ".join(detail)))
    progress.done(seconds, "; ".join(detail))


def prepare_database(admin_dsn: str, dbname: str) -> set[str]:
    """Drop the demo's own database if there is one, create it afresh; the extensions
    it can have (pgvector where available) come back as capabilities."""
    with connect(admin_dsn, LOAD_GUARD) as conn, translated("preparing the demo database"):
        row = conn.execute(
            "select shobj_description(oid, 'pg_database') as comment from pg_database "
            "where datname = %s",
            [dbname],
        ).fetchone()
        if row is not None:
            if row["comment"] != DEMO_COMMENT:
                raise UsageError(
                    f"database {dbname} exists and was not made by the demo; "
                    "drop or rename it first"
                )
            conn.execute(sql.SQL("drop database {} with (force)").format(sql.Identifier(dbname)))
        conn.execute(sql.SQL("create database {}").format(sql.Identifier(dbname)))
        configure_database(conn, dbname)
        available = probe(conn).available
    capabilities = set()
    with connect(database_dsn(admin_dsn, dbname), LOAD_GUARD) as conn:
        with translated("creating extensions in the demo database"):
            conn.execute("create extension if not exists pg_stat_statements")
            if "vector" in available:
                conn.execute("create extension if not exists vector")
                capabilities.add("vector")
    return capabilities


def drop_database(admin_dsn: str, dbname: str) -> None:
    with connect(admin_dsn, LOAD_GUARD) as conn, translated("dropping the demo database"):
        row = conn.execute(
            "select shobj_description(oid, 'pg_database') as comment from pg_database "
            "where datname = %s",
            [dbname],
        ).fetchone()
        if row is not None and row["comment"] == DEMO_COMMENT:
            conn.execute(sql.SQL("drop database {} with (force)").format(sql.Identifier(dbname)))


def _snapshot(dsn: str) -> Snapshot:
    with connect(dsn) as conn:
        return collect_snapshot(conn)


def _workload(
    result: DemoResult, progress: Progress, label: str, plan: list[Any]
) -> WorkloadResult:
    options = result.options
    return run_workload(
        result.dsn,
        plan,
        result.capabilities,
        clients=options.clients,
        label=label,
        progress=progress.advance,
    )


def apply_advice(dsn: str, advice: Advice, progress: Progress) -> list[AppliedIndex]:
    """Create the advised indexes with the advisor's own apply (CONCURRENTLY, one at
    a time, an INVALID leftover dropped), then refresh their tables' statistics."""
    guard = Guard(
        read_only=False,
        statement_timeout_ms=900_000,
        lock_timeout_ms=10_000,
        application_name="pgtune_demo-apply",
    )
    with connect(dsn, guard) as conn:
        done = advisor_apply(conn, list(advice.suggestions), progress=progress.step)
        tables = sorted({(s.index.schema, s.index.table) for s in advice.suggestions})
        for schema, table in tables:
            with translated(f"analyzing {schema}.{table}"):
                conn.execute(sql.SQL("analyze {}").format(sql.Identifier(schema, table)))
    return [
        AppliedIndex(a.create_sql, "created" if a.ok else f"failed: {a.error}", a.seconds)
        for a in done
    ]


def run_demo(admin_dsn: str, options: DemoOptions, progress: Progress | None = None) -> DemoResult:
    progress = progress or Quiet()
    scale = Scale.for_rows(options.rows)
    dsn = database_dsn(admin_dsn, options.dbname)
    result = DemoResult(options.dbname, dsn, scale, options, set())
    try:
        _run(result, admin_dsn, progress)
    finally:
        if not options.keep:
            with _timed(result, progress, "drop the demo database"):
                drop_database(admin_dsn, options.dbname)
    return result


def _run(result: DemoResult, admin_dsn: str, progress: Progress) -> None:
    options, scale, dsn = result.options, result.scale, result.dsn
    with _timed(result, progress, "create the demo database") as detail:
        result.capabilities = prepare_database(admin_dsn, options.dbname)
        detail.append(
            f"{options.dbname}, pgvector {'on' if 'vector' in result.capabilities else 'missing'}"
        )
    steps = schema_steps(result.capabilities)
    with _timed(result, progress, "load data", len(steps)) as detail:
        with connect(dsn, LOAD_GUARD) as conn:
            run_steps(conn, steps, scale, _counting(progress))
        detail.append(
            f"{scale.rows:,} usage logs, {scale.keys:,} keys, {scale.executions:,} executions, "
            f"{scale.sessions:,} sessions, {scale.chunks:,} chunks"
        )
    with _timed(result, progress, "plant problems") as detail:
        with connect(dsn, LOAD_GUARD) as conn:
            run_steps(conn, problem_steps(), scale, progress.step)
        detail.append("stale statistics and bloat on the session store, work_mem 64kB")
    with _timed(result, progress, "snapshot before the workload"):
        result.before_snapshot = _snapshot(dsn)
    plan = plan_workload(scale, options.operations, result.capabilities, options.seed)
    # The idle transaction is held the same way in every run of the plan: opened
    # before it, still open at the snapshot (it holds back the xmin horizon).
    with IdleTransaction(dsn, HELD_KEY_ID):
        with _timed(result, progress, "workload", len(plan)) as detail:
            result.before = _workload(result, progress, "before", plan)
            detail.append(_workload_detail(result.before))
        with _timed(result, progress, "snapshot after the workload") as detail:
            waiter = BlockedUpdate(dsn, HELD_KEY_ID).start()
            waiter.wait_until_blocked()
            result.after_snapshot = _snapshot(dsn)
            detail.append("an idle transaction and a session waiting on its row lock were live")
    waiter.join()  # released by the idle transaction's rollback
    with _timed(result, progress, "analyze, advise, tune") as detail:
        # writable: the advisor may verify candidates by building them in transactions
        # that are rolled back (the demo database is ours)
        with connect(dsn, ADVISE_GUARD) as conn:
            result.assessment = assess(
                result.after_snapshot,
                result.before_snapshot,
                conn,
                DEMO_THRESHOLDS,
                allow_writes=True,
            )
        found = result.assessment
        detail.append(
            f"{len(found.findings or [])} findings, {len(found.suggestions or [])} index "
            f"suggestions, {len((found.tuning or {}).get('changes') or [])} setting changes"
        )
    result.notes += _measurement_notes(result)
    if options.apply:
        _apply_and_rerun(result, progress, plan)


def _apply_and_rerun(result: DemoResult, progress: Progress, plan: list[Any]) -> None:
    assert result.assessment is not None
    advice = result.assessment.advice
    if advice is None:
        reason = result.assessment.missing.get("advisor", "the index advisor did not run")
        result.notes.append(f"--apply: nothing applied and no second run: {reason}.")
        return
    if not advice.suggestions:
        result.notes.append("--apply: the advisor suggested no index; no second run.")
        return
    with _timed(result, progress, "apply index advice") as detail:
        result.applied = apply_advice(result.dsn, advice, progress)
        created = sum(1 for a in result.applied if a.result == "created")
        detail.append(f"{created} of {len(result.applied)} indexes created, tables analyzed")
    with IdleTransaction(result.dsn, HELD_KEY_ID):
        with _timed(result, progress, "workload again", len(plan)) as detail:
            result.after = _workload(result, progress, "after", plan)
            detail.append(_workload_detail(result.after))


def _counting(progress: Progress) -> StepCallback:
    """Name each step as it starts and count it on the phase's bar."""

    def on_step(name: str) -> None:
        progress.step(name)
        progress.advance()

    return on_step


def _workload_detail(run: WorkloadResult) -> str:
    text = f"{run.operations:,} statements over {run.clients} sessions in {run.wall_s:.1f} s"
    if run.errors:
        text += f", {run.errors} failed"
    return text


def _measurement_notes(result: DemoResult) -> list[str]:
    options = result.options
    return [
        f"The workload is a fixed plan of {options.operations:,} statements drawn once from "
        f"seed {options.seed} and replayed over {options.clients} sessions, each session "
        "taking every n-th statement in order; a rerun replays the same plan the same way.",
        "Latencies are measured by the client around each statement (network round trip "
        "over the Unix socket included); wall time covers the whole run.",
        "Both runs start with the data in the cache (just loaded, or just indexed) and with "
        "the same idle transaction held open.",
        "Statements no new index serves can change too: in the first run they share the "
        "CPUs with the sequential scans the indexes later replace.",
        "Analyzer thresholds the demo changes to fit its short run: "
        + ", ".join(f"{k} = {v}" for k, v in sorted(DEMO_THRESHOLDS.items()))
        + ".",
    ]
