"""Query facts from SQL text, with pglast visitors.

``extract_facts(sql, search_path=..., lookup=...)`` parses one statement
(pg_stat_statements' normalized text with ``$n`` parameters included) and
returns a frozen ``QueryFacts``: the relations it reads, per-relation
predicates, join keys, ORDER BY / GROUP BY, projected columns, LIMIT,
expressions over columns, LIKE patterns and a fingerprint.

How it works: one ``FactsVisitor`` (a ``pglast.visitors.Visitor``) walks the
tree breadth first, so a statement node is always seen before the expressions
inside it. ``visit_SelectStmt`` (and the UPDATE/DELETE/INSERT ones) builds the
block's scope from its FROM list: base relations (schema found through the
search path), CTEs, sub-selects and views (expanded when a ``lookup`` gives
their definition), whose output columns map back to base columns. Later
``visit_A_Expr``, ``visit_NullTest``, ``visit_ColumnRef`` and
``visit_SortBy`` resolve columns in the nearest block, then in the outer ones
(correlated sub-queries), as PostgreSQL does.

A comparison is a predicate only when everything between it and the WHERE (or
ON) clause is AND/OR/NOT: ``coalesce(a = 1, true)`` is not one.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from pglast import ast as _ast
from pglast import enums as _enums
from pglast.stream import RawStream
from pglast.visitors import Ancestor, Skip

from pgtune_hx.analyze.query_model import (
    Block,
    ColumnExpr,
    ColumnUse,
    JoinKey,
    LikePattern,
    Limit,
    Operand,
    Predicate,
    QueryFacts,
    Scalar,
    SortKey,
    TableRef,
    plain_column,
    quote_ident,
)
from pgtune_hx.analyze.sql_text import CachedVisitor, fast_parsing, fingerprint, parse_one
from pgtune_hx.errors import PgtuneError

# The AST is walked dynamically (every field may be None in pglast's stubs and
# the code checks node shapes itself), so the node classes are typed as Any.
ast: Any = _ast
enums: Any = _enums

DEFAULT_SEARCH_PATH: tuple[str, ...] = ("public",)
MAX_VIEW_DEPTH = 4


@dataclass(frozen=True)
class RelationInfo:
    """What a catalog lookup says about a relation."""

    schema: str
    name: str
    kind: str = "table"  # table | view | matview | partitioned | foreign | other
    columns: tuple[str, ...] = ()
    view_sql: str | None = None


Lookup = Callable[[str, str], RelationInfo | None]

_STATEMENTS = (ast.SelectStmt, ast.UpdateStmt, ast.DeleteStmt, ast.InsertStmt, ast.MergeStmt)
_COMMUTE = {
    "=": "=",
    "<>": "<>",
    "!=": "<>",
    "<": ">",
    ">": "<",
    "<=": ">=",
    ">=": "<=",
    "@>": "<@",
    "<@": "@>",
    "&&": "&&",
}
_JSON_OPS = frozenset({"->", "->>", "#>", "#>>"})
_AGGREGATES = frozenset(
    {
        *("count", "sum", "avg", "min", "max", "array_agg", "string_agg", "mode"),
        *("json_agg", "jsonb_agg", "json_object_agg", "jsonb_object_agg", "every"),
        *("bool_and", "bool_or", "bit_and", "bit_or", "stddev", "variance"),
        *("percentile_cont", "percentile_disc"),
    }
)
_NAMED_EXPRESSIONS = frozenset({"lower", "upper", "date_trunc"})
_MISSING: Any = object()

ColumnHit = tuple[TableRef, ColumnExpr]


@dataclass(eq=False)
class _Source:
    """A FROM item visible under ``name`` in one block."""

    name: str
    table: TableRef | None = None
    columns: frozenset[str] | None = None
    outputs: dict[str, ColumnHit | None] | None = None

    def map(self, column: str) -> Any:
        if self.table is not None:
            if self.columns is not None and column not in self.columns:
                return _MISSING
            return (self.table, plain_column(column))
        if self.outputs is not None:
            if column not in self.outputs:
                return _MISSING
            return self.outputs[column]
        return None  # a function or VALUES: the column exists, it is no base column


@dataclass(eq=False)
class _Scope:
    id: int
    kind: str
    node: Any
    parent: _Scope | None
    ctes: dict[str, Any]
    via_view: str | None
    view_depth: int
    sources: list[_Source] = field(default_factory=list)
    order_by: list[SortKey] = field(default_factory=list)
    group_by: list[SortKey] = field(default_factory=list)
    limit: Limit | None = None
    offset: Limit | None = None
    distinct: bool = False
    aliases: frozenset[str] = frozenset()

    def source(self, name: str) -> _Source | None:
        for src in reversed(self.sources):
            if src.name == name:
                return src
        return None


def _nearest_statement(ancestors: Ancestor | None) -> Ancestor | None:
    """The closest enclosing SELECT/UPDATE/DELETE/INSERT/MERGE, with the clause below it."""
    a = ancestors
    while a is not None:
        if isinstance(a.node, _STATEMENTS):
            return a
        a = a.parent
    return None


def _names(fields: Iterable[Any]) -> list[str]:
    return [f.sval for f in fields if f.__class__ is ast.String]


def _deparse(node: Any) -> str:
    return str(RawStream()(node))


def _expr_sql(node: Any) -> str | None:
    """SQL text of the simple expressions an index key can be, columns unqualified.

    pglast's RawStream prints anything but costs ~0.4 ms a call; this covers
    what ``column_expr`` accepts (columns, constants, casts, function calls,
    JSON operators) and returns None for the rest, which RawStream then prints.
    """
    if isinstance(node, ast.ColumnRef):
        names = _names(node.fields)
        return quote_ident(names[-1]) if names else None
    if isinstance(node, ast.A_Const):
        return "NULL" if node.isnull else _literal_text(_literal(node.val))
    if isinstance(node, ast.TypeCast):
        inner = _expr_sql(node.arg)
        tn = node.typeName
        if inner is None or tn.typmods or tn.arrayBounds or tn.setof or tn.pct_type:
            return None
        names = [n for n in _names(tn.names) if n != "pg_catalog"]
        if isinstance(node.arg, ast.A_Expr):
            inner = f"({inner})"
        return f"{inner}::{'.'.join(quote_ident(n) for n in names)}"
    if isinstance(node, ast.FuncCall):
        if node.agg_star or node.agg_distinct or node.agg_order or node.over or node.func_variadic:
            return None
        args = [_expr_sql(a) for a in node.args or ()]
        if any(a is None for a in args):
            return None
        name = ".".join(quote_ident(n) for n in _names(node.funcname) if n != "pg_catalog")
        return f"{name}({', '.join(a for a in args if a is not None)})"
    if (
        isinstance(node, ast.A_Expr)
        and node.kind == enums.A_Expr_Kind.AEXPR_OP
        and node.lexpr is not None
        and _names(node.name)[-1:] in (["->"], ["->>"], ["#>"], ["#>>"])
    ):
        left, right = _expr_sql(node.lexpr), _expr_sql(node.rexpr)
        if left is None or right is None:
            return None
        if isinstance(node.lexpr, ast.A_Expr | ast.TypeCast):
            left = f"({left})"
        return f"{left} {_names(node.name)[-1]} {right}"
    return None


def expression_sql(node: Any) -> str:
    """SQL text of an expression node with its columns unqualified."""
    text = _expr_sql(node)
    if text is None:
        clone = copy.deepcopy(node)
        _Unqualify()(clone)
        text = _deparse(clone)
    return text


class _Unqualify(CachedVisitor):
    """Strip table qualifiers from column references (for index key text)."""

    def visit_ColumnRef(self, ancestors: Ancestor, node: Any) -> Any:
        if len(node.fields) > 1:
            node.fields = node.fields[-1:]
        return Skip


class _HasColumn(CachedVisitor):
    found = False

    def visit_ColumnRef(self, ancestors: Ancestor, node: Any) -> Any:
        self.found = True
        return Skip

    def visit_SubLink(self, ancestors: Ancestor, node: Any) -> Any:
        return Skip


_SIMPLE = (ast.ColumnRef, ast.A_Const, ast.ParamRef)


def _is_simple(node: Any) -> bool:
    """Columns, constants and parameters only (casts and lists of them included)."""
    if node is None or isinstance(node, _SIMPLE):
        return True
    if isinstance(node, ast.TypeCast):
        return isinstance(node.arg, _SIMPLE)
    if isinstance(node, tuple):
        return all(_is_simple(i) for i in node)
    return False


def _has_column(node: Any) -> bool:
    if isinstance(node, ast.ColumnRef):
        return True
    if isinstance(node, ast.A_Const | ast.ParamRef):
        return False
    finder = _HasColumn()
    finder(node)
    return finder.found


def _literal(value: Any) -> Scalar:
    if isinstance(value, ast.Integer):
        return int(value.ival)
    if isinstance(value, ast.Float):
        return float(value.fval)
    if isinstance(value, ast.Boolean):
        return bool(value.boolval)
    if isinstance(value, ast.String):
        return str(value.sval)
    if isinstance(value, ast.BitString):
        return str(value.bsval)
    return None


def _literal_text(value: Scalar) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return "'" + value.replace("'", "''") + "'"


def _funcname(node: Any) -> str:
    names = _names(node.funcname)
    return names[-1].lower() if names else ""


class _Collector:
    """Shared state of one extraction: scopes, and the facts found so far."""

    def __init__(self, search_path: Sequence[str], lookup: Lookup | None) -> None:
        self.search_path = tuple(s for s in search_path if s and s != "$user")
        self.lookup = lookup
        self.scopes: dict[int, _Scope] = {}
        self.ordered_scopes: list[_Scope] = []
        self.keep: list[Any] = []  # nodes whose id() keys a scope stay alive
        self.tables: list[TableRef] = []
        self.predicates: list[Predicate] = []
        self.joins: list[JoinKey] = []
        self.referenced: dict[ColumnUse, None] = {}
        self.projected: dict[ColumnUse, None] = {}
        self.star: dict[TableRef, None] = {}
        self.expressions: dict[ColumnHit, None] = {}
        self.written: list[TableRef] = []
        self.updated: dict[ColumnUse, None] = {}
        self.unresolved: dict[str, None] = {}
        self.pending_views: list[Any] = []
        self.params = 0
        self.locking = False
        self.modifying_cte = False
        self.select_into = False
        self._relations: dict[tuple[str | None, str], tuple[str | None, RelationInfo | None]] = {}
        self._building: set[int] = set()

    # -- relations -------------------------------------------------------

    def relation(self, schema: str | None, name: str) -> tuple[str | None, RelationInfo | None]:
        """Resolve a relation name through the search path."""
        key = (schema, name)
        cached = self._relations.get(key)
        if cached is not None:
            return cached
        info: RelationInfo | None = None
        if self.lookup is not None:
            if schema is not None:
                info = self.lookup(schema, name)
            else:
                path = self.search_path
                if "pg_catalog" not in path:
                    path = ("pg_catalog", *path)
                for candidate in path:
                    info = self.lookup(candidate, name)
                    if info is not None:
                        break
        resolved = schema
        if info is not None:
            resolved = info.schema
        elif schema is None and self.lookup is None and self.search_path:
            resolved = self.search_path[0]
        self._relations[key] = (resolved, info)
        return resolved, info

    # -- scopes ----------------------------------------------------------

    def scope_for(
        self, node: Any, parent: _Scope | None, via_view: str | None = None, view_depth: int = 0
    ) -> _Scope:
        existing = self.scopes.get(id(node))
        if existing is not None:
            return existing
        ctes = dict(parent.ctes) if parent else {}
        with_clause = getattr(node, "withClause", None)
        if with_clause is not None:
            for cte in with_clause.ctes or ():
                ctes[cte.ctename] = cte
                if not isinstance(cte.ctequery, ast.SelectStmt):
                    self.modifying_cte = True
        if parent is not None and via_view is None:
            via_view, view_depth = parent.via_view, parent.view_depth
        kind = {
            ast.SelectStmt: "select",
            ast.UpdateStmt: "update",
            ast.DeleteStmt: "delete",
            ast.InsertStmt: "insert",
            ast.MergeStmt: "merge",
        }.get(type(node), "other")
        scope = _Scope(len(self.ordered_scopes), kind, node, parent, ctes, via_view, view_depth)
        self.scopes[id(node)] = scope
        self.ordered_scopes.append(scope)
        self.keep.append(node)
        if isinstance(node, ast.SelectStmt):
            scope.aliases = frozenset(
                t.name for t in node.targetList or () if isinstance(t, ast.ResTarget) and t.name
            )
            for item in node.fromClause or ():
                self.add_from_item(scope, item)
        elif isinstance(node, ast.UpdateStmt | ast.DeleteStmt | ast.InsertStmt | ast.MergeStmt):
            target = self.add_from_item(scope, node.relation)
            if target and target[0].table is not None:
                self.written.append(target[0].table)
            extra = getattr(node, "fromClause", None) or getattr(node, "usingClause", None)
            for item in extra or ():
                self.add_from_item(scope, item)
            source_relation = getattr(node, "sourceRelation", None)
            if source_relation is not None:
                self.add_from_item(scope, source_relation)
        return scope

    def add_from_item(self, scope: _Scope, item: Any) -> list[_Source]:
        """Add a FROM item's sources to the scope; returns them (for USING)."""
        added: list[_Source] = []
        if isinstance(item, ast.RangeVar):
            added.append(self.range_var(scope, item))
        elif isinstance(item, ast.JoinExpr):
            left = self.add_from_item(scope, item.larg)
            right = self.add_from_item(scope, item.rarg)
            self.using_keys(item, left, right)
            return left + right  # already in scope.sources
        elif isinstance(item, ast.RangeSubselect):
            name = item.alias.aliasname if item.alias else "?subquery"
            renames = _names(item.alias.colnames or ()) if item.alias else []
            outputs = self.outputs_of(item.subquery, scope)
            added.append(_derived(name, outputs, renames))
        elif isinstance(item, ast.RangeFunction):
            name = item.alias.aliasname if item.alias else _range_function_name(item)
            added.append(_Source(name))
        elif isinstance(item, ast.RangeTableSample):
            return self.add_from_item(scope, item.relation)
        elif item is not None:
            alias = getattr(item, "alias", None)
            added.append(_Source(getattr(alias, "aliasname", None) or "?"))
        scope.sources.extend(added)
        return added

    def range_var(self, scope: _Scope, rv: Any) -> _Source:
        alias = rv.alias.aliasname if rv.alias else rv.relname
        if rv.schemaname is None and rv.relname in scope.ctes:
            cte = scope.ctes[rv.relname]
            if id(cte) in self._building or not isinstance(cte.ctequery, ast.SelectStmt):
                return _Source(alias, outputs={})  # recursive reference or DML CTE
            self._building.add(id(cte))
            try:
                outputs = self.outputs_of(cte.ctequery, scope)
            finally:
                self._building.discard(id(cte))
            renames = _names(cte.aliascolnames or ())
            return _derived(alias, outputs, renames)
        schema, info = self.relation(rv.schemaname, rv.relname)
        if (
            info is not None
            and info.kind == "view"
            and info.view_sql
            and scope.view_depth < MAX_VIEW_DEPTH
        ):
            expanded = self.expand_view(info, scope)
            if expanded is not None:
                return _derived(alias, expanded, [])
        ref = TableRef(schema, rv.relname, alias, scope.id, scope.via_view)
        self.tables.append(ref)
        columns = frozenset(info.columns) if info is not None and info.columns else None
        return _Source(alias, table=ref, columns=columns)

    def expand_view(self, info: RelationInfo, scope: _Scope) -> list[tuple[str, Any]] | None:
        try:
            body = parse_one(info.view_sql or "")
        except Exception:  # a view we cannot parse is treated as a table
            return None
        if not isinstance(body, ast.SelectStmt):
            return None
        name = f"{info.schema}.{info.name}"
        view_scope = self.scope_for(body, None, via_view=name, view_depth=scope.view_depth + 1)
        self.pending_views.append(body)
        return self.outputs_of(body, view_scope.parent, scope_=view_scope)

    def outputs_of(
        self, select: Any, parent: _Scope | None, scope_: _Scope | None = None
    ) -> list[tuple[str, Any]]:
        """Output columns of a sub-select, each mapped to a base column when it is one."""
        if not isinstance(select, ast.SelectStmt):
            return []
        scope = scope_ or self.scope_for(select, parent)
        if select.op != enums.SetOperation.SETOP_NONE:
            return self.outputs_of(select.larg, scope)
        outputs: list[tuple[str, Any]] = []
        for res in select.targetList or ():
            if not isinstance(res, ast.ResTarget):
                continue
            val = res.val
            if isinstance(val, ast.ColumnRef) and isinstance(val.fields[-1], ast.A_Star):
                qualifier = _names(val.fields)
                sources = (
                    [s for s in [scope.source(qualifier[-1])] if s] if qualifier else scope.sources
                )
                for src in sources:
                    if src.table is not None and src.columns is not None:
                        for col in sorted(src.columns):
                            outputs.append((col, src.map(col)))
                    elif src.outputs is not None:
                        outputs.extend(src.outputs.items())
                continue
            name = res.name or _default_name(val)
            outputs.append((name, self.column_expr(scope, val)))
        return outputs

    def enclosing_scope(self, ancestors: Ancestor) -> _Scope | None:
        found = _nearest_statement(ancestors)
        if found is None:
            return None
        return self.scopes.get(id(found.node))

    def using_keys(self, join: Any, left: list[_Source], right: list[_Source]) -> None:
        columns = _names(join.usingClause or ())
        source = "using"
        if join.isNatural:
            source = "natural"
            lcols = set().union(*(s.columns or frozenset() for s in left)) if left else set()
            rcols = set().union(*(s.columns or frozenset() for s in right)) if right else set()
            columns = sorted(lcols & rcols)
        for col in columns:
            lhit = _first_hit(left, col)
            rhit = _first_hit(right, col)
            if lhit and rhit and lhit[0] != rhit[0]:
                self.joins.append(JoinKey(lhit[0], lhit[1], rhit[0], rhit[1], "=", source))
                self.referenced[ColumnUse(lhit[0], lhit[1].column)] = None
                self.referenced[ColumnUse(rhit[0], rhit[1].column)] = None

    # -- columns and operands -------------------------------------------

    def resolve(self, scope: _Scope | None, fields: Sequence[Any]) -> ColumnHit | None:
        names = _names(fields)
        if not names:
            return None
        s = scope
        while s is not None:
            hit: ColumnHit | None = _resolve_in(s, names, self.lookup is not None)
            if hit is not _MISSING:
                return hit
            s = s.parent
        self.unresolved[".".join(names)] = None
        return None

    def column_expr(self, scope: _Scope | None, node: Any) -> ColumnHit | None:
        """The (relation, column or expression over one column) that ``node`` is."""
        if isinstance(node, ast.ColumnRef):
            if isinstance(node.fields[-1], ast.A_Star):
                return None
            return self.resolve(scope, node.fields)
        if isinstance(node, ast.TypeCast):
            inner = self.column_expr(scope, node.arg)
            return self._expression(node, inner, "cast") if inner else None
        if isinstance(node, ast.FuncCall):
            name = _funcname(node)
            if name in _AGGREGATES or node.over is not None or node.agg_star:
                return None
            hits = [self.column_expr(scope, arg) for arg in node.args or () if _has_column(arg)]
            if len(hits) != 1 or hits[0] is None:
                return None
            kind = name if name in _NAMED_EXPRESSIONS else "function"
            return self._expression(node, hits[0], kind)
        if (
            isinstance(node, ast.A_Expr)
            and node.kind == enums.A_Expr_Kind.AEXPR_OP
            and _names(node.name)[-1:] in (["->"], ["->>"], ["#>"], ["#>>"])
            and node.lexpr is not None
            and not _has_column(node.rexpr)
        ):
            inner = self.column_expr(scope, node.lexpr)
            return self._expression(node, inner, "json_field") if inner else None
        return None

    def _expression(self, node: Any, inner: ColumnHit, kind: str) -> ColumnHit:
        return inner[0], ColumnExpr(inner[1].column, kind, expression_sql(node))

    def operand(self, scope: _Scope | None, node: Any) -> Operand:
        if isinstance(node, ast.ParamRef):
            self.params = max(self.params, node.number)
            return Operand("param", f"${node.number}", param=node.number)
        if isinstance(node, ast.A_Const):
            if node.isnull:
                return Operand("null", "NULL")
            value = _literal(node.val)
            return Operand("const", _literal_text(value), value=value)
        if isinstance(node, ast.TypeCast) and isinstance(node.arg, ast.A_Const | ast.ParamRef):
            inner = self.operand(scope, node.arg)
            return Operand(inner.kind, _deparse(node), value=inner.value, param=inner.param)
        if isinstance(node, tuple):
            return Operand("list", None, items=tuple(self.operand(scope, i) for i in node))
        if isinstance(node, ast.A_ArrayExpr):
            items = tuple(self.operand(scope, i) for i in node.elements or ())
            return Operand("list", _deparse(node), items=items)
        if isinstance(node, ast.SubLink):
            return Operand("subquery", None)
        if _has_column(node):
            hit = self.column_expr(scope, node)
            if hit is None:
                return Operand("column", None)
            self.referenced[ColumnUse(hit[0], hit[1].column)] = None
            return Operand("column", hit[1].sql, table=hit[0], column=hit[1])
        return Operand("expr", _deparse(node))

    # -- recording -------------------------------------------------------

    def add_predicate(
        self,
        hit: ColumnHit,
        operator: str,
        operand: Operand,
        context: tuple[_Scope, str, bool, bool],
        like: LikePattern | None = None,
    ) -> None:
        _, clause, in_or, negated = context
        table, target = hit
        self.predicates.append(
            Predicate(table, target, operator, operand, in_or, negated, clause, like)
        )
        self.referenced[ColumnUse(table, target.column)] = None
        if not target.is_column:
            self.expressions[hit] = None

    def add_join(self, left: ColumnHit, right: ColumnHit, operator: str, clause: str) -> None:
        self.referenced[ColumnUse(left[0], left[1].column)] = None
        self.referenced[ColumnUse(right[0], right[1].column)] = None
        if left[0] == right[0]:
            return
        self.joins.append(JoinKey(left[0], left[1], right[0], right[1], operator, clause))

    def sort_key(self, scope: _Scope, node: Any, descending: bool, nulls: bool | None) -> SortKey:
        expr = _output_expr(scope.node, node)
        hit = self.column_expr(scope, expr)
        if hit is not None and not hit[1].is_column:
            self.expressions[hit] = None
        if hit is None:
            return SortKey(None, None, descending, nulls, _expr_sql(expr) or _deparse(expr))
        table, target = hit
        text = f"{quote_ident(table.alias)}.{target.sql}" if target.is_column else target.sql
        return SortKey(table, target, descending, nulls, text)

    def build(self, sql: str, stmt: Any) -> QueryFacts:
        kind = {
            ast.SelectStmt: "select",
            ast.InsertStmt: "insert",
            ast.UpdateStmt: "update",
            ast.DeleteStmt: "delete",
            ast.MergeStmt: "merge",
        }.get(type(stmt), "utility")
        blocks = tuple(
            Block(
                id=s.id,
                kind=s.kind,
                tables=tuple(src.table for src in s.sources if src.table is not None),
                order_by=tuple(s.order_by),
                group_by=tuple(s.group_by),
                limit=s.limit,
                offset=s.offset,
                distinct=s.distinct,
                parent=s.parent.id if s.parent else None,
            )
            for s in self.ordered_scopes
        )
        return QueryFacts(
            sql=sql,
            kind=kind,
            fingerprint=fingerprint(sql),
            tables=tuple(self.tables),
            blocks=blocks,
            predicates=tuple(self.predicates),
            joins=tuple(dict.fromkeys(self.joins)),
            projected=tuple(self.projected),
            star=tuple(self.star),
            referenced=tuple(self.referenced),
            expressions=tuple(self.expressions),
            written=tuple(dict.fromkeys(self.written)),
            updated_columns=tuple(self.updated),
            params=self.params,
            locking=self.locking,
            modifying_cte=self.modifying_cte,
            select_into=self.select_into,
            unresolved=tuple(self.unresolved),
        )


