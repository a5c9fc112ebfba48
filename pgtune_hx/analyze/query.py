"""Query facts from SQL text, with pglast visitors.

``extract_facts(sql, search_path=..., lookup=...)`` parses one statement
(pg_stat_statements' normalized text with ``$n`` parameters included) and
returns a frozen ``QueryFacts``: the relations it reads, per-relation
predicates, join keys, ORDER BY / GROUP BY, projected columns, LIMIT,
expressions over columns, LIKE patterns and a fingerprint.

How it works: one ``FactsVisitor`` (a ``pglast.visitors.Visitor`` subclass,
see ``sql_text.CachedVisitor``) walks the tree; a statement node is always
seen before the expressions inside it. ``visit_SelectStmt`` (and the
UPDATE/DELETE/INSERT ones) builds the block's scope from its FROM list
(``query_scope``): base relations (schema found through the search path),
CTEs, sub-selects and views (expanded when a ``lookup`` gives their
definition), whose output columns map back to base columns. Then
``visit_A_Expr``, ``visit_NullTest``, ``visit_ColumnRef`` and
``visit_SortBy`` resolve columns in the nearest block, then in the outer ones
(correlated sub-queries), as PostgreSQL does.

A comparison is a predicate only when everything between it and the WHERE (or
ON) clause is AND/OR/NOT: ``coalesce(a = 1, true)`` is not one.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import Any

from pglast.visitors import Ancestor, Skip

from pgtune_hx.analyze.query_model import (
    ColumnUse,
    JoinKey,
    LikePattern,
    Lookup,
    Operand,
    QueryFacts,
    RelationInfo,
)
from pgtune_hx.analyze.query_scope import (
    COMMUTE,
    STATEMENTS,
    Collector,
    Scope,
    limit_of,
    nearest_statement,
)
from pgtune_hx.analyze.sql_expr import (
    ast,
    enums,
    expression_sql,
    is_simple,
    literal_text,
    string_names,
)
from pgtune_hx.analyze.sql_text import CachedVisitor, fast_parsing, parse_one
from pgtune_hx.errors import PgtuneError

__all__ = [
    "DEFAULT_SEARCH_PATH",
    "FactsVisitor",
    "Lookup",
    "RelationInfo",
    "expression_sql",
    "extract_facts",
    "extract_many",
]

DEFAULT_SEARCH_PATH: tuple[str, ...] = ("public",)


class FactsVisitor(CachedVisitor):
    """Walks one statement (breadth first) and records its facts in a collector."""

    # names and literals: read by the visit methods of their parents
    ignore = frozenset(
        {ast.String, ast.A_Star, ast.Integer, ast.Float, ast.Boolean, ast.BitString}
        | {ast.A_Const, ast.TypeName, ast.RangeVar, ast.Alias}
    )

    def __init__(self, collector: Collector) -> None:
        self.c = collector

    # -- blocks ----------------------------------------------------------

    def visit_SelectStmt(self, ancestors: Ancestor, node: Any) -> None:
        scope = self.c.scope_for(node, self.c.enclosing_scope(ancestors))
        scope.limit = limit_of(node.limitCount)
        scope.offset = limit_of(node.limitOffset)
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

    def _updated(self, scope: Scope, targets: Any) -> None:
        written = [s.table for s in scope.sources[:1] if s.table is not None]
        for res in targets or ():
            if isinstance(res, ast.ResTarget) and res.name and written:
                self.c.updated[ColumnUse(written[0], res.name)] = None

    # -- conditions ------------------------------------------------------

    def _condition(self, ancestors: Ancestor) -> tuple[Scope, str, bool, bool] | None:
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
            if isinstance(node, STATEMENTS):
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
        if is_simple(node.lexpr) and is_simple(node.rexpr):
            # nothing below but columns and constants: record them, skip the walk
            if len(self.c.predicates) + len(self.c.joins) == recorded:
                self._reference_simple(context[0], node.lexpr, node.rexpr)
            return Skip
        return None

    def _predicate(self, context: tuple[Scope, str, bool, bool], node: Any) -> None:
        scope = context[0]
        kind = node.kind
        names = string_names(node.name)
        op = names[-1] if names else ""
        K = enums.A_Expr_Kind
        left = self.c.column_expr(scope, node.lexpr) if node.lexpr is not None else None
        if kind == K.AEXPR_OP:
            right = self.c.column_expr(scope, node.rexpr) if node.rexpr is not None else None
            if left is not None and right is not None:
                self.c.add_join(left, right, op, context[1])
            elif left is not None:
                self.c.add_predicate(left, op, self.c.operand(scope, node.rexpr), context)
            elif right is not None and op in COMMUTE and node.lexpr is not None:
                operand = self.c.operand(scope, node.lexpr)
                self.c.add_predicate(right, COMMUTE[op], operand, context)
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
            self.c.add_predicate(hit, "=", Operand("const", literal_text(value), value), context)
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
        found = nearest_statement(ancestors)
        if found is None:
            return Skip
        scope = self.c.scopes.get(id(found.node))
        if scope is not None:
            self._column_ref(scope, found.member, found.node, node, ancestors)
        return Skip

    def visit_ResTarget(self, ancestors: Ancestor, node: Any) -> Any:
        """Shortcut for the common ``SELECT t.col, ...``: no walk below."""
        if node.val is None:
            return Skip  # INSERT's column list: names only
        if not isinstance(node.val, ast.ColumnRef) or not isinstance(ancestors.node, tuple):
            return None
        owner = ancestors.parent
        if owner is None or not isinstance(owner.node, STATEMENTS):
            return None
        scope = self.c.scopes.get(id(owner.node))
        if scope is None:
            return None
        self._column_ref(scope, owner.member, owner.node, node.val, None)
        return Skip

    def _column_ref(
        self, scope: Scope, clause: Any, stmt: Any, node: Any, ancestors: Ancestor | None
    ) -> None:
        fields = node.fields
        if isinstance(fields[-1], ast.A_Star):
            if clause in ("targetList", "returningList"):
                qualifier = string_names(fields)
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
                operand = Operand("const", literal_text(value), value)
                self.c.add_predicate(hit, "=", operand, (scope, clause, in_or, False))

    def _reference_simple(self, scope: Scope, *nodes: Any) -> None:
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
        return isinstance(parent, (*STATEMENTS, ast.JoinExpr)) and ancestors.member in (
            "whereClause",
            "quals",
        )

    def visit_SortBy(self, ancestors: Ancestor, node: Any) -> None:
        found = nearest_statement(ancestors)
        if found is None or found.member != "sortClause":
            return
        scope = self.c.scopes.get(id(found.node))
        if scope is None:
            return
        D = enums.SortByDir
        N = enums.SortByNulls
        descending = node.sortby_dir == D.SORTBY_DESC or (
            node.sortby_dir == D.SORTBY_USING and string_names(node.useOp or ())[-1:] == [">"]
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
    collector = Collector(search_path, lookup)
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
