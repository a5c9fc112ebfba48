"""What-if plans: how much cheaper would the workload be with these indexes?

Three methods, chosen per index (docs/advisor.md, "Verification"):

- ``hypopg``: hypothetical indexes (``hypopg_create_index``, EXPLAIN,
  ``hypopg_drop_index``). HypoPG keeps them in the backend's memory and never
  writes a catalog, so this works in the read-only session (tests check it).
  HypoPG cannot simulate GIN.
- ``real-index-rollback``: with ``--allow-writes`` only: the index is really
  built inside a transaction (under a SAVEPOINT, with lock_timeout) and rolled
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
import math
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg import sql

from pgtune_hx.advise.catalog import Catalog, TableInfo
from pgtune_hx.advise.existing import canonical
from pgtune_hx.advise.model import IndexDef, WorkloadQuery
from pgtune_hx.analyze.explain import explain
from pgtune_hx.analyze.plan import Plan
from pgtune_hx.analyze.query_model import Predicate, TableRef
from pgtune_hx.db import Connection, translated
from pgtune_hx.db.redact import redact

HYPOPG = "hypopg"
ROLLBACK = "real-index-rollback"
ESTIMATE = "estimate"

BLOCK = 8192
FILLFACTOR = 0.9
DEFAULT_INEQ_SEL = 1.0 / 3.0  # the planner's default for an inequality on an unknown value
DEFAULT_CONTAINMENT_SEL = 0.01


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
                    self.conn.execute("select hypopg_drop_index(%s)", (member.handle,))
        if group.savepoint is not None:
            self._exec(sql.SQL("ROLLBACK TO SAVEPOINT {}").format(sql.Identifier(group.savepoint)))
            self._exec(sql.SQL("RELEASE SAVEPOINT {}").format(sql.Identifier(group.savepoint)))

    def live(self) -> list[Created]:
        return [m for g in self.groups for m in g.members if m.error is None]

    def close(self) -> None:
        try:
            if self.hypopg:
                with translated("resetting hypothetical indexes"):
                    self.conn.execute("select hypopg_reset()")
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
                    "select indexrelid, indexname from hypopg_create_index(%s)", (text,)
                ).fetchone()
                assert row is not None
                created.handle = int(row["indexrelid"])
                created.name = str(row["indexname"])
                size = self.conn.execute(
                    "select hypopg_relation_size(%s) as bytes", (created.handle,)
                ).fetchone()
                created.size_bytes = int(size["bytes"]) if size else 0
            except psycopg.Error as exc:
                created.error = _first_line(exc)
        elif method == ROLLBACK:
            name = f"pgtune_hx_whatif_{next(self._names)}"
            savepoint = sql.Identifier(f"{name}_sp")
            try:
                self.conn.execute(sql.SQL("SAVEPOINT {}").format(savepoint))
                self.conn.execute(index.create_statement(name, concurrently=False))
                size = self.conn.execute(
                    "select pg_relation_size(%s::regclass) as bytes",
                    (f"{_q(index.schema)}.{_q(name)}",),
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
            created.size_bytes = estimate_size(index, info, self.catalog) if info else 0
        return created

    # -- costs -----------------------------------------------------------

    def plan_cost(self, query: WorkloadQuery) -> PlanCost:
        """The plan cost of ``query`` with every live index (estimated ones overlaid)."""
        result = explain(self.conn, query.sql, facts=query.facts)
        plan = result.plan
        used = {n.index_name for n in plan.nodes() if n.index_name}
        names = {m.name for m in self.live() if m.method != ESTIMATE}
        total = plan.total_cost
        chosen: set[str] = {u for u in used if u in names}
        best: tuple[float, str] | None = None  # the planner would pick one of them
        for member in self.live():
            if member.method != ESTIMATE or member.name is None:
                continue
            info = self.catalog.table(member.index.schema, member.index.table)
            if info is None:
                continue
            cost = estimate_cost(query, member.index, plan, info, self.catalog)
            if cost is not None and cost < total and (best is None or cost < best[0]):
                best = (cost, member.name)
        if best is not None:
            total = best[0]
            chosen.add(best[1])
        return PlanCost(total, frozenset(chosen), plan)


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _first_line(exc: Exception) -> str:
    text = redact(str(exc)).strip().splitlines()
    return text[0] if text else type(exc).__name__


# -- the estimate method ------------------------------------------------------


def estimate_size(index: IndexDef, info: TableInfo | None, catalog: Catalog) -> int:
    """Bytes of an index from reltuples and pg_stats average widths.

    btree: leaf tuples of 8 bytes header + MAXALIGN(data) + 4 bytes line
    pointer, pages 90% full, +1% inner pages, +1 metapage. GIN: about the
    width of the indexed data (trigram and jsonb entries are compressed
    posting lists; a rough figure, enough to rank candidates).
    """
    if info is None:
        return 0
    stats = catalog.stats(info)
    rows = info.reltuples
    if index.where is not None:
        rows *= _partial_fraction(index, info, catalog)
    widths = []
    for key in index.keys:
        st = stats.get(key.column)
        widths.append(st.avg_width if st and not key.is_expression else 16)
    widths += [stats[c].avg_width if c in stats else 8 for c in index.include]
    data = sum(widths)
    if index.method == "gin":
        return int(max(BLOCK * 2, rows * max(data, 8)))
    tuple_bytes = 8 + 8 * math.ceil(data / 8) + 4
    per_page = max(1, int((BLOCK * FILLFACTOR - 24) // tuple_bytes))
    pages = math.ceil(rows / per_page) * 1.01 + 1
    return int(pages * BLOCK)


def _partial_fraction(index: IndexDef, info: TableInfo, catalog: Catalog) -> float:
    """Share of rows a partial index keeps: from the simple forms we generate."""
    stats = catalog.stats(info)
    fraction = 1.0
    for part in (index.where or "").split(" AND "):
        words = part.split(" ", 2)
        column = words[0].strip('"')
        st = stats.get(column)
        if st is None:
            fraction *= 0.5
        elif part.endswith("IS NOT NULL"):
            fraction *= 1 - st.null_frac
        elif part.endswith("IS NULL"):
            fraction *= st.null_frac
        elif len(words) == 3 and words[1] == "=":
            value = words[2].strip()
            value = value[1:-1].replace("''", "'") if value.startswith("'") else value
            fraction *= st.frequency(value)
        else:
            fraction *= 0.5
    return max(fraction, 1.0 / max(info.reltuples, 1.0))


def _usable_selectivity(
    query: WorkloadQuery, index: IndexDef, info: TableInfo, catalog: Catalog
) -> tuple[float, bool, TableRef] | None:
    """Selectivity of the statement's predicates the index can use as bounds,
    and whether the index also gives the ORDER BY; None if it cannot be used."""
    refs = [t for t in query.facts.tables if t.key == (index.schema, index.table)]
    if not refs:
        return None
    stats = catalog.stats(info)
    best: tuple[float, bool, TableRef] | None = None
    for ref in refs:
        preds = [p for p in query.facts.predicates_on(ref) if not p.in_or and not p.negated]
        if index.where is not None:
            wanted = {canonical(w) for w in index.where.split(" AND ")}
            have = {canonical(_pred_sql(p)) for p in preds if p.is_constant}
            if not wanted <= have:
                continue
        sel = 1.0
        bounded = False
        for key in index.keys:
            matching = [
                p
                for p in preds
                if p.target.sql == (key.expression or p.target.sql)
                and p.target.column == key.column
            ]
            eq = [p for p in matching if p.kind in ("equality", "null")]
            if index.method == "gin":
                if [p for p in matching if p.kind in ("containment", "like")]:
                    sel *= DEFAULT_CONTAINMENT_SEL
                    bounded = True
                break
            if eq:
                st = stats.get(key.column)
                sel *= (1.0 / st.distinct) if st and not key.is_expression else 0.005
                bounded = True
                continue
            rng = [p for p in matching if p.kind in ("range", "like")]
            if rng:
                sel *= DEFAULT_INEQ_SEL if rng[0].operator != "BETWEEN" else 0.005
                bounded = True
            break
        block = query.facts.block(ref.scope)
        ordered = bool(
            block
            and block.order_by
            and index.method == "btree"
            and all(k.table == ref for k in block.order_by)
            and [k.target.column for k in block.order_by if k.target]
            == [k.column for k in index.keys[: len(block.order_by)]]
        )
        if (bounded or ordered or index.where is not None) and (best is None or sel < best[0]):
            best = (sel, ordered, ref)
    return best


def _pred_sql(p: Predicate) -> str:
    if p.operator in ("IS NULL", "IS NOT NULL"):
        return f"{p.target.sql} {p.operator}"
    return f"{p.target.sql} {p.operator} {p.operand.text}"


def estimate_cost(
    query: WorkloadQuery, index: IndexDef, plan: Plan, info: TableInfo, catalog: Catalog
) -> float | None:
    """The plan's total cost with its scan of the table replaced by an index
    scan costed from pg_stats (random pages for index leaves and heap pages,
    fewer heap pages with good correlation, the Sort gone when the index gives
    the order, rows cut by LIMIT). None when the index cannot be used."""
    usable = _usable_selectivity(query, index, info, catalog)
    if usable is None:
        return None
    sel, ordered, ref = usable
    scans = [
        n
        for n in plan.nodes()
        if n.relation == index.table
        and (n.schema in (None, index.schema))
        and n.node_type.endswith("Scan")
    ]
    if not scans:
        return None
    scan = max(scans, key=lambda n: n.total_cost)
    session = catalog.session
    rows = max(1.0, info.reltuples * sel)
    limit = query.facts.limit.count if query.facts.limit and query.facts.limit.count else None
    if ordered and limit:
        rows = min(rows, float(limit))
    index_pages = estimate_size(index, info, catalog) / BLOCK
    leaf = max(1.0, index_pages * rows / max(info.reltuples, 1.0))
    stats = catalog.stats(info)
    corr = stats[index.keys[0].column].correlation if index.keys[0].column in stats else None
    corr2 = (corr or 0.0) ** 2
    heap_pages = min(float(info.relpages), rows)
    needed = query.facts.columns_of(ref)
    covering = needed is not None and set(needed) <= set(index.columns)
    if covering and index.include:
        heap_pages *= 1.0 - info.allvisible_fraction
    cost = (
        session.random_page_cost * (3 + leaf)
        + heap_pages * (session.random_page_cost * (1 - corr2) + session.seq_page_cost * corr2)
        + rows * (session.cpu_index_tuple_cost + session.cpu_tuple_cost)
    )
    if index.method == "gin":
        cost += rows * session.cpu_operator_cost * 10  # recheck of lossy matches
    saved = scan.total_cost - cost
    if ordered:
        saved += sum(
            n.exclusive_cost for n in plan.nodes() if n.node_type in ("Sort", "Incremental Sort")
        )
    if saved <= 0:
        return None
    return max(cost, plan.total_cost - saved)