def _first_hit(sources: list[_Source], column: str) -> ColumnHit | None:
    for src in sources:
        hit: ColumnHit | None = src.map(column)
        if hit is not _MISSING and hit is not None:
            return hit
    return None


def _resolve_in(scope: _Scope, names: list[str], catalog: bool) -> Any:
    """A hit, None (found here but no base column or ambiguous), or _MISSING."""
    if len(names) >= 2:
        qualifier, column = names[-2], names[-1]
        schema = names[-3] if len(names) >= 3 else None
        for src in reversed(scope.sources):
            if src.name == qualifier and (schema is None or _schema_of(src) in (schema, None)):
                return src.map(column)
        return _MISSING
    column = names[0]
    known = [s for s in scope.sources if s.columns is not None and column in s.columns]
    if len(known) == 1:
        return known[0].map(column)
    if len(known) > 1:
        return None  # ambiguous
    unknown = [s for s in scope.sources if s.columns is None]
    if len(unknown) == 1:
        return unknown[0].map(column)
    if len(unknown) > 1:
        return None  # cannot tell which one without a catalog
    return _MISSING


def _schema_of(src: _Source) -> str | None:
    return src.table.schema if src.table else None


def _derived(name: str, outputs: list[tuple[str, Any]], renames: list[str]) -> _Source:
    mapped: dict[str, ColumnHit | None] = {}
    for i, (col, hit) in enumerate(outputs):
        mapped.setdefault(renames[i] if i < len(renames) else col, hit)
    return _Source(name, outputs=mapped, columns=frozenset(mapped))


