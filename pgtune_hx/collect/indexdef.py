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
from typing import Any, NamedTuple

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
_PARSE_ERROR = PARSED_COLUMNS.index("parse_error")


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
        shape = _tail_shape(tail, indexdef.startswith("CREATE UNIQUE INDEX"))
        if shape.parse_error is None:
            return shape
    return _parse_text(indexdef)


def parsed_columns(indexdef: str, table_ident: str | None = None) -> dict[str, Any]:
    """The derived columns of one definition. The dict and the lists in it are
    shared between indexes of the same shape: read them, never change them."""
    tail = tail_of(indexdef, table_ident)
    if tail is not None:
        columns = _tail_columns(tail, indexdef.startswith("CREATE UNIQUE INDEX"))
        if columns["parse_error"] is None:
            return columns  # shared: read it, do not change it
    return parse(indexdef, table_ident).to_columns()


@functools.lru_cache(maxsize=8192)
def _tail_shape(tail: str, unique: bool) -> IndexShape:
    """The shape of ``... ON t <tail>``; UNIQUE lives before the tail, so it is a key."""
    shape = _parse_text(_PLACEHOLDER + tail)
    if shape.parse_error is None and shape.unique != unique:
        data = {k: getattr(shape, k) for k in shape.__dataclass_fields__}
        data["unique"] = unique
        shape = IndexShape(**data)
    return shape


@functools.lru_cache(maxsize=8192)
def _tail_columns(tail: str, unique: bool) -> dict[str, Any]:
    return _tail_shape(tail, unique).to_columns()


def parsed_values(indexdef: str, table_ident: str | None = None) -> tuple[Any, ...]:
    """parsed_columns' values in PARSED_COLUMNS order (shared, read-only)."""
    tail = tail_of(indexdef, table_ident)
    if tail is not None:
        values = _tail_values(tail, indexdef.startswith("CREATE UNIQUE INDEX"))
        if values[_PARSE_ERROR] is None:
            return values
    columns = parse(indexdef, table_ident).to_columns()
    return tuple(columns[c] for c in PARSED_COLUMNS)


@functools.lru_cache(maxsize=8192)
def _tail_values(tail: str, unique: bool) -> tuple[Any, ...]:
    columns = _tail_columns(tail, unique)
    return tuple(columns[c] for c in PARSED_COLUMNS)


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


@dataclass(frozen=True)
class IndexCatalog:
    """Catalog facts for printing plain index definitions (sql/index_columns_*.sql
    and sql/index_catalog_*.sql).

    ``columns``: (table oid, attnum) -> (name, quoted name, collation oid);
    ``opclasses``: oid (text) -> {"name": printable name, "default": bool};
    ``collations``: oid (text) -> printable name; ``ordered``: access method ->
    whether it orders keys."""

    columns: dict[tuple[int, int], tuple[str, str, int]]
    opclasses: dict[str, dict[str, Any]]
    collations: dict[str, str]
    ordered: dict[str, bool]

    @classmethod
    def from_rows(cls, column_rows: list[tuple[Any, ...]], catalog: dict[str, Any]) -> IndexCatalog:
        """``column_rows``: (relid, attnum, attname, quoted, collation) tuples."""
        return cls(
            columns={(r[0], r[1]): (r[2], r[3], r[4]) for r in column_rows},
            opclasses=catalog.get("opclasses") or {},
            collations=catalog.get("collations") or {},
            ordered=catalog.get("ordered") or {},
        )

    def names(self, relid: int, attnums: list[int]) -> list[str | None]:
        """Plain column names of ``attnums`` (None where unknown, e.g. expressions)."""
        found = (self.columns.get((relid, n)) for n in attnums)
        return [entry[0] if entry else None for entry in found]


def _ordering(option: int) -> str:
    """indoption bits as pg_get_indexdef prints them (1: DESC, 2: NULLS FIRST).

    >>> _ordering(3), _ordering(1), _ordering(2), _ordering(0)
    (' DESC', ' DESC NULLS LAST', ' NULLS FIRST', '')
    """
    if option & 1:
        return " DESC" if option & 2 else " DESC NULLS LAST"
    return " NULLS FIRST" if option & 2 else ""


class IndexFields(NamedTuple):
    """What printing a plain index definition needs from its row."""

    relid: int
    am: str
    relkind: str
    indisunique: bool
    indnullsnotdistinct: bool
    indnkeyatts: int
    indkey: list[int]
    indclass: list[int]
    indcollation: list[int]
    indoption: list[int]
    index_ident: str
    table_ident: str
    with_options: str | None


def rebuild(row: IndexFields, catalog: IndexCatalog) -> str | None:
    """pg_get_indexdef's text for an index on plain columns, from its pg_index arrays
    (indkey, indclass, indcollation, indoption); None when a piece is missing."""
    relid = row.relid
    nkeys = row.indnkeyatts
    ordered = catalog.ordered.get(row.am, False)
    keys: list[str] = []
    include: list[str] = []
    for position, attnum in enumerate(row.indkey):
        entry = catalog.columns.get((relid, attnum))
        if entry is None:
            return None  # an expression column (attnum 0) or a dropped one
        _, quoted, column_collation = entry
        if position >= nkeys:
            include.append(quoted)
            continue
        text = quoted
        collation = row.indcollation[position]
        if collation and collation != column_collation:
            name = catalog.collations.get(str(collation))
            if name is None:
                return None
            text += f" COLLATE {name}"
        opclass = catalog.opclasses.get(str(row.indclass[position]))
        if opclass is None:
            return None
        if not opclass["default"]:
            text += f" {opclass['name']}"
        if ordered:
            text += _ordering(row.indoption[position])
        keys.append(text)
    return "".join(
        (
            "CREATE UNIQUE INDEX " if row.indisunique else "CREATE INDEX ",
            row.index_ident,
            " ON ONLY " if row.relkind == "I" else " ON ",
            row.table_ident,
            " USING ",
            row.am,
            " (",
            ", ".join(keys),
            f") INCLUDE ({', '.join(include)}" if include else "",
            ")",
            " NULLS NOT DISTINCT" if row.indnullsnotdistinct else "",
            f" WITH ({row.with_options})" if row.with_options else "",
        )
    )
