"""What-if plans: how much cheaper would the workload be with these indexes?

Three methods, chosen per index (docs/advisor.md, "Verification"):

- ``hypopg``: hypothetical indexes (``hypopg_create_index``, EXPLAIN,
  ``hypopg_drop_index``). HypoPG keeps them in the backend's memory and never
  writes a catalog, so this works in the read-only session (tests check it).
  HypoPG cannot simulate GIN.
- ``real-index-rollback``: with ``--allow-writes`` only: the index is really
  built inside a transaction (under a SAVEPOINT, with lock_timeout; an
  expression index is ANALYZEd so the planner sees its statistics) and rolled
  back after the EXPLAINs. CREATE INDEX holds a SHARE lock on the table until
  then: meant for the embedded server or a staging copy.
- ``estimate``: neither is possible: the plan cost is estimated from pg_stats
  selectivities with the planner's cost constants, and marked unverified.

The indexes under test form a stack: ``push`` a group (a candidate), read
``plan_cost`` for the statements, then ``pop`` it; a group the selection takes
is simply left on the stack, under the next trials.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg import sql

from pgtune_hx.advise.catalog import Catalog, load_sql
from pgtune_hx.advise.estimate import estimate_cost, estimate_size
from pgtune_hx.advise.model import IndexDef, WorkloadQuery
from pgtune_hx.analyze.explain import explain
from pgtune_hx.analyze.plan import Plan
from pgtune_hx.db import Connection, translated
from pgtune_hx.db.redact import redact

HYPOPG = "hypopg"
ROLLBACK = "real-index-rollback"
ESTIMATE = "estimate"


@dataclass
class Created:
    index: IndexDef
    method: str
    name: str | None = None  # as it appears in plans
    size_bytes: int = 0
    error: str | None = None
    handle: Any = None


@dataclass(frozen=True)
class PlanCost:
    total: float
    used: frozenset[str]
    plan: Plan | None = None


@dataclass
class _Group:
    members: list[Created] = field(default_factory=list)
    savepoint: str | None = None


class WhatIf:
    """Hypothetical / rolled-back / estimated indexes on one connection."""

    def __init__(
        self, conn: Connection, catalog: Catalog, *, hypopg: bool, allow_writes: bool
    ) -> None:
        self.conn = conn
        self.catalog = catalog
        self.hypopg = hypopg
        self.allow_writes = allow_writes
        self.groups: list[_Group] = []
        self._names = itertools.count(1)
        self._tx: Any = None
        if allow_writes:
            # everything built from here on is rolled back by close(); the
            # session's lock_timeout (the guard's) bounds every CREATE INDEX
            self._tx = conn.transaction(force_rollback=True)
            self._tx.__enter__()

    # -- methods ---------------------------------------------------------

    def method_for(self, index: IndexDef) -> str:
        if self.hypopg and index.method == "btree":
            return HYPOPG
        if self.allow_writes:
            return ROLLBACK
        return ESTIMATE

    @property
    def main_method(self) -> str:
        if self.hypopg:
            return HYPOPG
        return ROLLBACK if self.allow_writes else ESTIMATE

    # -- the stack -------------------------------------------------------

    def push(self, indexes: tuple[IndexDef, ...]) -> list[Created]:
        group = _Group()
        self.groups.append(group)
        if self.allow_writes:
            group.savepoint = f"pgtune_hx_g{next(self._names)}"
            self._exec(sql.SQL("SAVEPOINT {}").format(sql.Identifier(group.savepoint)))
        for index in indexes:
            group.members.append(self._create(index))
        return group.members

    def pop(self) -> None:
        group = self.groups.pop()
        for member in group.members:
            if member.method == HYPOPG and member.handle is not None:
                with translated("dropping a hypothetical index"):
                    self.conn.execute(load_sql("hypopg_drop").encode(), {"handle": member.handle})
        if group.savepoint is not None:
            self._exec(sql.SQL("ROLLBACK TO SAVEPOINT {}").format(sql.Identifier(group.savepoint)))
            self._exec(sql.SQL("RELEASE SAVEPOINT {}").format(sql.Identifier(group.savepoint)))

    def live(self) -> list[Created]:
        return [m for g in self.groups for m in g.members if m.error is None]

    def close(self) -> None:
        try:
            if self.hypopg:
                with translated("resetting hypothetical indexes"):
                    self.conn.execute(load_sql("hypopg_reset").encode())
        finally:
            self.groups.clear()
            if self._tx is not None:
                tx, self._tx = self._tx, None
                tx.__exit__(None, None, None)

    def _exec(self, statement: sql.Composed) -> None:
        with translated("what-if index session"):
            self.conn.execute(statement)

    def _create(self, index: IndexDef) -> Created:
        method = self.method_for(index)
        created = Created(index, method)
        if method == HYPOPG:
            text = index.create_sql(None, concurrently=False)
            try:
                row = self.conn.execute(
                    load_sql("hypopg_create").encode(), {"definition": text}
                ).fetchone()
                assert row is not None
                created.handle = int(row["handle"])
                created.name = str(row["name"])
                created.size_bytes = int(row["bytes"] or 0)
            except psycopg.Error as exc:
                created.error = _first_line(exc)
        elif method == ROLLBACK:
            name = f"pgtune_hx_whatif_{next(self._names)}"
            savepoint = sql.Identifier(f"{name}_sp")
            try:
                self.conn.execute(sql.SQL("SAVEPOINT {}").format(savepoint))
                self.conn.execute(index.create_statement(name, concurrently=False))
                if any(k.is_expression for k in index.keys):
                    # an expression index has no statistics until ANALYZE: without
                    # them the planner guesses 0.5% of rows for `lower(x) = $1`
                    self.conn.execute(
                        sql.SQL("ANALYZE {}.{}").format(
                            sql.Identifier(index.schema), sql.Identifier(index.table)
                        )
                    )
                size = self.conn.execute(
                    load_sql("relation_size").encode(),
                    {"name": f"{_q(index.schema)}.{_q(name)}"},
                ).fetchone()
                self.conn.execute(sql.SQL("RELEASE SAVEPOINT {}").format(savepoint))
                created.name = name
                created.size_bytes = int(size["bytes"]) if size else 0
            except psycopg.Error as exc:
                created.error = _first_line(exc)
                with translated("rolling back a failed index build"):
                    self.conn.execute(sql.SQL("ROLLBACK TO SAVEPOINT {}").format(savepoint))
        else:
            info = self.catalog.table(index.schema, index.table)
            created.name = f"estimate:{next(self._names)}"
            created.size_bytes = estimate_size(index, info, self.catalog)
        return created

    # -- costs -----------------------------------------------------------

    def plan_cost(self, query: WorkloadQuery) -> PlanCost:
        """The plan cost of ``query`` with every live index (estimated ones overlaid)."""
        if self._tx is not None:
            # an error must not abort the transaction holding the indexes
            with self.conn.transaction():
                plan = explain(self.conn, query.sql, facts=query.facts).plan
        else:
            plan = explain(self.conn, query.sql, facts=query.facts).plan
        used = {n.index_name for n in plan.nodes() if n.index_name}
        names = {m.name for m in self.live() if m.method != ESTIMATE}
        total = plan.total_cost
        chosen: set[str] = {u for u in used if u in names}
        best: tuple[float, list[str]] | None = None  # the planner would pick one of them
        for group in self.groups:
            members = [m for m in group.members if m.method == ESTIMATE and m.error is None]
            if not members:
                continue
            cost = estimate_cost(query, tuple(m.index for m in members), plan, self.catalog)
            if cost is not None and cost < total and (best is None or cost < best[0]):
                best = (cost, [m.name for m in members if m.name])
        if best is not None:
            total = best[0]
            chosen.update(best[1])
        return PlanCost(total, frozenset(chosen), plan)


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _first_line(exc: Exception) -> str:
    text = redact(str(exc)).strip().splitlines()
    return text[0] if text else type(exc).__name__
