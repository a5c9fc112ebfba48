"""The facts a statement holds, as frozen records.

``pgtune_hx.analyze.query.extract_facts`` builds them; the index advisor and
the rules read them. Every record is hashable, so facts can be grouped, cached
and compared.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Literal

from pglast.stream import maybe_double_quote_name

Scalar = str | int | float | bool | None

OperandKind = Literal["const", "param", "null", "list", "column", "expr", "subquery"]
PredicateKind = Literal["equality", "range", "like", "containment", "null", "other"]

# operators a btree can use as equality or range bounds
EQUALITY_OPS = frozenset({"=", "IN", "= ANY", "IS NULL"})
RANGE_OPS = frozenset({"<", "<=", ">", ">=", "BETWEEN"})
CONTAINMENT_OPS = frozenset({"@>", "<@", "?", "?|", "?&", "&&", "@?", "@@"})
LIKE_OPS = frozenset({"LIKE", "ILIKE"})


@lru_cache(maxsize=4096)
def quote_ident(name: str) -> str:
    """Quote an identifier only when PostgreSQL needs it.

    >>> quote_ident("orders"), quote_ident("Order"), quote_ident("user")
    ('orders', '"Order"', '"user"')
    """
    return str(maybe_double_quote_name(name))


@dataclass(frozen=True, slots=True)
class TableRef:
    """One occurrence of a base relation in a statement.

    ``schema`` is resolved through the search path: by the catalog lookup when
    one is given (None when the relation was not found), else the first schema
    of the search path. ``alias`` is the name the statement uses for it and
    ``scope`` the SELECT/UPDATE/DELETE block it belongs to, so a self-join
    gives two occurrences. ``via_view`` names the view it was expanded from.
    """

    schema: str | None
    name: str
    alias: str
    scope: int
    via_view: str | None = None
    # hashed once: occurrences key every dict of the extractor
    _hash: int = field(default=0, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        value = hash((self.schema, self.name, self.alias, self.scope, self.via_view))
        object.__setattr__(self, "_hash", value)

    def __hash__(self) -> int:
        return self._hash

    @property
    def qualified(self) -> str:
        if self.schema is None:
            return quote_ident(self.name)
        return f"{quote_ident(self.schema)}.{quote_ident(self.name)}"

    @property
    def key(self) -> tuple[str | None, str]:
        """The relation itself, whatever the occurrence."""
        return (self.schema, self.name)


@dataclass(frozen=True, slots=True)
class ColumnExpr:
    """A column, or an expression over exactly one column.

    ``sql`` is the expression with the column unqualified, ready to be an index
    key: ``email``, ``lower(email)``, ``data ->> 'kind'``,
    ``date_trunc('day', created_at)``.
    """

    column: str
    kind: str = "column"  # column | lower | upper | json_field | date_trunc | cast | function
    sql: str = ""

    @property
    def is_column(self) -> bool:
        return self.kind == "column"

    def key_sql(self) -> str:
        """The form an index definition needs: bare column or (expression)."""
        if self.is_column:
            return quote_ident(self.column)
        return f"({self.sql})"


@lru_cache(maxsize=4096)
def plain_column(name: str) -> ColumnExpr:
    """The (shared) ColumnExpr of a bare column."""
    return ColumnExpr(name, "column", quote_ident(name))


@dataclass(frozen=True, slots=True)
class Operand:
    """The side of a comparison that is not the column."""

    kind: OperandKind
    text: str | None = None
    value: Scalar = None
    param: int | None = None
    items: tuple[Operand, ...] = ()
    table: TableRef | None = None
    column: ColumnExpr | None = None

    @property
    def is_constant(self) -> bool:
        """A literal (or a list of literals): known when the statement is planned."""
        if self.kind == "list":
            return bool(self.items) and all(i.is_constant for i in self.items)
        return self.kind in ("const", "null")

    @property
    def is_comparable(self) -> bool:
        """Usable as an index bound: no column of the same block inside."""
        if self.kind == "list":
            return all(i.is_comparable for i in self.items)
        return self.kind in ("const", "param", "null", "expr")


@dataclass(frozen=True, slots=True)
class LikePattern:
    """A LIKE/ILIKE pattern; ``anchored`` is None when the pattern is a parameter."""

    pattern: str | None
    anchored: bool | None
    case_insensitive: bool
    prefix: str = ""

    @classmethod
    def of(cls, pattern: str | None, *, case_insensitive: bool) -> LikePattern:
        """
        >>> LikePattern.of("ab%", case_insensitive=False).anchored
        True
        >>> LikePattern.of("%ab%", case_insensitive=False).anchored
        False
        """
        if pattern is None:
            return cls(None, None, case_insensitive)
        prefix_chars: list[str] = []
        escaped = False
        for ch in pattern:
            if escaped:
                prefix_chars.append(ch)
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch in "%_":
                break
            else:
                prefix_chars.append(ch)
        prefix = "".join(prefix_chars)
        return cls(pattern, bool(prefix), case_insensitive, prefix)


@dataclass(frozen=True, slots=True)
class Predicate:
    """``<target> <operator> <operand>`` on one relation occurrence.

    ``in_or`` is true when the predicate sits under an OR (an index can then
    serve it only through a BitmapOr), ``negated`` under an odd number of NOTs.
    ``clause`` is where, on or using.
    """

    table: TableRef | None
    target: ColumnExpr
    operator: str
    operand: Operand
    in_or: bool = False
    negated: bool = False
    clause: str = "where"
    like: LikePattern | None = None

    @property
    def kind(self) -> PredicateKind:
        op = self.operator
        if self.negated:
            return "other"
        if op in ("IS NULL",):
            return "null"
        if op in EQUALITY_OPS:
            return "equality"
        if op in RANGE_OPS:
            return "range"
        if op in LIKE_OPS:
            return "like"
        if op in CONTAINMENT_OPS:
            return "containment"
        return "other"

    @property
    def is_constant(self) -> bool:
        """Literal value: the predicate could be a partial index's WHERE."""
        return self.operand.is_constant or self.operator in ("IS NULL", "IS NOT NULL")


