"""The live server as the tuner sees it, read from a collectors' Snapshot.

A live tune takes a snapshot of the sections it needs (one read-only
transaction, see pgtune_hx.collect.snapshot); a saved snapshot file tunes the
same way later. The snapshot's host facts carry the collectors' local/remote
decision: Unix socket or loopback AND the data directory exists here.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import psycopg
from psycopg.conninfo import conninfo_to_dict

from pgtune_hx.collect.model import Snapshot
from pgtune_hx.errors import InvalidInputFile, MissingCapability
from pgtune_hx.host import HostFacts
from pgtune_hx.tune.validate import BoundsTable, from_pg_settings

# what the tuner reads: settings to validate against, the rest as evidence
SECTIONS = (
    "settings",
    "database",
    "statements",
    "checkpointer",
    "wal",
    "io",
    "activity",
    "tables",
)


@dataclass(frozen=True)
class ServerState:
    """Version, settings in force and their bounds, and where the server is."""

    version_num: int
    version: str
    host: str | None
    port: str | None
    data_directory: str | None
    db_size_bytes: int | None
    captured_at: dt.datetime
    settings: dict[str, str]
    bounds: BoundsTable
    pending_restart: tuple[str, ...] = ()

    @property
    def major(self) -> int:
        return self.version_num // 10000

    def setting_int(self, name: str, default: int = 0) -> int:
        try:
            return int(float(self.settings.get(name, default)))
        except ValueError:
            return default


def captured(snapshot: Snapshot) -> dt.datetime:
    moment = snapshot.captured
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def server_state(snapshot: Snapshot) -> ServerState:
    """The settings section is required: without it nothing can be validated."""
    section = snapshot.section("settings")
    if not section.ok or not section.rows:
        raise MissingCapability(
            f"the snapshot has no settings section ({section.error or 'empty'}): "
            "the tuner validates against pg_settings"
        )
    rows = section.rows
    try:
        version_num = int(snapshot.server["server_version_num"])
        settings = {str(r["name"]): str(r["setting"]) for r in rows if r.get("setting") is not None}
    except (KeyError, TypeError, ValueError) as exc:
        raise InvalidInputFile(f"snapshot settings are malformed: {exc}") from None
    bounds = from_pg_settings(
        rows, version_num // 10000, str(snapshot.server.get("server_version"))
    )
    sizes = [r.get("size_bytes") for r in snapshot.rows("database") if r.get("datname")]
    known = [int(s) for s in sizes if s is not None]
    addr = snapshot.server.get("server_addr") or _conninfo_host(snapshot)
    return ServerState(
        version_num=version_num,
        version=str(snapshot.server.get("server_version", version_num)),
        host=str(addr) if addr else None,
        port=str(snapshot.server.get("port") or "") or None,
        data_directory=snapshot.server.get("data_directory"),
        db_size_bytes=sum(known) if known else None,
        captured_at=captured(snapshot),
        settings=settings,
        bounds=bounds,
        pending_restart=tuple(str(r["name"]) for r in rows if r.get("pending_restart")),
    )


def _conninfo_host(snapshot: Snapshot) -> str | None:
    try:
        host = conninfo_to_dict(str(snapshot.server.get("connection") or "")).get("host")
        return str(host) if host else None
    except psycopg.Error:
        return None


def host_facts(snapshot: Snapshot) -> HostFacts:
    """The collectors' host facts; remote (hardware unknown) when absent."""
    if not snapshot.host:
        return HostFacts(local=False, notes=["the snapshot holds no host facts"])
    return HostFacts.from_dict(snapshot.host)
