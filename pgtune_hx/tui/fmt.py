"""Short, fixed-width renderings of numbers for table cells ("n/a" for None)."""

from __future__ import annotations

NA = "n/a"


def count(value: float | None) -> str:
    """
    >>> count(1234567), count(None)
    ('1.2M', 'n/a')
    """
    if value is None:
        return NA
    value = float(value)
    for unit, size in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(value) >= size:
            return f"{value / size:.1f}{unit}"
    return f"{value:.0f}" if value == int(value) else f"{value:.1f}"


def per_s(value: float | None) -> str:
    """
    >>> per_s(0.25), per_s(12.0), per_s(None)
    ('0.25', '12.0', 'n/a')
    """
    if value is None:
        return NA
    if value == 0:
        return "0"
    if abs(value) < 10:
        return f"{value:.2f}"
    return count(value) if abs(value) >= 1000 else f"{value:.1f}"


def size(value: float | None) -> str:
    """
    >>> size(0), size(1536), size(5 * 1024**3), size(None)
    ('0 B', '1.5 kB', '5.0 GB', 'n/a')
    """
    if value is None:
        return NA
    value = float(value)
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if abs(value) < 1024 or unit == "TB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} PB"  # pragma: no cover - loop always returns


def age(seconds: float | None) -> str:
    """
    >>> age(None), age(4.2), age(75), age(3 * 3600 + 60), age(3 * 86400)
    ('', '4.2s', '1m15s', '3h01m', '3d00h')
    """
    if seconds is None:
        return ""
    s = float(seconds)
    if s < 60:
        return f"{s:.1f}s"
    if s < 3600:
        return f"{int(s // 60)}m{int(s % 60):02d}s"
    if s < 86400:
        return f"{int(s // 3600)}h{int(s % 3600 // 60):02d}m"
    return f"{int(s // 86400)}d{int(s % 86400 // 3600):02d}h"


def pct(ratio: float | None) -> str:
    """
    >>> pct(0.9876), pct(None)
    ('98.76%', 'n/a')
    """
    if ratio is None:
        return NA
    return f"{ratio * 100:.2f}%"


def ms(value: float | None) -> str:
    """
    >>> ms(0.1234), ms(12.5), ms(125000.0)
    ('0.123', '12.5', '2m05s')
    """
    if value is None:
        return NA
    if value >= 60000:
        return age(value / 1000)
    if value < 1:
        return f"{value:.3f}"
    return f"{value:.1f}"


def one_line(text: str | None, width: int = 0) -> str:
    """Collapse whitespace; cut to ``width`` with an ellipsis when given.

    >>> one_line("select  *\\n  from t", 10)
    'select * …'
    """
    flat = " ".join((text or "").split())
    if width and len(flat) > width:
        return flat[: width - 1] + "…"
    return flat