@dataclass(frozen=True, slots=True)
class JoinKey:
    """An equality (or other operator) between columns of two relation occurrences."""

    left: TableRef
    left_column: ColumnExpr
    right: TableRef
    right_column: ColumnExpr
    operator: str = "="
    source: str = "on"  # on | where | using | natural | in-subquery

    def side(self, table: TableRef) -> ColumnExpr | None:
        if table == self.left:
            return self.left_column
        if table == self.right:
            return self.right_column
        return None


@dataclass(frozen=True, slots=True)
class SortKey:
    """An ORDER BY or GROUP BY item; ``table``/``target`` are None for
    expressions that are not over one column of one relation."""

    table: TableRef | None
    target: ColumnExpr | None
    descending: bool = False
    nulls_first: bool | None = None  # None: the default for the direction
    text: str = ""

    @property
    def effective_nulls_first(self) -> bool:
        """PostgreSQL's default: NULLS LAST for ASC, NULLS FIRST for DESC."""
        return self.descending if self.nulls_first is None else self.nulls_first

    @property
    def is_default_nulls(self) -> bool:
        return self.effective_nulls_first == self.descending


@dataclass(frozen=True, slots=True)
class ColumnUse:
    table: TableRef
    column: str


@dataclass(frozen=True, slots=True)
class Limit:
    """LIMIT/OFFSET: a literal count, a parameter, or ALL (both None)."""

    count: int | None = None
    param: int | None = None


@dataclass(frozen=True, slots=True)
class Block:
    """One SELECT/UPDATE/DELETE/INSERT level of a statement."""

    id: int
    kind: str
    tables: tuple[TableRef, ...]
    order_by: tuple[SortKey, ...] = ()
    group_by: tuple[SortKey, ...] = ()
    limit: Limit | None = None
    offset: Limit | None = None
    distinct: bool = False
    parent: int | None = None


