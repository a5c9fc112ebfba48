"""Parsing SQL text with pglast: one place for speed, splitting and errors.

pglast's parser builds its AST from the already-typed C structures of
libpg_query, yet every attribute assignment still goes through
``pglast.ast.Node.__setattr__``, which validates and adapts the value again.
That is ~80% of ``parse_sql`` (0.83 ms vs 0.17 ms CPU for a 270-character
statement, pglast 8.8). ``fast_parsing()`` turns the check off for a whole
batch, e.g. all of pg_stat_statements: swapping the class attribute costs
~0.6 ms itself (it invalidates the type cache of every AST class), so it is
done once per batch, not per statement. The trees are identical either way
(tests/test_query_facts.py compares them on a corpus).
"""

from __future__ import annotations

import contextlib
import re
import threading
from collections import deque
from collections.abc import Generator, Iterator
from typing import Any

from pglast import ast
from pglast import parser as pg_parser
from pglast.visitors import Ancestor, Continue, Skip, Visitor

from pgtune_hx.errors import InvalidSQL, UsageError

_lock = threading.RLock()
_validating_setattr = ast.Node.__setattr__
_depth = 0


@contextlib.contextmanager
def fast_parsing() -> Iterator[None]:
    """Parse without pglast's per-attribute validation inside this block.

    Holds a lock for the block: another thread building pglast nodes meanwhile
    would skip validation too (harmless: the parser's values are well typed).
    """
    global _depth
    with _lock:
        if _depth == 0:
            ast.Node.__setattr__ = object.__setattr__  # type: ignore[method-assign,assignment]
        _depth += 1
        try:
            yield
        finally:
            _depth -= 1
            if _depth == 0:
                ast.Node.__setattr__ = _validating_setattr  # type: ignore[method-assign]


def parse(sql: str) -> tuple[Any, ...]:
    """Parse ``sql`` into pglast RawStmt nodes, or raise InvalidSQL with the position."""
    try:
        return tuple(pg_parser.parse_sql(sql))
    except pg_parser.ParseError as exc:
        raise invalid_sql(sql, exc) from None


def parse_one(sql: str) -> Any:
    """The single statement of ``sql`` (its RawStmt's ``stmt``)."""
    stmts = parse(sql)
    if not stmts:
        raise UsageError("no SQL statement given")
    if len(stmts) > 1:
        raise UsageError(f"expected one SQL statement, got {len(stmts)}")
    return stmts[0].stmt


def split(sql: str) -> list[str]:
    """Split a script into statements (comments and string literals respected)."""
    try:
        return [s.strip() for s in pg_parser.split(sql) if s.strip()]
    except pg_parser.ParseError as exc:
        raise invalid_sql(sql, exc) from None


def fingerprint(sql: str) -> str:
    """libpg_query's fingerprint: the same for statements that differ only in constants."""
    try:
        return str(pg_parser.fingerprint(sql))
    except pg_parser.ParseError as exc:
        raise invalid_sql(sql, exc) from None


def line_column(sql: str, index: int) -> tuple[int, int]:
    """1-based line and column of a 0-based character index.

    >>> line_column("select 1\\nfrom x", 9)
    (2, 1)
    """
    index = max(0, min(index, len(sql)))
    before = sql[:index]
    line = before.count("\n") + 1
    column = index - (before.rfind("\n") + 1) + 1
    return line, column


def invalid_sql(sql: str, exc: Exception) -> InvalidSQL:
    """An InvalidSQL whose message gives the position, line, column and the text there."""
    message = str(exc.args[0]) if exc.args else str(exc)
    index = exc.args[1] if len(exc.args) > 1 and isinstance(exc.args[1], int) else None
    if index is None and "end of input" in message:
        index = len(sql)
    if index is None:
        return InvalidSQL(f"invalid SQL: {message}")
    line, column = line_column(sql, index)
    near = " ".join(sql[index : index + 30].split())
    where = f"at position {index + 1} (line {line}, column {column})"
    hint = f"near: {near}" if near else "at the end of the text"
    error = InvalidSQL(f"invalid SQL {where}: {message}", hint=hint)
    error.position = index + 1  # type: ignore[attr-defined]
    return error


_children: dict[type, tuple[str, ...]] = {}


def _child_slots(cls: type) -> tuple[str, ...]:
    """Attributes of an AST class that can hold nodes (not locations, flags, names)."""
    found = _children.get(cls)
    if found is None:
        names = []
        for name, info in getattr(cls, "__slots__", {}).items():
            py_type = getattr(info, "py_type", ())
            types = py_type if isinstance(py_type, tuple) else (py_type,)
            if any(
                t in (tuple, list) or (isinstance(t, type) and issubclass(t, ast.Node))
                for t in types
            ):
                names.append(name)
        found = _children[cls] = tuple(names)
    return found


