"""Ask the server for a plan: generic plans for normalized ($n) statements,
EXPLAIN ANALYZE only where it is safe.

- No parameters: ``EXPLAIN (FORMAT JSON, SETTINGS)``.
- ``$n`` parameters (pg_stat_statements text): ``EXPLAIN (GENERIC_PLAN)`` on
  PostgreSQL 16+; before 16 the statement is PREPAREd and its generic plan
  explained with ``plan_cache_mode = force_generic_plan`` and every parameter
  NULL (a generic plan never looks at the values). Typed-literal parameters
  (``interval $1``, which pg_stat_statements writes and no parser accepts)
  are planned as casts (``$1::interval``).
- ANALYZE runs the statement. Plain SELECTs run in the read-only session;
  anything that may write (INSERT/UPDATE/DELETE/MERGE, SELECT ... FOR UPDATE,
  data-modifying CTEs, SELECT INTO) needs ``allow_writes`` and runs inside a
  transaction that is rolled back.
"""

from __future__ import annotations

import itertools
import os
from dataclasses import dataclass
from typing import Any

from psycopg import sql

from pgtune_hx.analyze.plan import Plan, parse_plan
from pgtune_hx.analyze.query import extract_facts
from pgtune_hx.analyze.query_model import QueryFacts
from pgtune_hx.analyze.sql_text import plannable, split
from pgtune_hx.db import Connection, probe, translated
from pgtune_hx.errors import UsageError, WriteNotAllowed

EXPLAINABLE = frozenset({"select", "insert", "update", "delete", "merge"})
_names = itertools.count(1)


@dataclass(frozen=True)
class Explained:
    plan: Plan
    facts: QueryFacts
    method: str  # plain | generic_plan | prepared_generic | analyze | analyze_rolled_back


def statement_text(text: str) -> str:
    """The single statement of ``text`` without its trailing semicolon."""
    parts = split(text)
    if len(parts) != 1:
        raise UsageError(f"expected one SQL statement, got {len(parts)}")
    return parts[0]


def explain(
    conn: Connection,
    text: str,
    *,
    analyze: bool = False,
    buffers: bool = True,
    allow_writes: bool = False,
    facts: QueryFacts | None = None,
) -> Explained:
    """Plan ``text`` on ``conn``; see the module docstring for the method used."""
    statement = statement_text(text)
    facts = facts or extract_facts(statement)
    if facts.kind not in EXPLAINABLE:
        raise UsageError(
            "only SELECT, INSERT, UPDATE, DELETE and MERGE statements can be explained"
        )
    if analyze:
        return _analyze(conn, statement, facts, buffers=buffers, allow_writes=allow_writes)
    if facts.params:
        statement = plannable(statement)
        if probe(conn).has_generic_plan():
            return Explained(_explain(conn, statement, ["GENERIC_PLAN"]), facts, "generic_plan")
        return Explained(
            _prepared_generic(conn, statement, facts.params), facts, "prepared_generic"
        )
    return Explained(_explain(conn, statement, []), facts, "plain")


def _options(extra: list[str]) -> sql.Composable:
    return sql.SQL(", ").join(sql.SQL(o) for o in [*extra, "FORMAT JSON"])


def _plan_from(row: dict[str, Any] | None) -> Plan:
    assert row is not None
    return parse_plan(next(iter(row.values())), source="server plan")


def _explain(conn: Connection, statement: str, options: list[str]) -> Plan:
    # The statement is the user's SQL, explained as given: it is the input, not a value.
    query = sql.SQL("EXPLAIN ({}) {}").format(_options(options), sql.SQL(statement))
    with translated("EXPLAIN"):
        # never server-side prepared by psycopg: $n in the text are the statement's own
        row = conn.execute(query, prepare=False).fetchone()
    return _plan_from(row)


def _prepared_generic(conn: Connection, statement: str, params: int) -> Plan:
    name = sql.Identifier(f"pgtune_hx_explain_{os.getpid()}_{next(_names)}")
    nulls = sql.SQL(", ").join([sql.NULL] * params)
    with translated("EXPLAIN of a generic plan"), conn.transaction(force_rollback=True):
        conn.execute("SET LOCAL plan_cache_mode = force_generic_plan")
        conn.execute(sql.SQL("PREPARE {} AS {}").format(name, sql.SQL(statement)), prepare=False)
        try:
            row = conn.execute(
                sql.SQL("EXPLAIN (FORMAT JSON) EXECUTE {}({})").format(name, nulls), prepare=False
            ).fetchone()
        finally:
            conn.execute(sql.SQL("DEALLOCATE {}").format(name))
    return _plan_from(row)


def _analyze(
    conn: Connection, statement: str, facts: QueryFacts, *, buffers: bool, allow_writes: bool
) -> Explained:
    if facts.params:
        raise UsageError(
            f"EXPLAIN ANALYZE needs values: the statement has {facts.params} $n parameter(s)",
            hint="substitute real values, or drop --analyze for a generic plan",
        )
    options = ["ANALYZE", *(["BUFFERS"] if buffers else []), "SETTINGS"]
    if facts.is_read_only:
        return Explained(_explain(conn, statement, options), facts, "analyze")
    if not allow_writes:
        raise WriteNotAllowed(
            f"EXPLAIN ANALYZE would run this {facts.kind.upper()} statement, which may write",
            hint="pass --allow-writes to run it inside a transaction that is rolled back",
        )
    with translated("EXPLAIN ANALYZE (rolled back)"), conn.transaction(force_rollback=True):
        plan = _explain(conn, statement, options)
    return Explained(plan, facts, "analyze_rolled_back")