@dataclass(frozen=True, slots=True)
class QueryFacts:
    """Everything the advisor and the rules need to know about one statement."""

    sql: str
    kind: str  # select | insert | update | delete | merge | utility
    fingerprint: str
    tables: tuple[TableRef, ...]
    blocks: tuple[Block, ...]
    predicates: tuple[Predicate, ...] = ()
    joins: tuple[JoinKey, ...] = ()
    projected: tuple[ColumnUse, ...] = ()
    star: tuple[TableRef, ...] = ()
    referenced: tuple[ColumnUse, ...] = ()
    expressions: tuple[tuple[TableRef, ColumnExpr], ...] = ()
    written: tuple[TableRef, ...] = ()
    updated_columns: tuple[ColumnUse, ...] = ()
    params: int = 0
    locking: bool = False
    modifying_cte: bool = False
    select_into: bool = False
    explained: bool = False  # the text was EXPLAIN <statement>
    unresolved: tuple[str, ...] = field(default=())

    @property
    def top(self) -> Block | None:
        return self.blocks[0] if self.blocks else None

    @property
    def order_by(self) -> tuple[SortKey, ...]:
        return self.top.order_by if self.top else ()

    @property
    def group_by(self) -> tuple[SortKey, ...]:
        return self.top.group_by if self.top else ()

    @property
    def limit(self) -> Limit | None:
        return self.top.limit if self.top else None

    @property
    def is_read_only(self) -> bool:
        """A plain SELECT: no INTO, no FOR UPDATE/SHARE, no data-modifying CTE."""
        return (
            self.kind == "select"
            and not self.locking
            and not self.modifying_cte
            and not self.select_into
        )

    @property
    def has_params(self) -> bool:
        return self.params > 0

    def block(self, scope: int) -> Block | None:
        for b in self.blocks:
            if b.id == scope:
                return b
        return None

    def predicates_on(self, table: TableRef) -> tuple[Predicate, ...]:
        return tuple(p for p in self.predicates if p.table == table)

    def joins_on(self, table: TableRef) -> tuple[JoinKey, ...]:
        return tuple(j for j in self.joins if table in (j.left, j.right))

    def columns_of(self, table: TableRef) -> frozenset[str] | None:
        """Every column of this occurrence the statement reads; None for ``*``."""
        if table in self.star:
            return None
        return frozenset(u.column for u in self.referenced if u.table == table)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready form (stable field names)."""

        def t(ref: TableRef | None) -> str | None:
            return None if ref is None else f"{ref.schema or '?'}.{ref.name} {ref.alias}"

        return {
            "kind": self.kind,
            "fingerprint": self.fingerprint,
            "params": self.params,
            "tables": [
                {
                    "schema": r.schema,
                    "name": r.name,
                    "alias": r.alias,
                    "scope": r.scope,
                    "via_view": r.via_view,
                }
                for r in self.tables
            ],
            "predicates": [
                {
                    "table": t(p.table),
                    "target": p.target.sql,
                    "operator": p.operator,
                    "operand": p.operand.kind,
                    "value": p.operand.text,
                    "in_or": p.in_or,
                    "negated": p.negated,
                    "clause": p.clause,
                    "like_anchored": None if p.like is None else p.like.anchored,
                }
                for p in self.predicates
            ],
            "joins": [
                {
                    "left": t(j.left),
                    "left_column": j.left_column.sql,
                    "right": t(j.right),
                    "right_column": j.right_column.sql,
                    "operator": j.operator,
                    "source": j.source,
                }
                for j in self.joins
            ],
            "order_by": [
                {
                    "table": t(s.table),
                    "target": None if s.target is None else s.target.sql,
                    "descending": s.descending,
                    "nulls_first": s.effective_nulls_first,
                }
                for s in self.order_by
            ],
            "group_by": [s.text for s in self.group_by],
            "limit": None
            if self.limit is None
            else {"count": self.limit.count, "param": self.limit.param},
            "projected": sorted({f"{u.table.alias}.{u.column}" for u in self.projected}),
            "star": [t(r) for r in self.star],
            "expressions": sorted({e.sql for _, e in self.expressions}),
            "written": [t(r) for r in self.written],
            "read_only": self.is_read_only,
        }


@dataclass(frozen=True)
class RelationInfo:
    """What a catalog lookup says about a relation."""

    schema: str
    name: str
    kind: str = "table"  # table | view | matview | partitioned | foreign | other
    columns: tuple[str, ...] = ()
    view_sql: str | None = None


Lookup = Callable[[str, str], RelationInfo | None]