class CachedVisitor(Visitor):
    """A read-only pglast Visitor, tuned for walking thousands of statements.

    The same Ancestor chains as ``pglast.visitors.Visitor`` and the same
    guarantee that a node is visited before its children; three costs removed
    (measured on 5,000 pg_stat_statements-like texts): ``Visitor.__call__``
    rebuilds its visit_<Node> table with ``inspect.getmembers`` on every call
    (~0.25 ms), ``Visitor.iterate`` reads every attribute of every node,
    locations and flags included, and resumes a generator per node. Here the
    table is built once per class, only attributes that can hold nodes are
    followed, node types in ``ignore`` are not visited at all, and the walk is
    depth first with an explicit stack (children in source order).
    Visit methods may return None, Continue or Skip; tree rewriting (returning
    a node, Add, Delete) is not supported.
    """

    _dispatch: dict[type, Any] | None = None
    # node types a subclass never needs to see (names, literals): not even yielded
    ignore: frozenset[type] = frozenset()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._dispatch = None

    @classmethod
    def _table(cls) -> dict[type, Any]:
        if cls._dispatch is None:
            table: dict[type, Any] = {}
            for name in dir(cls):
                if name.startswith("visit_"):
                    node_class = getattr(ast, name[6:], None)
                    if node_class is not None:
                        table[node_class] = getattr(cls, name)
            cls._dispatch = table
        return cls._dispatch

    def __call__(self, node: Any) -> Any:
        """Visit ``node`` and its descendants, parents before children, in
        source order (depth first, with an explicit stack: no generator
        round trip per node)."""
        self.root = node
        if not isinstance(node, tuple | ast.Node):
            raise ValueError("expected a pglast node or a tuple of nodes")
        table = self._table()
        ignore = self.ignore
        stack: list[tuple[Ancestor, Any]] = [(Ancestor(), node)]
        while stack:
            ancestors, value = stack.pop()
            found: list[tuple[Ancestor, Any]] = []
            if value.__class__ is tuple:
                for index, item in enumerate(value):
                    if item.__class__ not in ignore and isinstance(item, tuple | ast.Node):
                        found.append((ancestors / (value, index), item))
            else:
                method = table.get(value.__class__)
                result = method(self, ancestors, value) if method is not None else None
                if result is Skip:
                    continue
                if result is not None and result is not Continue:
                    raise ValueError("CachedVisitor is read-only: return None, Continue or Skip")
                for member in _child_slots(value.__class__):
                    child = getattr(value, member)
                    if (
                        child is not None
                        and child.__class__ not in ignore
                        and isinstance(child, tuple | ast.Node)
                    ):
                        found.append((ancestors / (value, member), child))
            stack.extend(reversed(found))
        return self.root

    def iterate(self, node: Any) -> Generator[tuple[Ancestor, Any], Any, None]:
        if not isinstance(node, tuple | ast.Node):
            raise ValueError("expected a pglast node or a tuple of nodes")
        ignore = self.ignore
        todo: deque[tuple[Ancestor, Any]] = deque([(Ancestor(), node)])
        while todo:
            ancestors, value = todo.popleft()
            if isinstance(value, tuple):
                for index, item in enumerate(value):
                    if item.__class__ in ignore:
                        continue
                    if isinstance(item, ast.Node):
                        sub = ancestors / (value, index)
                        action = yield sub, item
                        self._follow(todo, sub, item, action, ignore)
                    elif isinstance(item, tuple):
                        todo.append((ancestors / (value, index), item))
            else:
                action = yield ancestors, value
                self._follow(todo, ancestors, value, action, ignore)

    @staticmethod
    def _follow(
        todo: deque[tuple[Ancestor, Any]],
        ancestors: Ancestor,
        node: Any,
        action: Any,
        ignore: frozenset[type],
    ) -> None:
        if action is Continue or action is None:
            for member in _child_slots(node.__class__):
                child = getattr(node, member)
                if (
                    child is not None
                    and child.__class__ not in ignore
                    and isinstance(child, tuple | ast.Node)
                ):
                    todo.append((ancestors / (node, member), child))
        elif action is not Skip:
            raise ValueError("CachedVisitor is read-only: return None, Continue or Skip")


# pg_stat_statements turns the literal of a typed constant (interval '1 day',
# date '2026-01-01') into a parameter, and `interval $1` is text the server's
# parser refuses (a typed literal takes a string only). As a cast it plans the
# same way. Type names only: `limit $1` or `then $1` must stay as they are.
_TYPED_PARAMETER = re.compile(
    r"\b(interval|date|timestamptz|timetz|"
    r"(?:timestamp|time)(?:\s+with(?:out)?\s+time\s+zone)?|"
    r"numeric|decimal|real|double\s+precision|float[48]|int[248]|smallint|integer|bigint|"
    r"boolean|bool|text|varchar|character\s+varying|bpchar|uuid|jsonb?|inet|cidr|"
    r"macaddr|bytea|money|point|tsquery|tsvector|xml)\s+(\$\d+)",
    re.IGNORECASE,
)


def plannable(sql: str) -> str:
    """Normalized text the server can plan: typed-literal parameters as casts.

    >>> plannable("select * from t where at > now() - interval $1 and d = date $2 limit $3")
    'select * from t where at > now() - $1::interval and d = $2::date limit $3'
    >>> plannable("select $1::interval, x from t where ts < timestamp with time zone $2")
    'select $1::interval, x from t where ts < $2::timestamp with time zone'
    """
    if "$" not in sql:
        return sql
    return _TYPED_PARAMETER.sub(lambda m: f"{m[2]}::{m[1]}", sql)