def _range_function_name(item: Any) -> str:
    for entry in item.functions or ():
        for fn in entry:
            if isinstance(fn, ast.FuncCall):
                return _funcname(fn)
    return "?function"


def _default_name(val: Any) -> str:
    """PostgreSQL's output name for an unnamed target."""
    if isinstance(val, ast.ColumnRef):
        names = _names(val.fields)
        return names[-1] if names else "?column?"
    if isinstance(val, ast.FuncCall):
        return _funcname(val)
    if isinstance(val, ast.TypeCast):
        return _default_name(val.arg)
    return "?column?"


def _output_expr(stmt: Any, node: Any) -> Any:
    """ORDER BY/GROUP BY may name an output column or its position."""
    targets = getattr(stmt, "targetList", None) or ()
    if isinstance(node, ast.A_Const) and isinstance(node.val, ast.Integer):
        pos = node.val.ival
        if 1 <= pos <= len(targets) and isinstance(targets[pos - 1], ast.ResTarget):
            return targets[pos - 1].val
    if isinstance(node, ast.ColumnRef) and len(node.fields) == 1:
        names = _names(node.fields)
        for t in targets:
            if isinstance(t, ast.ResTarget) and names and t.name == names[0]:
                return t.val
    return node


def _limit(node: Any) -> Limit | None:
    if node is None:
        return None
    if isinstance(node, ast.A_Const):
        if node.isnull:
            return Limit()
        value = _literal(node.val)
        return Limit(count=int(value)) if isinstance(value, int) else None
    if isinstance(node, ast.ParamRef):
        return Limit(param=node.number)
    if isinstance(node, ast.TypeCast):
        return _limit(node.arg)
    return None


