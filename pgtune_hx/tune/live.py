"""What the tuner reads from a live server: version, settings, locality.

All reads go through the caller's guarded (read-only) connection. The SQL
lives in pgtune_hx/tune/sql/, one file per query and, where a view changed,
one per minimum server version chosen from a sorted table.
"""

from __future__ import annotations

import bisect
import datetime as dt
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

from psycopg import sql

from pgtune_hx.db import Connection, translated
from pgtune_hx.tune.validate import BoundsTable, from_pg_settings

# query -> sorted (min server_version_num, file); None where the view does not exist
VERSIONED: dict[str, list[tuple[int, str | None]]] = {
    "checkpoints": [(150000, "checkpoints_150000.sql"), (170000, "checkpoints_170000.sql")],
    "io": [(150000, None), (160000, "io_160000.sql")],
}


@cache
def load_sql(name: str) -> str:
    return resources.files("pgtune_hx.tune").joinpath("sql", name).read_text()


def sql_for(query: str, version_num: int) -> str | None:
    """The file for ``query`` on this server: the last entry whose version <= it."""
    table = VERSIONED.get(query)
    if table is None:
        return load_sql(f"{query}.sql")
    index = bisect.bisect_right([v for v, _ in table], version_num) - 1
    name = table[max(index, 0)][1]
    return load_sql(name) if name else None


def fetch_one(conn: Connection, text: str | sql.Composed, what: str) -> dict[str, Any]:
    with translated(what):
        row = conn.execute(text.encode() if isinstance(text, str) else text).fetchone()
    return dict(row) if row else {}


def fetch_all(conn: Connection, text: str | sql.Composed, what: str) -> list[dict[str, Any]]:
    with translated(what):
        return [dict(r) for r in conn.execute(text.encode() if isinstance(text, str) else text)]


@dataclass(frozen=True)
class ServerState:
    """The live server as the tuner sees it."""

    version_num: int
    version: str
    host: str | None
    port: str | None
    data_directory: str | None
    db_size_bytes: int | None
    pgss_schema: str | None
    captured_at: dt.datetime
    settings: dict[str, str]
    bounds: BoundsTable
    pending_restart: tuple[str, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def major(self) -> int:
        return self.version_num // 10000

    def setting_int(self, name: str, default: int = 0) -> int:
        try:
            return int(float(self.settings.get(name, default)))
        except ValueError:
            return default


def read_server(conn: Connection) -> ServerState:
    server = fetch_one(conn, load_sql("server.sql"), "reading the server's version")
    rows = fetch_all(conn, load_sql("settings.sql"), "reading pg_settings")
    version_num = int(server["server_version_num"])
    settings = {str(r["name"]): str(r["setting"]) for r in rows if r["setting"] is not None}
    bounds = from_pg_settings(rows, version_num // 10000, str(server["server_version"]))
    return ServerState(
        version_num=version_num,
        version=str(server["server_version"]),
        host=conn.info.host,
        port=str(conn.info.port) if conn.info.port else None,
        data_directory=server.get("data_directory"),
        db_size_bytes=int(server["db_size_bytes"]) if server.get("db_size_bytes") else None,
        pgss_schema=server.get("pgss_schema"),
        captured_at=server["captured_at"],
        settings=settings,
        bounds=bounds,
        pending_restart=tuple(str(r["name"]) for r in rows if r.get("pending_restart")),
    )
