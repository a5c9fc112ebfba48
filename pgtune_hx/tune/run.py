"""Entry points: tune offline from flags, or a live server from its own facts."""

from __future__ import annotations

from dataclasses import dataclass

from psycopg import sql

from pgtune_hx.collect.model import Snapshot
from pgtune_hx.db import Connection, translated
from pgtune_hx.errors import InsufficientPrivilege, MissingCapability, UsageError
from pgtune_hx.tune import evidence, hardware
from pgtune_hx.tune.live import SECTIONS, host_facts, server_state
from pgtune_hx.tune.model import SettingChange, Storage, TuneInputs, Workload
from pgtune_hx.tune.recommend import Recommendation, recommend
from pgtune_hx.tune.validate import SUPPORTED_MAJORS


@dataclass(frozen=True)
class Request:
    """What the user asked for; None means detect or default."""

    memory: int | None = None
    cpus: int | None = None
    storage: Storage | None = None
    workload: Workload | None = None
    pg_version: int | None = None
    max_connections: int | None = None
    db_size: int | None = None
    evidence: bool = True


DEFAULT_WORKLOAD = Workload.mixed
DEFAULT_OFFLINE_VERSION = 18


def _workload(request: Request, notes: list[str]) -> Workload:
    if request.workload is not None:
        return request.workload
    notes.append(f"workload not given: {DEFAULT_WORKLOAD} assumed (give --workload)")
    return DEFAULT_WORKLOAD


def _check_connections(value: int | None) -> int | None:
    if value is not None and not 1 <= value <= 262143:
        raise UsageError(f"--max-connections {value}: expected 1..262143")
    return value


def offline(request: Request) -> Recommendation:
    """No server: hardware from the flags, bounds from the bundled table."""
    notes: list[str] = []
    hw = hardware.resolve(
        facts=None,
        memory=request.memory,
        cpus=request.cpus,
        storage=request.storage,
        what="tuning offline (no --dsn)",
    )
    major = request.pg_version
    if major is None:
        major = DEFAULT_OFFLINE_VERSION
        notes.append(f"--pg-version not given: PostgreSQL {major} assumed")
    inputs = TuneInputs(
        memory_bytes=hw.memory_bytes,
        cpus=hw.cpus,
        storage=hw.storage,
        workload=_workload(request, notes),
        major=major,
        max_connections=_check_connections(request.max_connections),
        db_size_bytes=request.db_size,
        sources={**hw.sources, "version": "flag" if request.pg_version else "default"},
    )
    notes.append("offline: no live statistics, the baseline is all there is")
    return recommend(inputs, notes=notes)


def live(conn: Connection, request: Request) -> Recommendation:
    """A live server: a snapshot of the sections the tuner reads, then ``from_snapshot``."""
    from pgtune_hx.collect.snapshot import collect_snapshot

    snapshot = collect_snapshot(conn, list(SECTIONS))
    return from_snapshot(snapshot, request)


def from_snapshot(snapshot: Snapshot, request: Request) -> Recommendation:
    """Tune the server a snapshot describes: its settings, host facts and statistics.

    Local hardware (the collectors' decision) is used unless flags override it;
    a remote server needs --memory, --cpus and --storage.
    """
    notes: list[str] = []
    server = server_state(snapshot)
    if server.major not in SUPPORTED_MAJORS:
        raise MissingCapability(
            f"the server is PostgreSQL {server.version}; the tuner supports "
            f"{SUPPORTED_MAJORS[0]}..{SUPPORTED_MAJORS[-1]}"
        )
    if request.pg_version is not None and request.pg_version != server.major:
        raise UsageError(
            f"--pg-version {request.pg_version} contradicts the server (PostgreSQL {server.major})",
            hint="leave --pg-version out when tuning a live server",
        )
    facts = host_facts(snapshot)
    why = facts.notes[0] if facts.notes and not facts.local else "the server is remote"
    hw = hardware.resolve(
        facts=facts,
        memory=request.memory,
        cpus=request.cpus,
        storage=request.storage,
        what=why,
    )
    notes.extend(hw.notes)
    db_size = request.db_size if request.db_size is not None else server.db_size_bytes
    inputs = TuneInputs(
        memory_bytes=hw.memory_bytes,
        cpus=hw.cpus,
        storage=hw.storage,
        workload=_workload(request, notes),
        major=server.major,
        max_connections=_check_connections(request.max_connections),
        db_size_bytes=db_size,
        disk_total_bytes=hw.disk_total_bytes,
        huge_page_size_bytes=hw.huge_page_size_bytes,
        huge_pages_total=hw.huge_pages_total,
        local=hw.local,
        sources={
            **hw.sources,
            "version": "server",
            "db_size": "flag" if request.db_size is not None else "server",
        },
    )
    corrections = None
    if request.evidence:
        seen = evidence.facts_from_snapshot(snapshot)
        corrections = evidence.correct(seen, inputs, server)
    if server.pending_restart:
        notes.append("settings already waiting for a restart: " + ", ".join(server.pending_restart))
    return recommend(inputs, server=server, corrections=corrections, notes=notes)


@dataclass(frozen=True)
class Applied:
    statements: list[str]
    restart_needed: list[str]
    errors: list[str]


def apply(conn: Connection, changes: list[SettingChange]) -> Applied:
    """ALTER SYSTEM for each change, then pg_reload_conf(); nothing else.

    The connection must be writable (Guard(read_only=False)): ALTER SYSTEM
    rewrites postgresql.auto.conf. Returns what still needs a restart and any
    error pg_file_settings reports for postgresql.auto.conf afterwards.
    """
    statements = []
    for change in changes:
        stmt = sql.SQL("ALTER SYSTEM SET {} = {}").format(
            sql.Identifier(change.name), sql.Literal(change.recommended)
        )
        with translated(f"ALTER SYSTEM SET {change.name}"):
            conn.execute(stmt)
        statements.append(stmt.as_string(conn))
    with translated("pg_reload_conf()"):
        conn.execute("select pg_reload_conf()")
        statements.append("SELECT pg_reload_conf()")
    try:
        with translated("reading pg_file_settings"):
            rows = conn.execute(
                "select name, error from pg_file_settings "
                "where sourcefile like '%postgresql.auto.conf' and error is not null"
            ).fetchall()
    except InsufficientPrivilege as exc:
        return Applied(statements, sorted(c.name for c in changes if c.restart), [str(exc)])
    restart = {c.name for c in changes if c.restart}
    errors = [
        f"{r['name']}: {r['error']}"
        for r in rows
        if not (r["name"] in restart and r["error"] == "setting could not be applied")
    ]
    return Applied(statements, sorted(restart), errors)