class FactsVisitor(CachedVisitor):
    """Walks one statement (breadth first) and records its facts in a collector."""

    # names and literals: read by the visit methods of their parents
    ignore = frozenset(
        {ast.String, ast.A_Star, ast.Integer, ast.Float, ast.Boolean, ast.BitString}
        | {ast.A_Const, ast.TypeName, ast.RangeVar, ast.Alias}
    )

    def __init__(self, collector: _Collector) -> None:
        self.c = collector

    # -- blocks ----------------------------------------------------------

    def visit_SelectStmt(self, ancestors: Ancestor, node: Any) -> None:
        scope = self.c.scope_for(node, self.c.enclosing_scope(ancestors))
        scope.limit = _limit(node.limitCount)
        scope.offset = _limit(node.limitOffset)
        scope.distinct = node.distinctClause is not None
        if node.lockingClause:
            self.c.locking = True
        if node.intoClause is not None:
            self.c.select_into = True
        for item in node.groupClause or ():
            if isinstance(item, ast.GroupingSet):
                continue
            scope.group_by.append(self.c.sort_key(scope, item, False, None))

    def visit_UpdateStmt(self, ancestors: Ancestor, node: Any) -> None:
        scope = self.c.scope_for(node, self.c.enclosing_scope(ancestors))
        self._updated(scope, node.targetList)

    def visit_DeleteStmt(self, ancestors: Ancestor, node: Any) -> None:
        self.c.scope_for(node, self.c.enclosing_scope(ancestors))

    def visit_InsertStmt(self, ancestors: Ancestor, node: Any) -> None:
        scope = self.c.scope_for(node, self.c.enclosing_scope(ancestors))
        conflict = node.onConflictClause
        if conflict is not None and conflict.targetList:
            self._updated(scope, conflict.targetList)

    def visit_MergeStmt(self, ancestors: Ancestor, node: Any) -> None:
        self.c.scope_for(node, self.c.enclosing_scope(ancestors))

    def _updated(self, scope: _Scope, targets: Any) -> None:
        written = [s.table for s in scope.sources[:1] if s.table is not None]
        for res in targets or ():
            if isinstance(res, ast.ResTarget) and res.name and written:
                self.c.updated[ColumnUse(written[0], res.name)] = None

    # -- conditions ------------------------------------------------------

    def _condition(self, ancestors: Ancestor) -> tuple[_Scope, str, bool, bool] | None:
        """(scope, clause, in_or, negated) when the node is a conjunct/disjunct
        of a WHERE or JOIN ... ON clause; None when it sits inside an expression."""
        in_or = False
        negations = 0
        a: Ancestor | None = ancestors
        while a is not None and a.node is not None:
            node = a.node
            if isinstance(node, tuple):
                a = a.parent
                continue
            if isinstance(node, ast.BoolExpr):
                if node.boolop == enums.BoolExprType.OR_EXPR:
                    in_or = True
                elif node.boolop == enums.BoolExprType.NOT_EXPR:
                    negations += 1
                a = a.parent
                continue
            if isinstance(node, ast.JoinExpr):
                if a.member != "quals":
                    return None
                scope = self.c.enclosing_scope(a)
                return (scope, "on", in_or, negations % 2 == 1) if scope else None
            if isinstance(node, _STATEMENTS):
                if a.member != "whereClause":
                    return None
                scope = self.c.scopes.get(id(node))
                return (scope, "where", in_or, negations % 2 == 1) if scope else None
            return None
        return None

    def visit_A_Expr(self, ancestors: Ancestor, node: Any) -> Any:
        context = self._condition(ancestors)
        if context is None:
            return None
        recorded = len(self.c.predicates) + len(self.c.joins)
        self._predicate(context, node)
        if _is_simple(node.lexpr) and _is_simple(node.rexpr):
            # nothing below but columns and constants: record them, skip the walk
            if len(self.c.predicates) + len(self.c.joins) == recorded:
                self._reference_simple(context[0], node.lexpr, node.rexpr)
            return Skip
        return None

    def _predicate(self, context: tuple[_Scope, str, bool, bool], node: Any) -> None:
        scope = context[0]
        kind = node.kind
        names = _names(node.name)
        op = names[-1] if names else ""
        K = enums.A_Expr_Kind
        left = self.c.column_expr(scope, node.lexpr) if node.lexpr is not None else None
        if kind == K.AEXPR_OP:
            right = self.c.column_expr(scope, node.rexpr) if node.rexpr is not None else None
            if left is not None and right is not None:
                self.c.add_join(left, right, op, context[1])
            elif left is not None:
                self.c.add_predicate(left, op, self.c.operand(scope, node.rexpr), context)
            elif right is not None and op in _COMMUTE and node.lexpr is not None:
                operand = self.c.operand(scope, node.lexpr)
                self.c.add_predicate(right, _COMMUTE[op], operand, context)
            return
        if left is None:
            return
        if kind in (K.AEXPR_OP_ANY, K.AEXPR_OP_ALL):
            word = "ANY" if kind == K.AEXPR_OP_ANY else "ALL"
            operator = "IN" if (op == "=" and word == "ANY") else f"{op} {word}"
            self.c.add_predicate(left, operator, self.c.operand(scope, node.rexpr), context)
        elif kind == K.AEXPR_IN:
            operator = "IN" if op == "=" else "NOT IN"
            self.c.add_predicate(left, operator, self.c.operand(scope, node.rexpr), context)
        elif kind in (K.AEXPR_LIKE, K.AEXPR_ILIKE):
            insensitive = kind == K.AEXPR_ILIKE
            word = "ILIKE" if insensitive else "LIKE"
            operator = f"NOT {word}" if op.startswith("!") else word
            operand = self.c.operand(scope, node.rexpr)
            pattern = operand.value if isinstance(operand.value, str) else None
            like = LikePattern.of(pattern, case_insensitive=insensitive)
            self.c.add_predicate(left, operator, operand, context, like)
        elif kind in (K.AEXPR_BETWEEN, K.AEXPR_BETWEEN_SYM):
            self.c.add_predicate(left, "BETWEEN", self.c.operand(scope, node.rexpr), context)
        elif kind in (K.AEXPR_NOT_BETWEEN, K.AEXPR_NOT_BETWEEN_SYM):
            self.c.add_predicate(left, "NOT BETWEEN", self.c.operand(scope, node.rexpr), context)
        elif kind == K.AEXPR_DISTINCT:
            operand = self.c.operand(scope, node.rexpr)
            self.c.add_predicate(left, "IS DISTINCT FROM", operand, context)
        elif kind == K.AEXPR_NOT_DISTINCT:
            operand = self.c.operand(scope, node.rexpr)
            self.c.add_predicate(left, "IS NOT DISTINCT FROM", operand, context)
        elif kind == K.AEXPR_SIMILAR:
            self.c.add_predicate(left, "SIMILAR TO", self.c.operand(scope, node.rexpr), context)

    def visit_NullTest(self, ancestors: Ancestor, node: Any) -> None:
        context = self._condition(ancestors)
        if context is None:
            return
        hit = self.c.column_expr(context[0], node.arg)
        if hit is None:
            return
        is_null = node.nulltesttype == enums.NullTestType.IS_NULL
        operator = "IS NULL" if is_null else "IS NOT NULL"
        self.c.add_predicate(hit, operator, Operand("null", "NULL"), context)

    def visit_BooleanTest(self, ancestors: Ancestor, node: Any) -> None:
        context = self._condition(ancestors)
        if context is None:
            return
        hit = self.c.column_expr(context[0], node.arg)
        if hit is None:
            return
        T = enums.BoolTestType
        test = node.booltesttype
        if test in (T.IS_TRUE, T.IS_FALSE):
            value = test == T.IS_TRUE
            self.c.add_predicate(hit, "=", Operand("const", _literal_text(value), value), context)
        else:
            word = {T.IS_NOT_TRUE: "IS NOT TRUE", T.IS_NOT_FALSE: "IS NOT FALSE"}.get(
                test, "IS UNKNOWN"
            )
            self.c.add_predicate(hit, word, Operand("null", None), context)

    def visit_SubLink(self, ancestors: Ancestor, node: Any) -> None:
        """``col IN (SELECT x FROM ...)``: a semi-join key."""
        if node.subLinkType != enums.SubLinkType.ANY_SUBLINK or node.testexpr is None:
            return
        context = self._condition(ancestors)
        if context is None or context[2] or context[3]:
            return
        scope = context[0]
        left = self.c.column_expr(scope, node.testexpr)
        outputs = self.c.outputs_of(node.subselect, scope)
        if left is not None and len(outputs) == 1 and outputs[0][1] is not None:
            right = outputs[0][1]
            if left[0] != right[0]:
                self.c.joins.append(
                    JoinKey(left[0], left[1], right[0], right[1], "=", "in-subquery")
                )

    # -- column references -----------------------------------------------

    def visit_ColumnRef(self, ancestors: Ancestor, node: Any) -> Any:
        found = _nearest_statement(ancestors)
        if found is None:
            return Skip
        scope = self.c.scopes.get(id(found.node))
        if scope is not None:
            self._column_ref(scope, found.member, found.node, node, ancestors)
        return Skip

    def visit_ResTarget(self, ancestors: Ancestor, node: Any) -> Any:
        """Shortcut for the common ``SELECT t.col, ...``: no walk below."""
        if not isinstance(node.val, ast.ColumnRef) or not isinstance(ancestors.node, tuple):
            return None
        owner = ancestors.parent
        if owner is None or not isinstance(owner.node, _STATEMENTS):
            return None
        scope = self.c.scopes.get(id(owner.node))
        if scope is None:
            return None
        self._column_ref(scope, owner.member, owner.node, node.val, None)
        return Skip

    def _column_ref(
        self, scope: _Scope, clause: Any, stmt: Any, node: Any, ancestors: Ancestor | None
    ) -> None:
        fields = node.fields
        if isinstance(fields[-1], ast.A_Star):
            if clause in ("targetList", "returningList"):
                qualifier = _names(fields)
                sources = [scope.source(qualifier[-1])] if qualifier else scope.sources
                for src in sources:
                    if src is not None and src.table is not None:
                        self.c.star[src.table] = None
                    elif src is not None and src.outputs:
                        for hit in src.outputs.values():
                            if hit is not None:
                                self.c.star[hit[0]] = None
            return
        if (
            clause in ("sortClause", "groupClause")
            and len(fields) == 1
            and fields[0].sval in scope.aliases
        ):
            return  # an output column's name, not a table column
        hit = self.c.resolve(scope, fields)
        if hit is None:
            return
        use = ColumnUse(hit[0], hit[1].column)
        self.c.referenced[use] = None
        if clause == "targetList" and isinstance(stmt, ast.SelectStmt):
            self.c.projected[use] = None
        if ancestors is not None and self._is_boolean_conjunct(ancestors):
            context = self._condition(ancestors)
            if context is not None:
                # `WHERE flag` is flag = true, `WHERE NOT flag` is flag = false
                scope, clause, in_or, negated = context
                value = not negated
                operand = Operand("const", _literal_text(value), value)
                self.c.add_predicate(hit, "=", operand, (scope, clause, in_or, False))

    def _reference_simple(self, scope: _Scope, *nodes: Any) -> None:
        for node in nodes:
            if isinstance(node, ast.TypeCast):
                node = node.arg
            if isinstance(node, tuple):
                self._reference_simple(scope, *node)
            elif isinstance(node, ast.ColumnRef):
                hit = self.c.resolve(scope, node.fields)
                if hit is not None:
                    self.c.referenced[ColumnUse(hit[0], hit[1].column)] = None
            elif isinstance(node, ast.ParamRef):
                self.c.params = max(self.c.params, node.number)

    @staticmethod
    def _is_boolean_conjunct(ancestors: Ancestor) -> bool:
        parent = ancestors.node
        if isinstance(parent, tuple):
            grand = ancestors.parent.node if ancestors.parent else None
            return isinstance(grand, ast.BoolExpr)
        return isinstance(parent, (*_STATEMENTS, ast.JoinExpr)) and ancestors.member in (
            "whereClause",
            "quals",
        )

    def visit_SortBy(self, ancestors: Ancestor, node: Any) -> None:
        found = _nearest_statement(ancestors)
        if found is None or found.member != "sortClause":
            return
        scope = self.c.scopes.get(id(found.node))
        if scope is None:
            return
        D = enums.SortByDir
        N = enums.SortByNulls
        descending = node.sortby_dir == D.SORTBY_DESC or (
            node.sortby_dir == D.SORTBY_USING and _names(node.useOp or ())[-1:] == [">"]
        )
        nulls = {N.SORTBY_NULLS_FIRST: True, N.SORTBY_NULLS_LAST: False}.get(node.sortby_nulls)
        scope.order_by.append(self.c.sort_key(scope, node.node, descending, nulls))

    def visit_ParamRef(self, ancestors: Ancestor, node: Any) -> Any:
        self.c.params = max(self.c.params, node.number)
        return Skip

    def visit_A_Const(self, ancestors: Ancestor, node: Any) -> Any:
        return Skip

    def visit_TypeName(self, ancestors: Ancestor, node: Any) -> Any:
        return Skip

    def visit_RangeVar(self, ancestors: Ancestor, node: Any) -> Any:
        return Skip  # the block's scope has it already

    def visit_String(self, ancestors: Ancestor, node: Any) -> Any:
        return Skip


