"""Sizes and durations as people type them, and as PostgreSQL reads them.

Units follow PostgreSQL's configuration files: 1kB = 1024 bytes, 1MB = 1024kB
and so on (the manual, "Parameter Names and Values"). People also type the IEC
spelling (GiB) and lower case, so those mean the same thing here.
"""

from __future__ import annotations

import math
import re

from pgtune_hx.errors import UsageError

KB = 1024
MB = 1024 * KB
GB = 1024 * MB
TB = 1024 * GB

_SIZE_UNITS: dict[str, int] = {
    "": 1,
    "b": 1,
    "byte": 1,
    "bytes": 1,
    "k": KB,
    "kb": KB,
    "kib": KB,
    "m": MB,
    "mb": MB,
    "mib": MB,
    "g": GB,
    "gb": GB,
    "gib": GB,
    "t": TB,
    "tb": TB,
    "tib": TB,
}
_NUMBER = re.compile(r"\s*(\d+(?:\.\d*)?|\.\d+)\s*([A-Za-z]*)\s*")
# larger than any machine or setting this tool sizes: a typo, not a size
MAX_SIZE = 1 << 62

_MS_UNITS: dict[str, float] = {
    "ms": 1,
    "s": 1000,
    "min": 60_000,
    "h": 3_600_000,
    "d": 86_400_000,
}


def parse_size(text: str, what: str = "size") -> int:
    """Bytes in a size string; anything else is a UsageError naming ``what``.

    >>> parse_size("64GB"), parse_size("64 GiB"), parse_size("65536MB")
    (68719476736, 68719476736, 68719476736)
    >>> parse_size("0.5TB") == 512 * GB, parse_size("512kB"), parse_size("4096")
    (True, 524288, 4096)
    """
    if not isinstance(text, str):
        raise UsageError(f"{what}: expected a size like 64GB, got {text!r}")
    match = _NUMBER.fullmatch(text)
    if not match:
        raise UsageError(
            f"{what}: {text!r} is not a size (examples: 64GB, 64 GiB, 65536MB, 0.5TB, 512kB)"
        )
    number, unit = match.group(1), match.group(2).lower()
    factor = _SIZE_UNITS.get(unit)
    if factor is None:
        raise UsageError(
            f"{what}: unknown unit {match.group(2)!r} in {text!r} (use B, kB, MB, GB or TB)"
        )
    value = float(number) * factor
    if not math.isfinite(value) or value >= MAX_SIZE:
        raise UsageError(f"{what}: {text!r} is too large")
    if factor == 1 and float(number) != int(float(number)):
        raise UsageError(f"{what}: {text!r} is not a whole number of bytes")
    whole = round(value)
    if whole <= 0:
        raise UsageError(f"{what}: {text!r} must be larger than zero")
    return int(whole)


def format_size(value: int) -> str:
    """PostgreSQL's spelling of a byte count, in the largest exact unit.

    >>> format_size(64 * GB), format_size(1536 * MB), format_size(512 * KB), format_size(100)
    ('64GB', '1536MB', '512kB', '100B')
    """
    for name, factor in (("TB", TB), ("GB", GB), ("MB", MB), ("kB", KB)):
        if value != 0 and value % factor == 0:
            return f"{value // factor}{name}"
    return f"{value}B"


def human_size(value: float) -> str:
    """A rounded size for people (tables, budgets), not for configuration files.

    >>> human_size(1.5 * GB), human_size(3 * KB)
    ('1.5 GB', '3 kB')
    """
    for name, factor in (("TB", TB), ("GB", GB), ("MB", MB), ("kB", KB)):
        if abs(value) >= factor:
            return f"{value / factor:.3g} {name}"
    return f"{value:.0f} B"


def format_ms(value: float) -> str:
    """PostgreSQL's spelling of a duration given in milliseconds.

    >>> format_ms(900_000), format_ms(30_000), format_ms(2), format_ms(1.5)
    ('15min', '30s', '2ms', '1.5ms')
    """
    if value != int(value):
        return f"{value:g}ms"
    whole = int(value)
    for name in ("d", "h", "min", "s"):
        factor = int(_MS_UNITS[name])
        if whole != 0 and whole % factor == 0:
            return f"{whole // factor}{name}"
    return f"{whole}ms"
