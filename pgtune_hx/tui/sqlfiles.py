"""The monitor's own SQL, in package .sql files chosen by server version.

A query named ``q`` lives in ``sql/q.sql`` (the oldest version the monitor
supports) and, where PostgreSQL changed a view, in ``sql/q_NNNNNN.sql`` for the
servers from that version on. ``pick`` takes the newest file not newer than the
server, from a sorted table built once from the directory listing.
"""

from __future__ import annotations

import bisect
import functools
import re
from importlib import resources

_VERSIONED = re.compile(r"^(?P<name>[a-z_]+?)(?:_(?P<version>\d{6}))?\.sql$")
BASE_VERSION = 140000


@functools.cache
def _table() -> dict[str, tuple[tuple[int, str], ...]]:
    found: dict[str, list[tuple[int, str]]] = {}
    for entry in resources.files("pgtune_hx.tui").joinpath("sql").iterdir():
        match = _VERSIONED.match(entry.name)
        if match is None:
            continue
        version = int(match.group("version") or BASE_VERSION)
        found.setdefault(match.group("name"), []).append((version, entry.name))
    return {name: tuple(sorted(files)) for name, files in found.items()}


@functools.cache
def _read(filename: str) -> str:
    return resources.files("pgtune_hx.tui").joinpath("sql", filename).read_text()


def pick(name: str, server_version_num: int) -> str:
    """The text of query ``name`` for this server version.

    >>> "pg_stat_database" in pick("database", 180000)
    True
    """
    files = _table().get(name)
    if not files:
        raise KeyError(f"no SQL file for {name!r}")
    index = bisect.bisect_right([version for version, _ in files], server_version_num) - 1
    if index < 0:
        index = 0
    return _read(files[index][1])
