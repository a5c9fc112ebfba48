"""Existing indexes, parsed with pglast, and whether one already covers a candidate.

pg_get_indexdef prints ``(data ->> 'kind'::text)`` and ``WHERE (status =
'failed'::text)``; a query says ``data ->> 'kind'`` and ``status = 'failed'``.
Both sides go through ``canonical``: parsed, casts of literals to text types
dropped, columns unqualified, printed by pglast.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from pglast import ast as _ast
from pglast import enums as _enums
from pglast.stream import RawStream
from pglast.visitors import Ancestor, Visitor

from pgtune_hx.advise.model import IndexDef, KeyPart
from pgtune_hx.analyze.sql_text import parse_one
from pgtune_hx.errors import PgtuneError

ast: Any = _ast
enums: Any = _enums

_TEXT_TYPES = frozenset({"text", "varchar", "bpchar", "unknown"})
# an existing jsonb_ops (default) GIN index serves @> as well as jsonb_path_ops
_COMPATIBLE_OPCLASS = {("jsonb_path_ops", None), ("jsonb_path_ops", "jsonb_ops")}


class _Canonical(Visitor):  # rewrites: pglast's own Visitor, which supports replacing nodes
    def visit_TypeCast(self, ancestors: Ancestor, node: Any) -> Any:
        names = [n.sval for n in node.typeName.names or () if isinstance(n, ast.String)]
        if isinstance(node.arg, ast.A_Const) and names and names[-1] in _TEXT_TYPES:
            return node.arg
        return None

    def visit_ColumnRef(self, ancestors: Ancestor, node: Any) -> Any:
        if len(node.fields) > 1:
            return ast.ColumnRef(fields=node.fields[-1:])
        return None


def _canonical_node(node: Any) -> str:
    wrapper = ast.SelectStmt(targetList=(ast.ResTarget(val=node),))
    _Canonical()(wrapper)
    return str(RawStream()(wrapper.targetList[0].val))


@lru_cache(maxsize=2048)
def canonical(expression: str) -> str:
    """One spelling of an expression or predicate, for comparisons.

    >>> canonical("(data ->> 'kind'::text)") == canonical("data->>'kind'")
    True
    """
    stmt = parse_one(f"SELECT {expression}")
    return _canonical_node(stmt.targetList[0].val)


@dataclass(frozen=True)
class ExistingIndex:
    oid: int
    name: str
    definition: str
    valid: bool
    unique: bool
    primary: bool
    method: str
    bytes: int
    keys: tuple[KeyPart, ...] | None = None  # None: a definition we could not read
    include: tuple[str, ...] = ()
    where: str | None = None


def parse_index(row: dict[str, Any]) -> ExistingIndex:
    base = ExistingIndex(
        oid=int(row["oid"]),
        name=str(row["name"]),
        definition=str(row["definition"]),
        valid=bool(row["valid"]),
        unique=bool(row["is_unique"]),
        primary=bool(row["is_primary"]),
        method=str(row["method"]),
        bytes=int(row["bytes"] or 0),
    )
    try:
        stmt = parse_one(base.definition)
    except PgtuneError:
        return base
    if not isinstance(stmt, ast.IndexStmt):
        return base
    keys = tuple(_key(elem) for elem in stmt.indexParams or ())
    include = tuple(
        str(e.name) for e in stmt.indexIncludingParams or () if getattr(e, "name", None)
    )
    where = _canonical_node(stmt.whereClause) if stmt.whereClause is not None else None
    return ExistingIndex(**{**base.__dict__, "keys": keys, "include": include, "where": where})


def _key(elem: Any) -> KeyPart:
    opclass = [n.sval for n in elem.opclass or () if isinstance(n, ast.String)]
    descending = elem.ordering == enums.SortByDir.SORTBY_DESC
    nulls = {
        enums.SortByNulls.SORTBY_NULLS_FIRST: True,
        enums.SortByNulls.SORTBY_NULLS_LAST: False,
    }.get(elem.nulls_ordering)
    if elem.name:
        return KeyPart(str(elem.name), None, descending, nulls, opclass[-1] if opclass else None)
    column = _first_column(elem.expr)
    return KeyPart(
        column or "?",
        _canonical_node(elem.expr),
        descending,
        nulls,
        opclass[-1] if opclass else None,
    )


def _first_column(node: Any) -> str | None:
    found: list[str] = []

    class Find(Visitor):
        def visit_ColumnRef(self, ancestors: Ancestor, ref: Any) -> None:
            names = [f.sval for f in ref.fields if isinstance(f, ast.String)]
            if names and not found:
                found.append(names[-1])

    Find()(node)
    return found[0] if found else None


def _same_key(existing: KeyPart, wanted: KeyPart) -> bool:
    if existing.is_expression != wanted.is_expression:
        return False
    if wanted.is_expression:
        if existing.expression != canonical(wanted.expression or ""):
            return False
    elif existing.column != wanted.column:
        return False
    return (
        wanted.opclass is None
        or wanted.opclass == existing.opclass
        or (wanted.opclass, existing.opclass) in _COMPATIBLE_OPCLASS
    )


def _direction(key: KeyPart) -> tuple[bool, bool]:
    nulls_first = key.descending if key.nulls_first is None else key.nulls_first
    return key.descending, nulls_first


def covers(existing: ExistingIndex, wanted: IndexDef) -> bool:
    """Does ``existing`` already do what ``wanted`` would: same method, the
    wanted keys as its leading keys (same order, or all reversed: a backward
    scan), the wanted INCLUDE columns stored, and no narrower predicate?"""
    if not existing.valid or existing.keys is None or existing.method != wanted.method:
        return False
    if existing.where is not None and (
        wanted.where is None or existing.where != canonical(wanted.where)
    ):
        return False
    if len(wanted.keys) > len(existing.keys):
        return False
    flips = set()
    for have, want in zip(existing.keys, wanted.keys, strict=False):
        if not _same_key(have, want):
            return False
        if wanted.method == "btree":
            h, w = _direction(have), _direction(want)
            if h == w:
                flips.add(False)
            elif h == (not w[0], not w[1]):
                flips.add(True)
            else:
                return False
    if len(flips) > 1:
        return False
    stored = {k.column for k in existing.keys if not k.is_expression} | set(existing.include)
    return set(wanted.include) <= stored
