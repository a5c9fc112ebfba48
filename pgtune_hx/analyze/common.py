"""Small pure helpers the rules share: identifier quoting, units, ages.

Fixes are SQL a DBA pastes into psql, so names are quoted exactly as
PostgreSQL's quote_ident() would quote them (keywords and anything that is
not a plain lower-case identifier get double quotes).
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import re
from typing import Any

from pglast.keywords import COL_NAME_KEYWORDS, RESERVED_KEYWORDS, TYPE_FUNC_NAME_KEYWORDS

_PLAIN = re.compile(r"^[a-z_][a-z0-9_$]*$")
_QUOTED_KEYWORDS = frozenset(RESERVED_KEYWORDS | TYPE_FUNC_NAME_KEYWORDS | COL_NAME_KEYWORDS)


@functools.lru_cache(maxsize=65536)
def quote_ident(name: str) -> str:
    """Quote a name like PostgreSQL's quote_ident().

    >>> quote_ident("orders")
    'orders'
    >>> quote_ident("Order Lines")
    '"Order Lines"'
    >>> quote_ident("user")
    '"user"'
    >>> print(quote_ident('a"b'))
    "a""b"
    """
    if _PLAIN.match(name) and name not in _QUOTED_KEYWORDS:
        return name
    return '"' + name.replace('"', '""') + '"'


@functools.lru_cache(maxsize=65536)
def qualified(schema: str | None, name: str) -> str:
    """``schema.name`` with both parts quoted as needed.

    >>> qualified("public", "Events")
    'public."Events"'
    """
    if not schema:
        return quote_ident(name)
    return f"{quote_ident(schema)}.{quote_ident(name)}"


def quote_literal(text: str) -> str:
    """A SQL string literal.

    >>> quote_literal("it's")
    "'it''s'"
    """
    return "'" + text.replace("'", "''") + "'"


def num(value: Any, default: float = 0.0) -> float:
    """A snapshot number as float; None and junk become ``default``."""
    kind = type(value)
    if kind is int:  # the common cases first: rules call this a lot
        return value  # type: ignore[no-any-return]
    if kind is float:
        return value if math.isfinite(value) else default
    if value is None or kind is bool:
        return default
    try:
        result = float(value)
    except (TypeError, ValueError):
        return default
    return result if math.isfinite(result) else default


def ratio(part: float, whole: float) -> float | None:
    """part / whole, None when whole is zero.

    >>> ratio(1, 4)
    0.25
    >>> ratio(1, 0) is None
    True
    """
    return part / whole if whole else None


_UNITS = ("B", "kB", "MB", "GB", "TB")


def human_bytes(n: float) -> str:
    """Sizes as people read them (1024-based, like pg_size_pretty).

    >>> human_bytes(123)
    '123 B'
    >>> human_bytes(3 * 1024 * 1024)
    '3.0 MB'
    """
    value = float(n)
    for unit in _UNITS:
        if abs(value) < 1024 or unit == _UNITS[-1]:
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def config_size(n: float, *, at_least_mb: int = 1) -> str:
    """A size as a postgresql.conf value, rounded up to whole MB or GB.

    >>> config_size(1.5 * 1024**3)
    '2GB'
    >>> config_size(200 * 1024**2)
    '200MB'
    >>> config_size(10)
    '1MB'
    """
    mb = max(at_least_mb, math.ceil(n / 1024**2))
    if mb >= 1024:
        return f"{math.ceil(mb / 1024)}GB"
    return f"{mb}MB"


_SIZE_UNITS = {"B": 1, "kB": 1024, "MB": 1024**2, "GB": 1024**3, "TB": 1024**4}
_TIME_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "min": 60000.0, "h": 3600000.0, "d": 86400000.0}


def setting_base(row: dict[str, Any] | None) -> float | None:
    """A pg_settings row as a number in base units: bytes or milliseconds.

    >>> setting_base({"setting": "16384", "unit": "8kB"})
    134217728.0
    >>> setting_base({"setting": "300", "unit": "s"})
    300000.0
    >>> setting_base({"setting": "-1", "unit": "kB"})
    -1.0
    """
    if row is None:
        return None
    raw = row.get("setting")
    try:
        value = float(raw)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    if value < 0:
        return value  # -1 and friends mean "use another setting"/"off"
    unit = str(row.get("unit") or "")
    match = re.fullmatch(r"(\d*)\s*([a-zA-Z]+)", unit)
    if not match:
        return value
    factor = float(match.group(1) or 1)
    name = match.group(2)
    if name in _SIZE_UNITS:
        return value * factor * _SIZE_UNITS[name]
    if name in _TIME_UNITS:
        return value * factor * _TIME_UNITS[name]
    return value


def parse_time(value: Any) -> dt.datetime | None:
    """An ISO 8601 timestamp from a snapshot (None stays None)."""
    if not value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def seconds_between(earlier: Any, later: dt.datetime) -> float | None:
    """Seconds from an ISO timestamp to ``later``; None when unknown."""
    start = parse_time(earlier)
    return None if start is None else (later - start).total_seconds()


def human_duration(seconds: float) -> str:
    """
    >>> human_duration(42)
    '42s'
    >>> human_duration(3 * 86400 + 7200)
    '3d 2h'
    """
    s = int(seconds)
    if s < 120:
        return f"{s}s"
    if s < 7200:
        return f"{s // 60}min"
    if s < 172800:
        return f"{s // 3600}h {s % 3600 // 60}min"
    return f"{s // 86400}d {s % 86400 // 3600}h"


def short_query(text: Any, limit: int = 200) -> str:
    """Query text on one line, cut at ``limit`` characters."""
    flat = " ".join(str(text or "").split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def rounded(value: float | None, digits: int = 3) -> float | None:
    return None if value is None else round(value, digits)
