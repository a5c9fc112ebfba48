"""Scopes of a statement being read: what each name in a block refers to.

A ``Scope`` is one SELECT/UPDATE/DELETE/INSERT/MERGE level with the FROM items
it sees (``Source``: a base relation, a CTE, a sub-select or an expanded view
whose output columns map back to base columns). The ``Collector`` builds the
scopes on demand, resolves column references as PostgreSQL does (innermost
block first, then the outer ones) and accumulates the facts that
``query.FactsVisitor`` finds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from pglast.visitors import Ancestor

from pgtune_hx.analyze.query_model import (
    Block,
    ColumnExpr,
    ColumnUse,
    JoinKey,
    LikePattern,
    Limit,
    Lookup,
    Operand,
    Predicate,
    QueryFacts,
    RelationInfo,
    SortKey,
    TableRef,
    plain_column,
    quote_ident,
)
from pgtune_hx.analyze.sql_expr import (
    JSON_OPS,
    ast,
    deparse,
    enums,
    expr_sql,
    expression_sql,
    funcname,
    has_column,
    literal,
    literal_text,
    string_names,
)
from pgtune_hx.analyze.sql_text import fingerprint, parse_one

MAX_VIEW_DEPTH = 4

STATEMENTS = (ast.SelectStmt, ast.UpdateStmt, ast.DeleteStmt, ast.InsertStmt, ast.MergeStmt)
COMMUTE = {
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
_AGGREGATES = frozenset(
    {
        *("count", "sum", "avg", "min", "max", "array_agg", "string_agg", "mode"),
        *("json_agg", "jsonb_agg", "json_object_agg", "jsonb_object_agg", "every"),
        *("bool_and", "bool_or", "bit_and", "bit_or", "stddev", "variance"),
        *("percentile_cont", "percentile_disc"),
    }
)
_NAMED_EXPRESSIONS = frozenset({"lower", "upper", "date_trunc"})
MISSING: Any = object()

ColumnHit = tuple[TableRef, ColumnExpr]


@dataclass(eq=False)
class Source:
    """A FROM item visible under ``name`` in one block."""

    name: str
    table: TableRef | None = None
    columns: frozenset[str] | None = None
    outputs: dict[str, ColumnHit | None] | None = None

    def map(self, column: str) -> Any:
        if self.table is not None:
            if self.columns is not None and column not in self.columns:
                return MISSING
            return (self.table, plain_column(column))
        if self.outputs is not None:
            if column not in self.outputs:
                return MISSING
            return self.outputs[column]
        return None  # a function or VALUES: the column exists, it is no base column


@dataclass(eq=False)
class Scope:
    id: int
    kind: str
    node: Any
    parent: Scope | None
    ctes: dict[str, Any]
    via_view: str | None
    view_depth: int
    sources: list[Source] = field(default_factory=list)
    order_by: list[SortKey] = field(default_factory=list)
    group_by: list[SortKey] = field(default_factory=list)
    limit: Limit | None = None
    offset: Limit | None = None
    distinct: bool = False
    aliases: frozenset[str] = frozenset()

    def source(self, name: str) -> Source | None:
        for src in reversed(self.sources):
            if src.name == name:
                return src
        return None


def nearest_statement(ancestors: Ancestor | None) -> Ancestor | None:
    """The closest enclosing SELECT/UPDATE/DELETE/INSERT/MERGE, with the clause below it."""
    a = ancestors
    while a is not None:
        if isinstance(a.node, STATEMENTS):
            return a
        a = a.parent
    return None


class Collector:
    """Shared state of one extraction: scopes, and the facts found so far."""

    def __init__(self, search_path: Sequence[str], lookup: Lookup | None) -> None:
        self.search_path = tuple(s for s in search_path if s and s != "$user")
        self.lookup = lookup
        self.scopes: dict[int, Scope] = {}
        self.ordered_scopes: list[Scope] = []
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
        self, node: Any, parent: Scope | None, via_view: str | None = None, view_depth: int = 0
    ) -> Scope:
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
        scope = Scope(len(self.ordered_scopes), kind, node, parent, ctes, via_view, view_depth)
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

    def add_from_item(self, scope: Scope, item: Any) -> list[Source]:
        """Add a FROM item's sources to the scope; returns them (for USING)."""
        added: list[Source] = []
        if isinstance(item, ast.RangeVar):
            added.append(self.range_var(scope, item))
        elif isinstance(item, ast.JoinExpr):
            left = self.add_from_item(scope, item.larg)
            right = self.add_from_item(scope, item.rarg)
            self.using_keys(item, left, right)
            return left + right  # already in scope.sources
        elif isinstance(item, ast.RangeSubselect):
            name = item.alias.aliasname if item.alias else "?subquery"
            renames = string_names(item.alias.colnames or ()) if item.alias else []
            outputs = self.outputs_of(item.subquery, scope)
            added.append(_derived(name, outputs, renames))
        elif isinstance(item, ast.RangeFunction):
            name = item.alias.aliasname if item.alias else _range_function_name(item)
            added.append(Source(name))
        elif isinstance(item, ast.RangeTableSample):
            return self.add_from_item(scope, item.relation)
        elif item is not None:
            alias = getattr(item, "alias", None)
            added.append(Source(getattr(alias, "aliasname", None) or "?"))
        scope.sources.extend(added)
        return added

    def range_var(self, scope: Scope, rv: Any) -> Source:
        alias = rv.alias.aliasname if rv.alias else rv.relname
        if rv.schemaname is None and rv.relname in scope.ctes:
            cte = scope.ctes[rv.relname]
            if id(cte) in self._building or not isinstance(cte.ctequery, ast.SelectStmt):
                return Source(alias, outputs={})  # recursive reference or DML CTE
            self._building.add(id(cte))
            try:
                outputs = self.outputs_of(cte.ctequery, scope)
            finally:
                self._building.discard(id(cte))
            renames = string_names(cte.aliascolnames or ())
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
        return Source(alias, table=ref, columns=columns)

    def expand_view(self, info: RelationInfo, scope: Scope) -> list[tuple[str, Any]] | None:
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
        self, select: Any, parent: Scope | None, scope_: Scope | None = None
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
                qualifier = string_names(val.fields)
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

    def enclosing_scope(self, ancestors: Ancestor) -> Scope | None:
        found = nearest_statement(ancestors)
        if found is None:
            return None
        return self.scopes.get(id(found.node))

    def using_keys(self, join: Any, left: list[Source], right: list[Source]) -> None:
        columns = string_names(join.usingClause or ())
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

    def resolve(self, scope: Scope | None, fields: Sequence[Any]) -> ColumnHit | None:
        first = fields[0]
        if first.__class__ is ast.String and fields[-1].__class__ is ast.String:
            names = [f.sval for f in fields]  # the usual col / alias.col
        else:
            names = string_names(fields)
        if not names:
            return None
        s = scope
        while s is not None:
            hit: ColumnHit | None = _resolve_in(s, names, self.lookup is not None)
            if hit is not MISSING:
                return hit
            s = s.parent
        self.unresolved[".".join(names)] = None
        return None

    def column_expr(self, scope: Scope | None, node: Any) -> ColumnHit | None:
        """The (relation, column or expression over one column) that ``node`` is."""
        if isinstance(node, ast.ColumnRef):
            if isinstance(node.fields[-1], ast.A_Star):
                return None
            return self.resolve(scope, node.fields)
        if isinstance(node, ast.TypeCast):
            inner = self.column_expr(scope, node.arg)
            return self._expression(node, inner, "cast") if inner else None
        if isinstance(node, ast.FuncCall):
            name = funcname(node)
            if name in _AGGREGATES or node.over is not None or node.agg_star:
                return None
            hits = [self.column_expr(scope, arg) for arg in node.args or () if has_column(arg)]
            if len(hits) != 1 or hits[0] is None:
                return None
            kind = name if name in _NAMED_EXPRESSIONS else "function"
            return self._expression(node, hits[0], kind)
        if (
            isinstance(node, ast.A_Expr)
            and node.kind == enums.A_Expr_Kind.AEXPR_OP
            and "".join(string_names(node.name)[-1:]) in JSON_OPS
            and node.lexpr is not None
            and not has_column(node.rexpr)
        ):
            inner = self.column_expr(scope, node.lexpr)
            return self._expression(node, inner, "json_field") if inner else None
        return None

    def _expression(self, node: Any, inner: ColumnHit, kind: str) -> ColumnHit:
        return inner[0], ColumnExpr(inner[1].column, kind, expression_sql(node))

    def operand(self, scope: Scope | None, node: Any) -> Operand:
        if isinstance(node, ast.ParamRef):
            self.params = max(self.params, node.number)
            return Operand("param", f"${node.number}", param=node.number)
        if isinstance(node, ast.A_Const):
            if node.isnull:
                return Operand("null", "NULL")
            value = literal(node.val)
            return Operand("const", literal_text(value), value=value)
        if isinstance(node, ast.TypeCast) and isinstance(node.arg, ast.A_Const | ast.ParamRef):
            inner = self.operand(scope, node.arg)
            return Operand(inner.kind, deparse(node), value=inner.value, param=inner.param)
        if isinstance(node, tuple):
            return Operand("list", None, items=tuple(self.operand(scope, i) for i in node))
        if isinstance(node, ast.A_ArrayExpr):
            items = tuple(self.operand(scope, i) for i in node.elements or ())
            return Operand("list", deparse(node), items=items)
        if isinstance(node, ast.SubLink):
            return Operand("subquery", None)
        if has_column(node):
            hit = self.column_expr(scope, node)
            if hit is None:
                return Operand("column", None)
            self.referenced[ColumnUse(hit[0], hit[1].column)] = None
            return Operand("column", hit[1].sql, table=hit[0], column=hit[1])
        return Operand("expr", deparse(node))

    # -- recording -------------------------------------------------------

    def add_predicate(
        self,
        hit: ColumnHit,
        operator: str,
        operand: Operand,
        context: tuple[Scope, str, bool, bool],
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

    def sort_key(self, scope: Scope, node: Any, descending: bool, nulls: bool | None) -> SortKey:
        expr = _output_expr(scope.node, node)
        hit = self.column_expr(scope, expr)
        if hit is not None and not hit[1].is_column:
            self.expressions[hit] = None
        if hit is None:
            return SortKey(None, None, descending, nulls, expr_sql(expr) or deparse(expr))
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


def _first_hit(sources: list[Source], column: str) -> ColumnHit | None:
    for src in sources:
        hit: ColumnHit | None = src.map(column)
        if hit is not MISSING and hit is not None:
            return hit
    return None


def _resolve_in(scope: Scope, names: list[str], catalog: bool) -> Any:
    """A hit, None (found here but no base column or ambiguous), or MISSING."""
    if len(names) >= 2:
        qualifier, column = names[-2], names[-1]
        schema = names[-3] if len(names) >= 3 else None
        for src in reversed(scope.sources):
            if src.name == qualifier and (schema is None or _schema_of(src) in (schema, None)):
                return src.map(column)
        return MISSING
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
    return MISSING


def _schema_of(src: Source) -> str | None:
    return src.table.schema if src.table else None


def _derived(name: str, outputs: list[tuple[str, Any]], renames: list[str]) -> Source:
    mapped: dict[str, ColumnHit | None] = {}
    for i, (col, hit) in enumerate(outputs):
        mapped.setdefault(renames[i] if i < len(renames) else col, hit)
    return Source(name, outputs=mapped, columns=frozenset(mapped))


def _range_function_name(item: Any) -> str:
    for entry in item.functions or ():
        for fn in entry:
            if isinstance(fn, ast.FuncCall):
                return funcname(fn)
    return "?function"


def _default_name(val: Any) -> str:
    """PostgreSQL's output name for an unnamed target."""
    if isinstance(val, ast.ColumnRef):
        names = string_names(val.fields)
        return names[-1] if names else "?column?"
    if isinstance(val, ast.FuncCall):
        return funcname(val)
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
        names = string_names(node.fields)
        for t in targets:
            if isinstance(t, ast.ResTarget) and names and t.name == names[0]:
                return t.val
    return node


def limit_of(node: Any) -> Limit | None:
    if node is None:
        return None
    if isinstance(node, ast.A_Const):
        if node.isnull:
            return Limit()
        value = literal(node.val)
        return Limit(count=int(value)) if isinstance(value, int) else None
    if isinstance(node, ast.ParamRef):
        return Limit(param=node.number)
    if isinstance(node, ast.TypeCast):
        return limit_of(node.arg)
    return None