def extract_facts(
    sql: str,
    *,
    search_path: Sequence[str] = DEFAULT_SEARCH_PATH,
    lookup: Lookup | None = None,
) -> QueryFacts:
    """Facts of one SQL statement; InvalidSQL (with the position) when it does not parse.

    ``search_path`` resolves unqualified names (pg_catalog is searched first, as
    the server does). ``lookup(schema, name)`` is optional: with it, names are
    checked against the catalog, unqualified columns of joins are attributed to
    the right relation, and views are expanded into their base relations.
    """
    stmt = parse_one(sql)
    collector = _Collector(search_path, lookup)
    explained = isinstance(stmt, ast.ExplainStmt)
    if explained:
        stmt = stmt.query
    FactsVisitor(collector)(stmt)
    seen: set[int] = set()
    while collector.pending_views:
        body = collector.pending_views.pop(0)
        if id(body) in seen:
            continue
        seen.add(id(body))
        FactsVisitor(collector)(body)
    facts = collector.build(sql, stmt)
    return replace(facts, explained=True) if explained else facts


def extract_many(
    statements: Iterable[str],
    *,
    search_path: Sequence[str] = DEFAULT_SEARCH_PATH,
    lookup: Lookup | None = None,
) -> list[QueryFacts | PgtuneError]:
    """Facts of many statements (one parser switch for the batch, see sql_text);
    a statement that fails gives its error in its place instead of stopping the batch."""
    results: list[QueryFacts | PgtuneError] = []
    with fast_parsing():
        for sql in statements:
            try:
                results.append(extract_facts(sql, search_path=search_path, lookup=lookup))
            except PgtuneError as exc:
                results.append(exc)
    return results
