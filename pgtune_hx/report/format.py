"""Numbers, sizes, durations and ages as people read them in the report.

Pure functions: the same value always gives the same text (the report must be
deterministic), and ages are measured from the snapshot's capture time, never
from the clock at rendering time.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

_UNITS = ("B", "kB", "MB", "GB", "TB", "PB")


def number(value: Any) -> float | None:
    """A finite float from a snapshot value, or None.

    >>> number("12.5"), number(None), number(float("nan")), number(True)
    (12.5, None, None, None)
    """
    if value is None or isinstance(value, bool):
        return None
    try:
        result = float(value)
    except (TypeError, ValueError):
        return None
    return result if math.isfinite(result) else None


def count(value: Any) -> str:
    """
    >>> count(1234567), count(None), count(2.6)
    ('1,234,567', '', '3')
    """
    num = number(value)
    return "" if num is None else f"{round(num):,}"


def size(value: Any) -> str:
    """Bytes in binary multiples, as PostgreSQL's pg_size_pretty names them.

    >>> size(0), size(8192), size(1536 * 1024 ** 2), size(None)
    ('0 B', '8 kB', '1.5 GB', '')
    """
    num = number(value)
    if num is None:
        return ""
    amount = abs(num)
    for unit in _UNITS:
        if amount < 1024 or unit == _UNITS[-1]:
            text = f"{amount:.0f}" if unit == "B" or amount >= 100 else f"{amount:.3g}"
            return f"{'-' if num < 0 else ''}{text} {unit}"
        amount /= 1024
    raise AssertionError("unreachable")


def millis(value: Any) -> str:
    """A duration given in milliseconds.

    >>> millis(0.0123), millis(12.345), millis(12345), millis(7_200_000)
    ('0.012 ms', '12.3 ms', '12.3 s', '2.0 h')
    """
    num = number(value)
    if num is None:
        return ""
    if num < 1:
        return f"{num:.3f} ms"
    if num < 1000:
        return f"{num:.3g} ms" if num < 100 else f"{num:.0f} ms"
    return seconds(num / 1000)


def seconds(value: Any) -> str:
    """
    >>> seconds(5), seconds(59.94), seconds(125), seconds(7200), seconds(200000)
    ('5.00 s', '59.9 s', '2.1 min', '2.0 h', '2.3 d')
    """
    num = number(value)
    if num is None:
        return ""
    if num < 10:
        return f"{num:.2f} s"
    if num < 60:
        return f"{num:.1f} s"
    if num < 3600:
        return f"{num / 60:.1f} min"
    if num < 86400:
        return f"{num / 3600:.1f} h"
    return f"{num / 86400:.1f} d"


def percent(value: Any, digits: int = 1) -> str:
    """A ratio 0..1 as a percentage.

    >>> percent(0.12345), percent(None), percent(1)
    ('12.3 %', '', '100.0 %')
    """
    num = number(value)
    return "" if num is None else f"{num * 100:.{digits}f} %"


def rate(value: Any, unit: str = "/s") -> str:
    """
    >>> rate(1234.5), rate(0.25), rate(None)
    ('1,234/s', '0.25/s', '')
    """
    num = number(value)
    if num is None:
        return ""
    return f"{num:,.0f}{unit}" if abs(num) >= 100 else f"{num:.3g}{unit}"


def parse_time(value: Any) -> dt.datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def age(value: Any, now: dt.datetime) -> tuple[str, float | None]:
    """How long before ``now`` a timestamp was: text and seconds (for sorting).

    >>> now = dt.datetime(2025, 1, 2, tzinfo=dt.UTC)
    >>> age("2025-01-01T00:00:00+00:00", now)
    ('1.0 d ago', 86400.0)
    >>> age(None, now)
    ('never', None)
    """
    when = parse_time(value)
    if when is None:
        return "never", None
    delta = (now - when).total_seconds()
    return f"{seconds(max(delta, 0.0))} ago", delta


def timestamp(value: Any) -> str:
    """An ISO timestamp shortened to the second, in its own offset.

    >>> timestamp("2025-03-01T10:20:30.123456+00:00")
    '2025-03-01 10:20:30 +00:00'
    """
    when = parse_time(value)
    if when is None:
        return "" if value is None else str(value)
    offset = when.strftime("%z")
    return when.strftime("%Y-%m-%d %H:%M:%S") + f" {offset[:3]}:{offset[3:]}"
