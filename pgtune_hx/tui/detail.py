"""On-demand work behind the detail screens and the kill keys, headless.

Each call opens its own short session (the refresh loop owns the monitor's
connection): session detail and plans read-only, signals through a separate
writable session, as the guard requires for anything that acts on the server.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from pgtune_hx.advise.model import Suggestion
from pgtune_hx.analyze.explain import explain as explain_statement
from pgtune_hx.analyze.plan import Plan, PlanNode
from pgtune_hx.analyze.plan_findings import PlanFinding, plan_findings
from pgtune_hx.collect.model import json_safe
from pgtune_hx.collect.runner import Context
from pgtune_hx.collect.statements import locate
from pgtune_hx.db import Connection, Guard, connect, probe, translated
from pgtune_hx.db.connect import translate_query_error
from pgtune_hx.errors import PgtuneError
from pgtune_hx.tui.sqlfiles import pick

PROGRESS_VIEWS = ("vacuum", "analyze", "create_index", "cluster", "basebackup", "copy")
Signal = Literal["cancel", "terminate"]
SIGNAL_FUNCTIONS: dict[str, str] = {
    "cancel": "pg_cancel_backend",
    "terminate": "pg_terminate_backend",
}


def dsn_for_database(dsn: str | None, dbname: str | None) -> str | None:
    """The same connection parameters, another database.

    >>> dsn_for_database("host=h dbname=a", "b")
    'host=h dbname=b'
    """
    if not dbname:
        return dsn
    params: dict[str, Any] = conninfo_to_dict(dsn or "")
    params["dbname"] = dbname
    return make_conninfo("", **params)


def _composed(text: str, **names: str) -> sql.Composed:
    return sql.SQL(text).format(**{k: sql.Identifier(v) for k, v in names.items()})


def _rows(
    conn: Connection, query: str | sql.Composed, params: dict[str, Any]
) -> list[dict[str, Any]]:
    q = sql.SQL(query) if isinstance(query, str) else query
    rows = conn.execute(q, params).fetchall()
    return [{k: json_safe(v) for k, v in row.items()} for row in rows]


def pg_stat_statements_schema(conn: Connection) -> str:
    """Where pg_stat_statements lives, or the collectors' error saying why not."""
    schema, _version = locate(Context(conn, probe(conn)))
    return schema


# -- signals ----------------------------------------------------------------------------


@dataclass(frozen=True)
class SignalResult:
    pid: int
    action: str
    done: bool
    message: str


def signal_backend(
    dsn: str | None, guard: Guard, pid: int, backend_start: str | None, action: Signal
) -> SignalResult:
    """pg_cancel_backend / pg_terminate_backend on a writable session of its own."""
    function = SIGNAL_FUNCTIONS[action]
    with connect(dsn, guard.writable()) as conn:
        probe(conn).can_signal_backends(check=True)
        query = _composed(pick("signal", probe(conn).server_version_num), function=function)
        with translated(f"{action} backend {pid}"):
            row = conn.execute(query, {"pid": pid, "backend_start": backend_start}).fetchone()
    if row is None:
        return SignalResult(pid, action, False, f"pid {pid} is gone or is another session now")
    if not row["signalled"]:
        return SignalResult(pid, action, False, f"{function}({pid}) returned false")
    verb = "cancelled the query of" if action == "cancel" else "terminated"
    return SignalResult(pid, action, True, f"{verb} pid {pid}")


# -- plans ------------------------------------------------------------------------------

METHODS = {
    "plain": "EXPLAIN",
    "generic_plan": "EXPLAIN (GENERIC_PLAN)",
    "prepared_generic": "generic plan of a PREPAREd statement (force_generic_plan)",
    "analyze": "EXPLAIN (ANALYZE, BUFFERS): the statement ran once, read-only",
}
DETAIL_KEYS = (
    "Index Cond",
    "Recheck Cond",
    "Hash Cond",
    "Merge Cond",
    "Join Filter",
    "Filter",
    "Sort Key",
    "Group Key",
)


@dataclass(frozen=True)
class PlanResult:
    text: str | None = None
    method: str = ""
    error: str | None = None
    findings: tuple[PlanFinding, ...] = ()
    total_cost: float | None = None


def plan_text(plan: Plan) -> str:
    """The plan laid out as EXPLAIN prints it (costs and estimates, no ANALYZE)."""
    lines: list[str] = []

    def visit(node: PlanNode, depth: int) -> None:
        head = (
            f"{node.label}  (cost={node.startup_cost:.2f}..{node.total_cost:.2f} "
            f"rows={node.plan_rows:.0f} width={node.plan_width})"
        )
        if node.actual_total_ms is not None:
            head += (
                f" (actual time={node.actual_startup_ms or 0:.3f}..{node.actual_total_ms:.3f} "
                f"rows={node.actual_rows or 0:.0f} loops={node.loops or 0})"
            )
        elif node.loops == 0:
            head += " (never executed)"
        if depth == 0:
            lines.append(head)
        else:
            lines.append(" " * (6 * (depth - 1) + 2) + "->  " + head)
        pad = " " * (6 * depth + 2)
        for key in DETAIL_KEYS:
            value = node.raw.get(key)
            if isinstance(value, list):
                value = ", ".join(str(v) for v in value)
            if value:
                lines.append(f"{pad}{key}: {value}")
        for child in node.children:
            visit(child, depth + 1)

    visit(plan.root, 0)
    return "\n".join(lines)


