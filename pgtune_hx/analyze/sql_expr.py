"""SQL expressions of a pglast tree: names, literals, and their text.

Shared by the query facts extractor (``query.py``, ``query_scope.py``) and the
index advisor (canonical index expressions).
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any

from pglast import ast as _ast
from pglast import enums as _enums
from pglast.stream import RawStream
from pglast.visitors import Ancestor, Skip

from pgtune_hx.analyze.query_model import Scalar, quote_ident
from pgtune_hx.analyze.sql_text import CachedVisitor

# The AST is walked dynamically (every field may be None in pglast's stubs and
# the code checks node shapes itself), so the node classes are typed as Any.
ast: Any = _ast
enums: Any = _enums

JSON_OPS = frozenset({"->", "->>", "#>", "#>>"})


def string_names(fields: Iterable[Any]) -> list[str]:
    return [f.sval for f in fields if f.__class__ is ast.String]


def deparse(node: Any) -> str:
    return str(RawStream()(node))


def expr_sql(node: Any) -> str | None:
    """SQL text of the simple expressions an index key can be, columns unqualified.

    pglast's RawStream prints anything but costs ~0.4 ms a call; this covers
    what ``column_expr`` accepts (columns, constants, casts, function calls,
    JSON operators) and returns None for the rest, which RawStream then prints.
    """
    if isinstance(node, ast.ColumnRef):
        names = string_names(node.fields)
        return quote_ident(names[-1]) if names else None
    if isinstance(node, ast.A_Const):
        return "NULL" if node.isnull else literal_text(literal(node.val))
    if isinstance(node, ast.TypeCast):
        inner = expr_sql(node.arg)
        tn = node.typeName
        if inner is None or tn.typmods or tn.arrayBounds or tn.setof or tn.pct_type:
            return None
        names = [n for n in string_names(tn.names) if n != "pg_catalog"]
        if isinstance(node.arg, ast.A_Expr):
            inner = f"({inner})"
        return f"{inner}::{'.'.join(quote_ident(n) for n in names)}"
    if isinstance(node, ast.FuncCall):
        if node.agg_star or node.agg_distinct or node.agg_order or node.over or node.func_variadic:
            return None
        args = [expr_sql(a) for a in node.args or ()]
        if any(a is None for a in args):
            return None
        name = ".".join(quote_ident(n) for n in string_names(node.funcname) if n != "pg_catalog")
        return f"{name}({', '.join(a for a in args if a is not None)})"
    if (
        isinstance(node, ast.A_Expr)
        and node.kind == enums.A_Expr_Kind.AEXPR_OP
        and node.lexpr is not None
        and "".join(string_names(node.name)[-1:]) in JSON_OPS
    ):
        left, right = expr_sql(node.lexpr), expr_sql(node.rexpr)
        if left is None or right is None:
            return None
        if isinstance(node.lexpr, ast.A_Expr | ast.TypeCast):
            left = f"({left})"
        return f"{left} {string_names(node.name)[-1]} {right}"
    return None


def expression_sql(node: Any) -> str:
    """SQL text of an expression node with its columns unqualified."""
    text = expr_sql(node)
    if text is None:
        clone = copy.deepcopy(node)
        _Unqualify()(clone)
        text = deparse(clone)
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


SIMPLE = (ast.ColumnRef, ast.A_Const, ast.ParamRef)


def is_simple(node: Any) -> bool:
    """Columns, constants and parameters only (casts and lists of them included)."""
    if node is None or isinstance(node, SIMPLE):
        return True
    if isinstance(node, ast.TypeCast):
        return isinstance(node.arg, SIMPLE)
    if isinstance(node, tuple):
        return all(is_simple(i) for i in node)
    return False


def has_column(node: Any) -> bool:
    if isinstance(node, ast.ColumnRef):
        return True
    if isinstance(node, ast.A_Const | ast.ParamRef):
        return False
    finder = _HasColumn()
    finder(node)
    return finder.found


def literal(value: Any) -> Scalar:
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


def literal_text(value: Scalar) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return "'" + value.replace("'", "''") + "'"


def funcname(node: Any) -> str:
    names = string_names(node.funcname)
    return names[-1].lower() if names else ""
