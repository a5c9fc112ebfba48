"""Pick a collector's SQL for a server version from a sorted version table.

The table is the sql/ directory itself: ``tables_130000.sql``,
``tables_160000.sql`` and ``tables_180000.sql`` mean "13 up to 15", "16 and 17"
and "18 and later". Adding support for
a view change is adding a file, never another branch in Python.
"""

from __future__ import annotations

import bisect
import functools
import re
from importlib import resources

from pgtune_hx.errors import MissingCapability

_FILE = re.compile(r"^(?P<name>[a-z_]+?)_(?P<version>\d{6})\.sql$")

# pg_stat_statements drops comments before a statement's first word but keeps
# the ones inside it: after the first word, the marker tells our own queries
# apart from the user's in every later snapshot.
OWN_QUERY_MARKER = "/* pgtune_hx */"
_FIRST_WORD = re.compile(r"\A((?:\s*--[^\n]*\n)*\s*)([A-Za-z]+)")


def is_own_query(query: object) -> bool:
    """Whether a pg_stat_statements text is one of the snapshot's own queries."""
    return isinstance(query, str) and OWN_QUERY_MARKER in query


def mark(text: str) -> str:
    """
    >>> mark("-- a comment\\nselect 1")
    '-- a comment\\nselect /* pgtune_hx */ 1'
    """
    return _FIRST_WORD.sub(lambda m: f"{m[1]}{m[2]} {OWN_QUERY_MARKER}", text, count=1)


@functools.cache
def version_table() -> dict[str, list[tuple[int, str]]]:
    """name -> [(min server_version_num, file name), ...] sorted by version."""
    table: dict[str, list[tuple[int, str]]] = {}
    for entry in resources.files("pgtune_hx.collect.sql").iterdir():
        match = _FILE.match(entry.name)
        if match:
            table.setdefault(match["name"], []).append((int(match["version"]), entry.name))
    for versions in table.values():
        versions.sort()
    return table


def pick_file(name: str, version_num: int) -> str:
    """File name of ``name`` for a server of ``version_num``.

    >>> pick_file("tables", 150004)
    'tables_130000.sql'
    >>> pick_file("tables", 170004)
    'tables_160000.sql'
    """
    versions = version_table().get(name)
    if not versions:
        raise KeyError(f"no SQL for collector {name!r}")
    index = bisect.bisect_right([v for v, _ in versions], version_num) - 1
    if index < 0:
        first = versions[0][0]
        raise MissingCapability(
            f"{name} needs PostgreSQL {_major_text(first)}+, server is {_major_text(version_num)}"
        )
    return versions[index][1]


@functools.cache
def _read(file_name: str) -> str:
    return mark(resources.files("pgtune_hx.collect.sql").joinpath(file_name).read_text())


def pick(name: str, version_num: int) -> str:
    """SQL text of ``name`` for a server of ``version_num``."""
    return _read(pick_file(name, version_num))


def _major_text(version_num: int) -> str:
    """
    >>> _major_text(160002)
    '16'
    """
    return str(version_num // 10000)
