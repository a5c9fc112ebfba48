"""What a server can do for us, probed once per connection.

Each need is a named check in the style of psycopg's ``Capabilities.has_*``:
``has_pg_stat_statements(check=True)`` raises a MissingCapability that says
what to do, ``check=False`` just answers.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass, field
from typing import Any

from pgtune_hx.db.connect import Connection, translated
from pgtune_hx.errors import InsufficientPrivilege, MissingCapability

_PROBE_SQL = """
select current_setting('server_version_num')::int as server_version_num,
       current_setting('server_version') as server_version,
       current_database() as database,
       current_user as role,
       (select rolsuper from pg_roles where rolname = current_user) as is_superuser,
       pg_has_role(current_user, 'pg_monitor', 'MEMBER') as has_pg_monitor,
       pg_has_role(current_user, 'pg_read_all_stats', 'MEMBER') as has_read_all_stats,
       pg_has_role(current_user, 'pg_signal_backend', 'MEMBER') as has_signal_backend,
       (select setting from pg_settings where name = 'shared_preload_libraries')
           as shared_preload_libraries,
       pg_is_in_recovery() as in_recovery,
       coalesce((select json_object_agg(extname, extversion) from pg_extension), '{}')
           as installed,
       coalesce((select json_object_agg(name, default_version)
                   from pg_available_extensions), '{}') as available
"""


@dataclass(frozen=True)
class Capabilities:
    server_version_num: int
    server_version: str
    database: str
    role: str
    is_superuser: bool
    has_pg_monitor: bool
    has_read_all_stats: bool
    has_signal_backend: bool
    shared_preload_libraries: tuple[str, ...]
    in_recovery: bool
    preload_visible: bool = True
    installed: dict[str, str] = field(default_factory=dict)
    available: dict[str, str] = field(default_factory=dict)

    @property
    def major(self) -> int:
        return self.server_version_num // 10000

    def at_least(self, major: int) -> bool:
        return self.major >= major

    def preloaded(self, library: str) -> bool | None:
        """None when this role cannot read shared_preload_libraries."""
        if not self.preload_visible:
            return None
        return library in self.shared_preload_libraries

    def has_extension(self, name: str, *, check: bool = False) -> bool:
        ok = name in self.installed
        if not ok and check:
            where = "available" if name in self.available else "not available on this server"
            raise MissingCapability(
                f"extension {name} is not installed in database {self.database} ({where})",
                hint=f"CREATE EXTENSION {name}",
            )
        return ok

    def has_pg_stat_statements(self, *, check: bool = False) -> bool:
        if self.preloaded("pg_stat_statements") is False:
            if check:
                raise MissingCapability(
                    "pg_stat_statements is not in shared_preload_libraries",
                    hint="add it to shared_preload_libraries and restart the server",
                )
            return False
        return self.has_extension("pg_stat_statements", check=check)

    def has_hypopg(self, *, check: bool = False) -> bool:
        return self.has_extension("hypopg", check=check)

    def has_vector(self, *, check: bool = False) -> bool:
        return self.has_extension("vector", check=check)

    def has_pgstattuple(self, *, check: bool = False) -> bool:
        return self.has_extension("pgstattuple", check=check)

    def has_pg_stat_io(self, *, check: bool = False) -> bool:
        ok = self.at_least(16)
        if not ok and check:
            raise MissingCapability(f"pg_stat_io needs PostgreSQL 16+, server is {self.major}")
        return ok

    def has_generic_plan(self) -> bool:
        """EXPLAIN (GENERIC_PLAN) exists from 16 on."""
        return self.at_least(16)

    def can_read_all_stats(self, *, check: bool = False) -> bool:
        ok = self.is_superuser or self.has_pg_monitor or self.has_read_all_stats
        if not ok and check:
            raise InsufficientPrivilege(
                f"role {self.role} cannot see other sessions' queries and statistics",
                hint=f"GRANT pg_monitor TO {self.role}",
            )
        return ok

    def can_signal_backends(self, *, check: bool = False) -> bool:
        ok = self.is_superuser or self.has_signal_backend
        if not ok and check:
            raise InsufficientPrivilege(
                f"role {self.role} cannot cancel or terminate other sessions",
                hint=f"GRANT pg_signal_backend TO {self.role}",
            )
        return ok

    def to_dict(self) -> dict[str, Any]:
        return {
            "server_version_num": self.server_version_num,
            "server_version": self.server_version,
            "database": self.database,
            "role": self.role,
            "is_superuser": self.is_superuser,
            "has_pg_monitor": self.has_pg_monitor,
            "has_read_all_stats": self.has_read_all_stats,
            "has_signal_backend": self.has_signal_backend,
            "shared_preload_libraries": list(self.shared_preload_libraries),
            "in_recovery": self.in_recovery,
            "preload_visible": self.preload_visible,
            "installed": dict(self.installed),
            "available": dict(self.available),
        }


_cache: weakref.WeakKeyDictionary[Connection, Capabilities] = weakref.WeakKeyDictionary()


def probe(conn: Connection) -> Capabilities:
    """Ask the server once; the result is cached on the connection."""
    cached = _cache.get(conn)
    if cached is not None:
        return cached
    with translated("probing server capabilities"):
        row = conn.execute(_PROBE_SQL).fetchone()
    assert row is not None
    # superuser-only setting: None when this role may not read it
    preload = row["shared_preload_libraries"]
    libs = tuple(p.strip() for p in str(preload or "").split(",") if p.strip())
    caps = Capabilities(
        server_version_num=int(row["server_version_num"]),
        server_version=str(row["server_version"]),
        database=str(row["database"]),
        role=str(row["role"]),
        is_superuser=bool(row["is_superuser"]),
        has_pg_monitor=bool(row["has_pg_monitor"]),
        has_read_all_stats=bool(row["has_read_all_stats"]),
        has_signal_backend=bool(row["has_signal_backend"]),
        shared_preload_libraries=libs,
        preload_visible=preload is not None,
        in_recovery=bool(row["in_recovery"]),
        installed=dict(row["installed"] or {}),
        available=dict(row["available"] or {}),
    )
    _cache[conn] = caps
    return caps