def explain(conn: Connection, query: str, *, analyze: bool = False) -> PlanResult:
    """The plan of one statement and the plan findings, through the analyzer's explain:
    without running it (a generic plan for $n text: GENERIC_PLAN on 16+, a PREPAREd
    generic plan before), or with ``analyze`` by running it once, which the read-only
    session allows for plain SELECTs only (anything that may write is refused)."""
    try:
        explained = explain_statement(conn, query, analyze=analyze)
    except PgtuneError as exc:
        return PlanResult(error=str(exc))
    except psycopg.Error as exc:
        return PlanResult(error=str(translate_query_error(exc, "EXPLAIN")))
    plan = explained.plan
    return PlanResult(
        text=plan_text(plan),
        method=METHODS.get(explained.method, explained.method),
        findings=tuple(plan_findings(plan)),
        total_cost=plan.root.total_cost,
    )


def explain_in(
    dsn: str | None, guard: Guard, dbname: str | None, query: str, *, analyze: bool = False
) -> PlanResult:
    """Plan a statement in the database it ran in."""
    try:
        with connect(dsn_for_database(dsn, dbname), guard) as conn:
            return explain(conn, query, analyze=analyze)
    except PgtuneError as exc:
        return PlanResult(error=str(exc))


@dataclass(frozen=True)
class IndexAdvice:
    suggestions: tuple[Suggestion, ...] = ()
    method: str = ""
    notes: tuple[str, ...] = ()
    rejected: tuple[str, ...] = ()
    error: str | None = None


def index_advice(dsn: str | None, guard: Guard, dbname: str | None, query: str) -> IndexAdvice:
    """The index advisor on one statement, read-only: what-if plans with HypoPG when it
    is installed, a pg_stats estimate otherwise (the advice says which)."""
    from pgtune_hx.advise.advisor import advise, methods_for
    from pgtune_hx.advise.catalog import Catalog
    from pgtune_hx.advise.workload import from_query

    try:
        with connect(dsn_for_database(dsn, dbname), guard) as conn:
            catalog = Catalog(conn)
            workload = from_query(query, catalog)
            advice = advise(conn, catalog, workload, methods_for(conn, allow_writes=False))
    except PgtuneError as exc:
        return IndexAdvice(error=str(exc))
    except psycopg.Error as exc:
        return IndexAdvice(error=str(translate_query_error(exc, "index advice")))
    return IndexAdvice(
        suggestions=advice.suggestions,
        method=advice.method,
        notes=advice.notes,
        rejected=tuple(f"{r.subject}: {r.reason}" for r in advice.rejected[:8]),
    )


# -- session detail ----------------------------------------------------------------------


@dataclass(frozen=True)
class SessionDetail:
    pid: int
    locks: list[dict[str, Any]] = field(default_factory=list)
    progress: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    statements: list[dict[str, Any]] = field(default_factory=list)
    plan: PlanResult | None = None
    errors: dict[str, str] = field(default_factory=dict)


def session_detail(
    dsn: str | None,
    guard: Guard,
    *,
    pid: int,
    datname: str | None,
    datid: int | None,
    query_id: int | None,
    query: str,
) -> SessionDetail:
    locks: list[dict[str, Any]] = []
    progress: list[tuple[str, dict[str, Any]]] = []
    statements: list[dict[str, Any]] = []
    errors: dict[str, str] = {}
    with connect(dsn, guard) as conn:
        version = probe(conn).server_version_num
        try:
            locks = _rows(conn, pick("session_locks", version), {"pid": pid})
        except psycopg.Error as exc:
            errors["locks"] = str(translate_query_error(exc, "locks"))
        for view in PROGRESS_VIEWS:
            query_text = sql.SQL("select * from {} where pid = %(pid)s").format(
                sql.Identifier(f"pg_stat_progress_{view}")
            )
            try:
                progress += [(view, row) for row in _rows(conn, query_text, {"pid": pid})]
            except psycopg.Error as exc:
                errors[f"progress {view}"] = str(translate_query_error(exc, view))
        if query_id is not None and datid is not None:
            try:
                schema = pg_stat_statements_schema(conn)
                statements = _rows(
                    conn,
                    _composed(pick("session_statement", version), schema=schema),
                    {"queryid": query_id, "dbid": datid},
                )
            except psycopg.Error as exc:
                errors["statement"] = str(translate_query_error(exc, "pg_stat_statements"))
            except PgtuneError as exc:
                errors["statement"] = str(exc)
    text = query
    if statements and statements[0].get("query") and _truncated(query):
        # pg_stat_activity cuts at track_activity_query_size; the normalized text is whole
        text = str(statements[0]["query"])
    plan = explain_in(dsn, guard, datname, text) if text.strip() else None
    return SessionDetail(pid, locks, progress, statements, plan, errors)


def _truncated(query: str) -> bool:
    from pgtune_hx.analyze.query import extract_facts

    try:
        extract_facts(query)
    except PgtuneError:
        return True
    return False
