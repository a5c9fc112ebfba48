"""Records of the index advisor: index definitions, workload queries, suggestions."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from psycopg import sql

from pgtune_hx.analyze.query_model import Predicate, QueryFacts, quote_ident

MAX_NAME = 63


@dataclass(frozen=True)
class KeyPart:
    """One index key: a column, or an expression over one column."""

    column: str
    expression: str | None = None  # SQL of the expression, columns unqualified
    descending: bool = False
    nulls_first: bool | None = None  # None: the default for the direction
    opclass: str | None = None

    @property
    def is_expression(self) -> bool:
        return self.expression is not None

    @property
    def identity(self) -> str:
        """What the key indexes, independent of order and opclass."""
        return self.expression if self.expression is not None else self.column

    def render(self) -> str:
        text = f"({self.expression})" if self.expression is not None else quote_ident(self.column)
        if self.opclass:
            text += f" {quote_ident(self.opclass)}"
        if self.descending:
            text += " DESC"
        if self.nulls_first is not None and self.nulls_first != self.descending:
            text += " NULLS FIRST" if self.nulls_first else " NULLS LAST"
        return text

    def composed(self) -> sql.Composable:
        if self.expression is not None:
            # an expression printed by pglast from parsed SQL, not a value
            parts: list[sql.Composable] = [sql.SQL("({})").format(sql.SQL(self.expression))]
        else:
            parts = [sql.Identifier(self.column)]
        if self.opclass:
            parts.append(sql.Identifier(self.opclass))
        if self.descending:
            parts.append(sql.SQL("DESC"))
        if self.nulls_first is not None and self.nulls_first != self.descending:
            parts.append(sql.SQL("NULLS FIRST" if self.nulls_first else "NULLS LAST"))
        return sql.SQL(" ").join(parts)


@dataclass(frozen=True)
class IndexDef:
    """An index that could exist: table, keys, INCLUDE columns, partial predicate."""

    schema: str
    table: str
    keys: tuple[KeyPart, ...]
    include: tuple[str, ...] = ()
    where: str | None = None
    method: str = "btree"
    kinds: tuple[str, ...] = ()  # why it has this shape: equality, range, order, join, ...
    # the statement's predicates behind ``where`` (for estimates; not part of identity)
    partial: tuple[Predicate, ...] = field(default=(), compare=False, hash=False)

    @property
    def identity(self) -> tuple[Any, ...]:
        return (self.schema, self.table, self.method, self.keys, self.include, self.where)

    @property
    def qualified_table(self) -> str:
        return f"{quote_ident(self.schema)}.{quote_ident(self.table)}"

    @property
    def columns(self) -> tuple[str, ...]:
        """Every table column the index stores or tests (for HOT and write cost)."""
        names = [k.column for k in self.keys] + list(self.include)
        return tuple(dict.fromkeys(names))

    @property
    def kind(self) -> str:
        """A one-word summary: btree, multicolumn, covering, partial, expression, gin-jsonb..."""
        if self.method == "gin":
            if "trigram" in self.kinds:
                return "gin-trgm"
            return "gin-jsonb" if "jsonb" in self.kinds else "gin"
        if self.where is not None:
            return "partial"
        if any(k.is_expression for k in self.keys):
            return "expression"
        if self.include:
            return "covering"
        return "multicolumn" if len(self.keys) > 1 else "btree"

    def default_name(self) -> str:
        parts = [self.table, *(_name_part(k) for k in self.keys)]
        if self.where is not None:
            parts.append("partial")
        name = "_".join(parts) + "_idx"
        if len(name.encode()) > MAX_NAME:
            name = name.encode()[: MAX_NAME - 4].decode(errors="ignore").rstrip("_") + "_idx"
        return name

    def create_statement(self, name: str | None, *, concurrently: bool = True) -> sql.Composed:
        """CREATE INDEX [CONCURRENTLY] name ON schema.table USING method (...) ..."""
        pieces: list[sql.Composable] = [sql.SQL("CREATE INDEX")]
        if concurrently:
            pieces.append(sql.SQL("CONCURRENTLY"))
        if name is not None:
            pieces.append(sql.Identifier(name))
        pieces.append(
            sql.SQL("ON {}.{} USING {} ({})").format(
                sql.Identifier(self.schema),
                sql.Identifier(self.table),
                sql.SQL(self.method),  # our own: btree or gin
                sql.SQL(", ").join(k.composed() for k in self.keys),
            )
        )
        if self.include:
            pieces.append(
                sql.SQL("INCLUDE ({})").format(
                    sql.SQL(", ").join(map(sql.Identifier, self.include))
                )
            )
        if self.where is not None:
            # a predicate printed by pglast from the parsed statement
            pieces.append(sql.SQL("WHERE {}").format(sql.SQL(self.where)))
        return sql.SQL(" ").join(pieces)

    def create_sql(self, name: str | None, *, concurrently: bool = True) -> str:
        """The statement as people read it: identifiers quoted only where needed
        (``create_statement`` is what is executed; the two are equivalent)."""
        text = "CREATE INDEX"
        if concurrently:
            text += " CONCURRENTLY"
        if name is not None:
            text += f" {quote_ident(name)}"
        return f"{text} ON {self.describe()}"

    def describe(self) -> str:
        keys = ", ".join(k.render() for k in self.keys)
        text = f"{self.qualified_table} USING {self.method} ({keys})"
        if self.include:
            text += f" INCLUDE ({', '.join(quote_ident(c) for c in self.include)})"
        if self.where:
            text += f" WHERE {self.where}"
        return text


def _name_part(key: KeyPart) -> str:
    if key.expression is None:
        return key.column
    head = key.expression.split("(", 1)[0].strip()
    if head.isidentifier() and head != key.column:
        return f"{head}_{key.column}"
    return key.column


@dataclass(frozen=True)
class WorkloadQuery:
    """One statement of the workload with its weight.

    ``weight_ms`` is the execution time it costs over the observation window
    (pg_stat_statements' total_exec_time, or a weight from a file);
    ``window_s`` is that window when known (rates are then comparable with the
    tables' write rates).
    """

    id: str
    sql: str
    facts: QueryFacts
    weight_ms: float = 1.0
    calls: int | None = None
    mean_ms: float | None = None
    window_s: float | None = None
    source: str = "argument"

    @property
    def rate_ms_per_s(self) -> float | None:
        if self.window_s is None or self.window_s <= 0:
            return None
        return self.weight_ms / self.window_s


@dataclass(frozen=True)
class QueryGain:
    query_id: str
    sql: str
    cost_before: float
    cost_after: float
    weight_ms: float

    @property
    def speedup(self) -> float:
        return self.cost_before / self.cost_after if self.cost_after > 0 else float("inf")


@dataclass(frozen=True)
class Suggestion:
    index: IndexDef
    name: str
    create_sql: str
    verified_by: str  # hypopg | real-index-rollback | estimate
    size_bytes: int
    benefit_ms: float
    write_penalty_ms: float
    queries: tuple[QueryGain, ...]
    notes: tuple[str, ...] = ()

    @property
    def cost_before(self) -> float:
        return sum(q.cost_before for q in self.queries)

    @property
    def cost_after(self) -> float:
        return sum(q.cost_after for q in self.queries)

    def to_dict(self) -> dict[str, Any]:
        return {
            "table": f"{self.index.schema}.{self.index.table}",
            "schema": self.index.schema,
            "name": self.name,
            "create_sql": self.create_sql,
            "method": self.index.method,
            "kind": self.index.kind,
            "columns": [k.identity for k in self.index.keys],
            "keys": [k.render() for k in self.index.keys],
            "include": list(self.index.include),
            "where": self.index.where,
            "verified_by": self.verified_by,
            "cost_before": round(self.cost_before, 2),
            "cost_after": round(self.cost_after, 2),
            "size_bytes": self.size_bytes,
            "benefit_ms": round(self.benefit_ms, 3),
            "write_penalty_ms": round(self.write_penalty_ms, 3),
            "queries": [
                {
                    "id": q.query_id,
                    "query": q.sql,
                    "cost_before": round(q.cost_before, 2),
                    "cost_after": round(q.cost_after, 2),
                    "weight_ms": round(q.weight_ms, 3),
                }
                for q in self.queries
            ],
            "notes": list(self.notes),
        }


@dataclass(frozen=True)
class Rejection:
    """A candidate (or a whole table or query) not suggested, and why."""

    subject: str
    reason: str
    code: str

    def to_dict(self) -> dict[str, str]:
        return {"subject": self.subject, "code": self.code, "reason": self.reason}


@dataclass(frozen=True)
class Advice:
    suggestions: tuple[Suggestion, ...]
    rejected: tuple[Rejection, ...]
    queries: tuple[WorkloadQuery, ...]
    method: str
    notes: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "suggestions": [s.to_dict() for s in self.suggestions],
            "rejected": [r.to_dict() for r in self.rejected],
            "queries": [
                {
                    "id": q.id,
                    "query": q.sql,
                    "source": q.source,
                    "weight_ms": round(q.weight_ms, 3),
                    "calls": q.calls,
                }
                for q in self.queries
            ],
            "notes": list(self.notes),
        }
