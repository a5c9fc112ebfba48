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

from pgtune_hx.collect.model import json_safe
from pgtune_hx.collect.runner import Context
from pgtune_hx.collect.statements import locate
from pgtune_hx.db import Connection, Guard, connect, probe, translated
from pgtune_hx.db.connect import translate_query_error
from pgtune_hx.errors import InvalidSQL, PgtuneError
from pgtune_hx.tui.sqlfiles import pick

PROGRESS_VIEWS = ("vacuum", "analyze", "create_index", "cluster", "basebackup", "copy")
PLANNABLE = ("SelectStmt", "InsertStmt", "UpdateStmt", "DeleteStmt", "MergeStmt")
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


@dataclass(frozen=True)
class PlanResult:
    text: str | None = None
    plan_json: Any = None
    method: str = ""
    error: str | None = None
    findings: tuple[Any, ...] = ()
    findings_note: str | None = None


def statement_kind(query: str) -> tuple[str, bool]:
    """(statement node name, has $n parameters) of one statement; InvalidSQL otherwise."""
    from pglast import parse_sql
    from pglast.parser import ParseError
    from pglast.visitors import Visitor

    try:
        statements = parse_sql(query)
    except ParseError as exc:
        raise InvalidSQL(f"cannot parse the statement (truncated text?): {exc}") from None
    if len(statements) != 1:
        raise InvalidSQL(f"expected one statement, found {len(statements)}")

    class Params(Visitor):
        found = False

        def visit_ParamRef(self, ancestors: Any, node: Any) -> None:
            self.found = True

    params = Params()
    params(statements[0])
    return type(statements[0].stmt).__name__, bool(params.found)


def explain(conn: Connection, query: str) -> PlanResult:
    """EXPLAIN (no ANALYZE: nothing runs) in text and JSON; generic plan for $n text."""
    caps = probe(conn)
    try:
        kind, has_params = statement_kind(query)
    except InvalidSQL as exc:
        return PlanResult(error=str(exc))
    if kind not in PLANNABLE:
        return PlanResult(error=f"{kind.removesuffix('Stmt')} statements have no plan")
    options = ""
    method = "EXPLAIN"
    if has_params:
        if not caps.has_generic_plan():
            return PlanResult(
                error=f"the text has $n parameters; EXPLAIN (GENERIC_PLAN) needs PostgreSQL 16+, "
                f"server is {caps.major}"
            )
        options, method = "GENERIC_PLAN, ", "EXPLAIN (GENERIC_PLAN)"
    try:
        with conn.transaction():
            # the text is the statement itself (one statement, checked above), not a value
            text_rows = conn.execute(f"EXPLAIN ({options}FORMAT TEXT) {query}").fetchall()
            json_rows = conn.execute(f"EXPLAIN ({options}FORMAT JSON) {query}").fetchall()
    except psycopg.Error as exc:
        return PlanResult(method=method, error=str(translate_query_error(exc, "EXPLAIN")))
    text = "\n".join(str(next(iter(r.values()))) for r in text_rows)
    plan_json = next(iter(json_rows[0].values())) if json_rows else None
    note = None
    if not _module_available("pgtune_hx.analyze.plan"):
        note = "plan findings: the plan analyzer (pgtune_hx.analyze.plan) is not part of this build"
    return PlanResult(text=text, plan_json=plan_json, method=method, findings_note=note)


def explain_in(dsn: str | None, guard: Guard, dbname: str | None, query: str) -> PlanResult:
    """Plan a statement in the database it ran in."""
    try:
        with connect(dsn_for_database(dsn, dbname), guard) as conn:
            return explain(conn, query)
    except PgtuneError as exc:
        return PlanResult(error=str(exc))


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
    plan_text = query
    if statements and statements[0].get("query") and _truncated(query):
        plan_text = str(statements[0]["query"])
    plan = explain_in(dsn, guard, datname, plan_text) if plan_text.strip() else None
    return SessionDetail(pid, locks, progress, statements, plan, errors)


def _truncated(query: str) -> bool:
    try:
        statement_kind(query)
    except InvalidSQL:
        return True
    return False


# -- the advisor's parts, when this build has them ------------------------------------------


def _module_available(name: str) -> bool:
    import importlib.util

    try:
        return importlib.util.find_spec(name) is not None
    except ModuleNotFoundError:
        return False


def index_advice(dsn: str | None, guard: Guard, dbname: str | None, query: str) -> Any:
    """Index suggestions for one statement, or a note saying why there are none."""
    if not _module_available("pgtune_hx.advise"):
        return "index advice: the index advisor (pgtune_hx.advise) is not part of this build"
    return "index advice: the index advisor is present but not wired to the monitor yet"
