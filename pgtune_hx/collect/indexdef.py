"""Index definitions (pg_get_indexdef output) parsed with pglast.

What is parsed depends only on the part after ``ON <table> ``: ``USING btree
(a, lower(b)) INCLUDE (c) WHERE (d > 0)``. Thousands of indexes of a schema
share a few of those tails, so the parse is cached by tail: a database with
20,000 indexes parses each distinct shape once. The structure comes from
libpg_query's JSON (fast, C); only expressions and predicates go through
pglast's AST to be printed back as SQL.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from typing import Any

import pglast
import pglast.ast
from pglast import parser
from pglast.stream import RawStream

_PLACEHOLDER = "CREATE INDEX i ON t "


@dataclass(frozen=True)
class IndexShape:
    """The parts of an index definition the analysis needs.

    ``columns`` lists the key columns in order, None where the key is an
    expression; ``expressions`` holds the expression keys as SQL text, in order.
    ``opclasses`` and ``orderings`` run parallel to ``columns`` (None for the
    default operator class / ASC).
    """

    am: str | None = None
    unique: bool = False
    columns: list[str | None] = field(default_factory=list)
    expressions: list[str] = field(default_factory=list)
    opclasses: list[str | None] = field(default_factory=list)
    orderings: list[str | None] = field(default_factory=list)
    collations: list[str | None] = field(default_factory=list)
    include: list[str] = field(default_factory=list)
    predicate: str | None = None
    nulls_not_distinct: bool = False
    options: dict[str, Any] = field(default_factory=dict)
    parse_error: str | None = None

    def to_columns(self) -> dict[str, Any]:
        return {
            "columns": list(self.columns),
            "expressions": list(self.expressions),
            "opclasses": list(self.opclasses),
            "orderings": list(self.orderings),
            "collations": list(self.collations),
            "include": list(self.include),
            "predicate": self.predicate,
            "nulls_not_distinct": self.nulls_not_distinct,
            "index_options": dict(self.options),
            "parse_error": self.parse_error,
        }


PARSED_COLUMNS = list(IndexShape().to_columns())


def tail_of(indexdef: str, table_ident: str | None) -> str | None:
    """The definition after ``ON [ONLY] <table> ``, or None when it is not found.

    >>> tail_of('CREATE INDEX a_b ON public.a USING btree (b)', 'public.a')
    'USING btree (b)'
    """
    if not table_ident:
        return None
    marker = f" {table_ident} USING "
    at = indexdef.find(marker)
    if at < 0:
        return None
    return indexdef[at + len(table_ident) + 2 :]


def parse(indexdef: str, table_ident: str | None = None) -> IndexShape:
    """Parse one definition; never raises (parse_error says what failed)."""
    tail = tail_of(indexdef, table_ident)
    if tail is not None:
        shape = _parse_text(_PLACEHOLDER + tail)
        if shape.parse_error is None:
            unique = indexdef.startswith("CREATE UNIQUE INDEX")
            return shape if shape.unique == unique else _with_unique(shape, unique)
    return _parse_text(indexdef)


def _with_unique(shape: IndexShape, unique: bool) -> IndexShape:
    data = {k: getattr(shape, k) for k in shape.__dataclass_fields__}
    data["unique"] = unique
    return IndexShape(**data)


def _names(nodes: list[dict[str, Any]] | None) -> str | None:
    """['String': {'sval': 'pg_catalog'}, ...] -> 'pg_catalog.x'."""
    if not nodes:
        return None
    return ".".join(str(n.get("String", {}).get("sval", "")) for n in nodes)


_ORDER = {"SORTBY_ASC": "ASC", "SORTBY_DESC": "DESC"}
_NULLS = {"SORTBY_NULLS_FIRST": "NULLS FIRST", "SORTBY_NULLS_LAST": "NULLS LAST"}


def _option_value(arg: dict[str, Any] | None) -> Any:
    if not arg:
        return None
    for kind, value in arg.items():
        if kind == "Integer":
            return value.get("ival", 0)
        if kind == "Float":
            return float(value.get("fval", "0"))
        if kind == "Boolean":
            return bool(value.get("boolval", False))
        if kind in ("String", "TypeName"):
            return value.get("sval") or _names(value.get("names"))
    return None


@functools.lru_cache(maxsize=8192)
def _parse_text(text: str) -> IndexShape:
    try:
        tree = json.loads(parser.parse_sql_json(text))
        stmt = tree["stmts"][0]["stmt"]["IndexStmt"]
    except (pglast.parser.ParseError, KeyError, IndexError, ValueError) as exc:
        return IndexShape(parse_error=f"{type(exc).__name__}: {exc}")
    params: list[dict[str, Any]] = [p["IndexElem"] for p in stmt.get("indexParams", [])]
    expression_text: list[str] = []
    predicate = None
    if any("expr" in p for p in params) or "whereClause" in stmt:
        expression_text, predicate = _printed(text)
    columns: list[str | None] = []
    expressions: list[str] = []
    opclasses: list[str | None] = []
    orderings: list[str | None] = []
    collations: list[str | None] = []
    for position, elem in enumerate(params):
        if "expr" in elem:
            columns.append(None)
            expressions.append(expression_text[position] if position < len(expression_text) else "")
        else:
            columns.append(str(elem.get("name")))
        opclasses.append(_names(elem.get("opclass")))
        order = " ".join(
            part
            for part in (
                _ORDER.get(str(elem.get("ordering"))),
                _NULLS.get(str(elem.get("nulls_ordering"))),
            )
            if part
        )
        orderings.append(order or None)
        collations.append(_names(elem.get("collation")))
    include = [str(p["IndexElem"].get("name")) for p in stmt.get("indexIncludingParams", [])]
    options = {
        str(o["DefElem"]["defname"]): _option_value(o["DefElem"].get("arg"))
        for o in stmt.get("options", [])
        if "DefElem" in o
    }
    return IndexShape(
        am=stmt.get("accessMethod"),
        unique=bool(stmt.get("unique", False)),
        columns=columns,
        expressions=expressions,
        opclasses=opclasses,
        orderings=orderings,
        collations=collations,
        include=include,
        predicate=predicate,
        nulls_not_distinct=bool(stmt.get("nulls_not_distinct", False)),
        options=options,
    )


def _printed(text: str) -> tuple[list[str], str | None]:
    """Expression keys (by position, '' for plain columns) and the predicate, as SQL."""
    stmt = pglast.parse_sql(text)[0].stmt
    assert isinstance(stmt, pglast.ast.IndexStmt)
    printed = [
        RawStream()(elem.expr) if elem.expr is not None else "" for elem in stmt.indexParams or ()
    ]
    predicate = RawStream()(stmt.whereClause) if stmt.whereClause is not None else None
    return printed, predicate
