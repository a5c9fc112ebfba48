"""Handles on the servers and databases tests run against."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg.rows import dict_row

from pgtune_hx.embedded import EmbeddedServer


@dataclass(frozen=True)
class PgTarget:
    """One server under test: a name for ids, its major version, an admin DSN."""

    name: str
    major: int
    admin_dsn: str
    server: EmbeddedServer | None

    def dsn_for(self, dbname: str) -> str:
        params: dict[str, Any] = conninfo_to_dict(self.admin_dsn)
        params["dbname"] = dbname
        return make_conninfo("", **params)


@dataclass(frozen=True)
class TestDatabase:
    """A database made for one test; ``admin()`` writes, ``dsn`` is for the tool."""

    __test__ = False  # not a test class, despite the name

    target: PgTarget
    name: str

    @property
    def dsn(self) -> str:
        return self.target.dsn_for(self.name)

    @property
    def major(self) -> int:
        return self.target.major

    def admin(self, **kwargs: Any) -> psycopg.Connection[dict[str, Any]]:
        """A writable, autocommit connection with dict rows, for setting up a test."""
        return psycopg.connect(self.dsn, autocommit=True, row_factory=dict_row, **kwargs)

    def execute(self, sql: str, params: Any = None) -> list[dict[str, Any]]:
        with self.admin() as conn:
            cur = conn.execute(sql.encode(), params)
            return cur.fetchall() if cur.description else []
