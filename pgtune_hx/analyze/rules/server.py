"""Rules about the server: checkpoints, writes, connections, sessions, locks,
replication slots, archiving, configuration, durability."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pgtune_hx.analyze.common import (
    config_size,
    human_bytes,
    human_duration,
    num,
    quote_literal,
    ratio,
    rounded,
    seconds_between,
    short_query,
)
from pgtune_hx.analyze.engine import Context
from pgtune_hx.analyze.findings import Finding, Severity
from pgtune_hx.analyze.registry import rule

CLIENT = "client backend"
# what pg_file_settings says of a changed restart-only setting: not an error in the file
PENDING_RESTART_ERROR = "setting could not be applied"


def _one(ctx: Context, section: str) -> dict[str, Any] | None:
    rows = ctx.counters(section)
    return rows[0] if rows else None


def _age(ctx: Context, row: dict[str, Any], what: str) -> float | None:
    """Seconds since xact_start / query_start / state_change (derived column or timestamp)."""
    derived = row.get(f"{what}_age_s")
    if derived is not None:
        return num(derived)
    column = {"xact": "xact_start", "query": "query_start", "state": "state_change"}[what]
    return seconds_between(row.get(column), ctx.now)


def _clients(ctx: Context) -> list[dict[str, Any]]:
    return [r for r in ctx.snapshot.rows("activity") if (r.get("backend_type") or CLIENT) == CLIENT]


def _session(ctx: Context, row: dict[str, Any]) -> dict[str, Any]:
    xact = _age(ctx, row, "xact")
    return {
        "pid": row.get("pid"),
        "datname": row.get("datname"),
        "usename": row.get("usename"),
        "application_name": row.get("application_name"),
        "client_addr": row.get("client_addr"),
        "state": row.get("state"),
        "wait_event_type": row.get("wait_event_type"),
        "wait_event": row.get("wait_event"),
        "xact_age_s": rounded(xact, 1),
        "state_age_s": rounded(_age(ctx, row, "state"), 1),
        "backend_xmin": row.get("backend_xmin"),
        "backend_xmin_age": row.get("backend_xmin_age"),
        "query": short_query(row.get("query")),
    }


def _wal_rate(ctx: Context) -> tuple[float | None, str]:
    """WAL bytes per second: over the interval, else since the WAL stats reset."""
    wal = _one(ctx, "wal")
    if wal is None or wal.get("wal_bytes") is None:
        return None, "unknown"
    if ctx.since is not None and ctx.interval_s:
        return num(wal.get("wal_bytes")) / ctx.interval_s, "interval"
    window = seconds_between(wal.get("stats_reset"), ctx.now)
    if not window:
        return None, "unknown"
    return num(wal.get("wal_bytes")) / window, "since stats reset"


def _checkpoint_counts(ctx: Context) -> tuple[float, float, str] | None:
    """(timed, requested, view): the checkpointer section carries pg_stat_checkpointer's
    names on every version (from pg_stat_bgwriter before 17)."""
    row = _one(ctx, "checkpointer")
    if row is None or row.get("num_timed") is None:
        return None
    view = "checkpointer" if ctx.snapshot.server_version_num >= 170000 else "bgwriter"
    return num(row.get("num_timed")), num(row.get("num_requested")), view


@rule(
    "server.checkpoints_requested",
    severity=Severity.warning,
    title="Checkpoints are requested more often than they are timed",
    requires=("checkpointer", "settings"),
)
def checkpoints_requested(
    ctx: Context, *, min_requested: int = 10, headroom: float = 1.5
) -> Iterator[Finding]:
    """Checkpoints should come from checkpoint_timeout. When more of them are
    requested (WAL reached max_wal_size, or CHECKPOINT commands and base
    backups), each one writes more dirty buffers than needed and every page
    touched afterwards gets a full-page image in WAL. The suggested
    max_wal_size holds ``headroom`` times the WAL written in one
    checkpoint_timeout (the WAL rate is taken over the interval between two
    snapshots, or since the WAL statistics were reset).

    https://www.postgresql.org/docs/current/wal-configuration.html
    """
    counts = _checkpoint_counts(ctx)
    if counts is None:
        return
    timed, requested, source = counts
    if requested < min_requested or requested <= timed:
        return
    max_wal = ctx.setting_base("max_wal_size")
    timeout_ms = ctx.setting_base("checkpoint_timeout")
    target = num(ctx.setting("checkpoint_completion_target"), 0.9)
    rate, rate_window = _wal_rate(ctx)
    evidence: dict[str, Any] = {
        "checkpoints_timed": int(timed),
        "checkpoints_requested": int(requested),
        "source": f"pg_stat_{source}",
        "max_wal_size_bytes": None if max_wal is None else int(max_wal),
        "checkpoint_timeout_s": None if timeout_ms is None else timeout_ms / 1000,
        "checkpoint_completion_target": target,
        "wal_bytes_per_s": rounded(rate, 1),
        "wal_rate_window": rate_window,
        "note": "requested checkpoints include CHECKPOINT commands and base backups",
    }
    if ctx.since is not None:
        evidence["interval_s"] = rounded(ctx.interval_s, 1)
    fix: str
    kind: str
    if rate and timeout_ms:
        # A checkpoint is requested when the WAL since the last one passes
        # about max_wal_size / (1 + checkpoint_completion_target).
        needed = rate * timeout_ms / 1000 * (1 + target) * headroom
        evidence["wal_per_checkpoint_timeout_bytes"] = int(rate * timeout_ms / 1000)
        if max_wal is None or needed > max_wal:
            fix = f"max_wal_size = '{config_size(needed)}'  # then SELECT pg_reload_conf();"
            kind = "config"
        else:
            fix = (
                "-- max_wal_size already holds the WAL of a checkpoint_timeout at this rate: "
                "the requests come from CHECKPOINT commands or backups; find who issues them"
            )
            kind = "action"
    else:
        fix = (
            "-- WAL rate unknown: compare WAL written per checkpoint_timeout with max_wal_size "
            "(two snapshots: pgtune-hx analyze --interval 300) and raise max_wal_size"
        )
        kind = "action"
    yield ctx.finding(
        object="checkpointer",
        evidence=evidence,
        fix=fix,
        fix_kind=kind,
        impact=requested,
        confidence="high" if kind == "config" else "medium",
    )


def _buffer_writes(ctx: Context) -> dict[str, float] | None:
    """Buffers written by backends, the checkpointer and the background writer."""
    io = ctx.counters("io")
    if ctx.snapshot.has("io") and io:
        writes: dict[str, float] = {"backend": 0.0, "checkpointer": 0.0, "bgwriter": 0.0}
        for io_row in io:
            if io_row.get("object") != "relation" or io_row.get("context") != "normal":
                continue
            kind = io_row.get("backend_type")
            key = {
                CLIENT: "backend",
                "checkpointer": "checkpointer",
                "background writer": "bgwriter",
            }.get(str(kind))
            if key:
                writes[key] += num(io_row.get("writes"))
        writes["source"] = 0.0
        return writes
    row = _one(ctx, "bgwriter")
    if row is None or row.get("buffers_backend") is None:
        return None
    checkpointer = _one(ctx, "checkpointer") or {}
    return {
        "backend": num(row.get("buffers_backend")),
        "checkpointer": num(checkpointer.get("buffers_checkpoint", row.get("buffers_checkpoint"))),
        "bgwriter": num(row.get("buffers_clean")),
        "source": 1.0,
    }


@rule(
    "server.backend_writes",
    severity=Severity.warning,
    title="Backends write out dirty buffers themselves",
    requires=("settings",),
)
def backend_buffer_writes(
    ctx: Context, *, max_backend_share: float = 0.2, min_writes: int = 10_000
) -> Iterator[Finding]:
    """A backend that needs a free buffer and finds only dirty ones writes one
    out itself, and the query waits for it. The background writer should do
    those writes ahead of time; ``maxwritten_clean`` counts the rounds it
    stopped at bgwriter_lru_maxpages. From PostgreSQL 16 the counts come from
    pg_stat_io (client backends, relation objects, normal context: bulk and
    vacuum ring buffers are left out, their writes are expected).

    https://www.postgresql.org/docs/current/runtime-config-resource.html#RUNTIME-CONFIG-RESOURCE-BACKGROUND-WRITER
    """
    writes = _buffer_writes(ctx)
    if writes is None:
        return
    total = writes["backend"] + writes["checkpointer"] + writes["bgwriter"]
    share = ratio(writes["backend"], total)
    if share is None or writes["backend"] < min_writes or share < max_backend_share:
        return
    bgwriter = _one(ctx, "bgwriter") or {}
    maxpages = num(ctx.setting("bgwriter_lru_maxpages"), 100)
    multiplier = num(ctx.setting("bgwriter_lru_multiplier"), 2.0)
    evidence: dict[str, Any] = {
        "backend_writes": int(writes["backend"]),
        "checkpointer_writes": int(writes["checkpointer"]),
        "bgwriter_writes": int(writes["bgwriter"]),
        "backend_share": round(share, 4),
        "maxwritten_clean": bgwriter.get("maxwritten_clean"),
        "source": "pg_stat_bgwriter" if writes["source"] else "pg_stat_io",
        "bgwriter_lru_maxpages": int(maxpages),
        "bgwriter_lru_multiplier": multiplier,
        "bgwriter_delay": ctx.setting("bgwriter_delay"),
        "shared_buffers_bytes": ctx.setting_base("shared_buffers"),
    }
    if ctx.since is not None:
        evidence["interval_s"] = rounded(ctx.interval_s, 1)
    new_maxpages = max(200, int(maxpages * 2)) if maxpages > 0 else 100
    new_multiplier = max(multiplier, 4.0)
    yield ctx.finding(
        object="background writer",
        evidence=evidence,
        fix=(
            f"bgwriter_lru_maxpages = {new_maxpages}\n"
            f"bgwriter_lru_multiplier = {new_multiplier}\n"
            "# then SELECT pg_reload_conf(); if it persists, shared_buffers is too small "
            "for the working set"
        ),
        fix_kind="config",
        impact=writes["backend"],
        confidence="medium",
    )


def _max_usable_connections(ctx: Context) -> float | None:
    max_conn = ctx.setting("max_connections")
    if max_conn is None:
        return None
    reserved = num(ctx.setting("superuser_reserved_connections")) + num(
        ctx.setting("reserved_connections")
    )
    return num(max_conn) - reserved


@rule(
    "server.connection_saturation",
    severity=Severity.warning,
    title="Client connections are close to max_connections",
    requires=("activity", "settings"),
)
def connection_saturation(
    ctx: Context, *, warning_fraction: float = 0.8, critical_fraction: float = 0.95
) -> Iterator[Finding]:
    """When client connections reach max_connections minus the reserved
    slots, new connections fail. Each connection is a process with its own
    memory; a pooler lets a few server connections serve many clients.

    https://www.postgresql.org/docs/current/runtime-config-connection.html#GUC-MAX-CONNECTIONS
    """
    usable = _max_usable_connections(ctx)
    if not usable:
        return
    clients = _clients(ctx)
    used = len(clients) / usable
    if used < warning_fraction:
        return
    states: dict[str, int] = {}
    for row in clients:
        key = str(row.get("state") or "unknown")
        states[key] = states.get(key, 0) + 1
    idle = states.get("idle", 0)
    yield ctx.finding(
        object="connections",
        evidence={
            "client_connections": len(clients),
            "max_connections": int(num(ctx.setting("max_connections"))),
            "superuser_reserved_connections": ctx.setting("superuser_reserved_connections"),
            "reserved_connections": ctx.setting("reserved_connections"),
            "usable_connections": int(usable),
            "fraction_used": round(used, 4),
            "by_state": states,
        },
        fix=(
            "-- put a connection pooler (PgBouncer, pool_mode = transaction) in front of the "
            f"server: {idle} of {len(clients)} connections are idle. Raising max_connections "
            "costs memory per connection and needs a restart"
        ),
        fix_kind="action",
        impact=used,
        severity=Severity.critical if used >= critical_fraction else None,
    )


@rule(
    "server.idle_connections",
    severity=Severity.info,
    title="Many client connections sit idle",
    requires=("activity", "settings"),
)
def idle_connections(
    ctx: Context, *, min_idle: int = 50, min_idle_fraction: float = 0.5
) -> Iterator[Finding]:
    """Idle connections hold a backend process and its memory (catalog and
    plan caches) while doing nothing; hundreds of them also slow down
    snapshot building for everyone. Applications that keep many idle
    connections open are what connection poolers are for.

    https://www.postgresql.org/docs/current/runtime-config-client.html#GUC-IDLE-SESSION-TIMEOUT
    """
    clients = _clients(ctx)
    idle = [r for r in clients if r.get("state") == "idle"]
    if len(idle) < min_idle or not clients or len(idle) / len(clients) < min_idle_fraction:
        return
    by_app: dict[str, int] = {}
    for row in idle:
        key = f"{row.get('usename')}@{row.get('datname')} {row.get('application_name') or ''}"
        by_app[key.strip()] = by_app.get(key.strip(), 0) + 1
    ages = [a for a in (_age(ctx, r, "state") for r in idle) if a is not None]
    yield ctx.finding(
        object="connections",
        evidence={
            "idle_connections": len(idle),
            "client_connections": len(clients),
            "idle_fraction": round(len(idle) / len(clients), 4),
            "max_connections": ctx.setting("max_connections"),
            "longest_idle_s": rounded(max(ages), 1) if ages else None,
            "idle_by_client": dict(sorted(by_app.items(), key=lambda kv: -kv[1])[:10]),
            "idle_session_timeout": ctx.setting("idle_session_timeout"),
        },
        fix=(
            "-- pool connections (PgBouncer, pool_mode = transaction) or shrink the "
            "applications' pools; as a safety net: idle_session_timeout = '30min'"
        ),
        fix_kind="action",
        impact=len(idle),
    )


def _terminate(pid: Any) -> str:
    return f"SELECT pg_terminate_backend({int(num(pid))});"


@rule(
    "server.long_transaction",
    severity=Severity.warning,
    title="Long-running transaction holds back the xmin horizon",
    requires=("activity",),
)
def long_transactions(
    ctx: Context, *, max_xact_age_s: float = 300.0, critical_xact_age_s: float = 3600.0
) -> Iterator[Finding]:
    """While a transaction (or a single long query) runs, VACUUM everywhere in
    the cluster must keep the row versions its snapshot may see: dead tuples
    pile up, tables and indexes bloat, freezing is held back. Idle-in-transaction
    sessions are reported by server.idle_in_transaction.

    https://www.postgresql.org/docs/current/routine-vacuuming.html#VACUUM-FOR-SPACE-RECOVERY
    """
    for row in _clients(ctx):
        if str(row.get("state") or "").startswith("idle in transaction"):
            continue
        age = _age(ctx, row, "xact")
        if age is None or age < max_xact_age_s:
            continue
        holds = row.get("backend_xmin") not in (None, "")
        yield ctx.finding(
            object=f"pid {row.get('pid')}",
            evidence={**_session(ctx, row), "holds_xmin": holds},
            fix=(
                f"SELECT pg_cancel_backend({int(num(row.get('pid')))});  "
                f"-- or end the session: {_terminate(row.get('pid'))}\n"
                "-- to bound them: statement_timeout / transaction_timeout (17+) for the role"
            ),
            fix_kind="sql",
            impact=age,
            severity=Severity.critical if age >= critical_xact_age_s else None,
            confidence="high" if holds else "medium",
        )


@rule(
    "server.idle_in_transaction",
    severity=Severity.warning,
    title="Session is idle inside an open transaction",
    requires=("activity",),
)
def idle_in_transaction(
    ctx: Context, *, max_idle_s: float = 60.0, critical_idle_s: float = 1800.0
) -> Iterator[Finding]:
    """A session that opened a transaction and went idle keeps its locks and,
    with a snapshot, holds back the xmin horizon for the whole cluster: VACUUM
    cannot remove rows deleted since. Usually an application that forgot to
    commit or a person at a psql prompt.

    https://www.postgresql.org/docs/current/runtime-config-client.html#GUC-IDLE-IN-TRANSACTION-SESSION-TIMEOUT
    """
    timeout = ctx.setting("idle_in_transaction_session_timeout")
    for row in _clients(ctx):
        if not str(row.get("state") or "").startswith("idle in transaction"):
            continue
        idle_for = _age(ctx, row, "state")
        if idle_for is None or idle_for < max_idle_s:
            continue
        evidence = _session(ctx, row)
        evidence["idle_in_transaction_session_timeout"] = timeout
        yield ctx.finding(
            object=f"pid {row.get('pid')}",
            evidence=evidence,
            fix=(
                f"{_terminate(row.get('pid'))}\n"
                "-- and to end such sessions automatically (postgresql.conf or ALTER ROLE): "
                "idle_in_transaction_session_timeout = '5min'"
            ),
            fix_kind="sql",
            impact=idle_for,
            severity=Severity.critical if idle_for >= critical_idle_s else None,
        )


@rule(
    "server.lock_waits",
    severity=Severity.warning,
    title="Sessions wait on locks held by a root blocker",
    requires=("blocking",),
)
def lock_waits(
    ctx: Context, *, min_wait_s: float = 0.0, critical_wait_s: float = 60.0
) -> Iterator[Finding]:
    """A lock chain has a root: the session that blocks others without
    waiting itself. Cancelling the waiters does nothing; the root (often idle
    in a transaction, or running a long DDL) is the one to deal with. One
    finding per root blocker, with every session waiting behind it, directly
    or through others. A root of pid 0 is a prepared transaction.

    https://www.postgresql.org/docs/current/explicit-locking.html
    """
    rows = ctx.snapshot.rows("blocking")
    activity = {int(num(r.get("pid"))): r for r in ctx.snapshot.rows("activity")}
    for root in rows:
        if not root.get("is_root") or not root.get("blocks"):
            continue
        pid = int(num(root.get("pid")))
        waiters = [r for r in rows if pid in (r.get("root_pids") or ())]
        # a waiting backend's state changed when its statement started waiting
        waits = [num(w.get("state_age_s")) for w in waiters if w.get("state_age_s") is not None]
        longest = max(waits, default=0.0)
        if longest < min_wait_s:
            continue
        session = _session(ctx, activity.get(pid, root))
        evidence = {
            "root_blocker": session,
            "blocked_count": root.get("blocked_count"),
            "waiting": [
                {
                    "pid": w.get("pid"),
                    "depth": w.get("depth"),
                    "blocked_by": w.get("blocked_by"),
                    "wait_s": rounded(num(w.get("state_age_s")), 1),
                    "query": short_query(w.get("query"), 120),
                }
                for w in sorted(waiters, key=lambda w: num(w.get("depth")))[:10]
            ],
            "longest_wait_s": round(longest, 1),
            "in_cycle": any(w.get("in_cycle") for w in waiters),
        }
        if pid == 0:
            fix = (
                "-- the root is a prepared transaction: COMMIT PREPARED or ROLLBACK PREPARED "
                "its gid (pg_prepared_xacts)"
            )
            kind = "action"
        else:
            fix = (
                f"SELECT pg_cancel_backend({pid});  -- cancels the root blocker's statement; "
                f"if it is idle in a transaction: {_terminate(pid)}"
            )
            kind = "sql"
        yield ctx.finding(
            object=f"pid {pid}",
            evidence=evidence,
            fix=fix,
            fix_kind=kind,
            impact=longest * max(1, len(waiters)),
            severity=Severity.critical if longest >= critical_wait_s else None,
        )


@rule(
    "server.deadlocks",
    severity=Severity.warning,
    title="Deadlocks occurred",
    requires=("database",),
)
def deadlocks(ctx: Context, *, min_deadlocks: int = 1) -> Iterator[Finding]:
    """Each deadlock aborts one of the transactions involved after
    deadlock_timeout. They come from transactions that lock the same rows or
    tables in different orders; the server log has the statements involved
    (log_lock_waits helps see the waits that precede them).

    https://www.postgresql.org/docs/current/explicit-locking.html#LOCKING-DEADLOCKS
    """
    for row in ctx.counters("database"):
        count = num(row.get("deadlocks"))
        if count < min_deadlocks:
            continue
        evidence: dict[str, Any] = {
            "datname": row.get("datname"),
            "deadlocks": int(count),
            "stats_reset": row.get("stats_reset"),
            "deadlock_timeout": ctx.setting("deadlock_timeout"),
            "log_lock_waits": ctx.setting("log_lock_waits"),
        }
        if ctx.since is not None:
            evidence["interval_s"] = rounded(ctx.interval_s, 1)
        yield ctx.finding(
            object=f"database {row.get('datname')}",
            evidence=evidence,
            fix=(
                "-- the server log names the statements of each deadlock; make the "
                "transactions take their row and table locks in one consistent order. "
                "To see the waits before them: log_lock_waits = on"
            ),
            fix_kind="action",
            impact=count,
        )


def _lsn(text: Any) -> int | None:
    """'16/B374D848' -> bytes."""
    if not text or "/" not in str(text):
        return None
    high, low = str(text).split("/", 1)
    try:
        return (int(high, 16) << 32) + int(low, 16)
    except ValueError:
        return None


def _retained(ctx: Context, row: dict[str, Any]) -> float | None:
    for column in ("retained_bytes", "wal_retained_bytes"):
        if row.get(column) is not None:
            return num(row.get(column))
    current = _lsn(ctx.snapshot.server.get("wal_lsn"))
    restart = _lsn(row.get("restart_lsn"))
    if current is None or restart is None:
        return None
    return float(max(0, current - restart))


@rule(
    "server.replication_slot",
    severity=Severity.warning,
    title="Replication slot is inactive or retains much WAL",
    requires=("replication_slots",),
)
def replication_slots(
    ctx: Context,
    *,
    max_retained_bytes: int = 1024**3,
    critical_retained_fraction: float = 0.5,
) -> Iterator[Finding]:
    """A replication slot keeps every WAL segment its consumer has not
    confirmed, and (with a catalog_xmin or xmin) holds back VACUUM. An
    abandoned slot fills the WAL disk until the server stops. Inactive slots
    and slots retaining more than ``max_retained_bytes`` are reported;
    critical when the slot retains more than ``critical_retained_fraction`` of
    the data disk's free space, or already lost WAL.

    https://www.postgresql.org/docs/current/warm-standby.html#STREAMING-REPLICATION-SLOTS
    """
    free = num(ctx.snapshot.host.get("data_disk_free_bytes")) or None
    keep = ctx.setting_base("max_slot_wal_keep_size")
    for row in ctx.snapshot.rows("replication_slots"):
        retained = _retained(ctx, row)
        inactive = row.get("active") is False
        status = row.get("wal_status")
        big = retained is not None and retained >= max_retained_bytes
        if not (inactive or big or status in ("lost", "unreserved")):
            continue
        name = str(row.get("slot_name"))
        severity: Severity | None = None
        if status == "lost" or (
            free and retained is not None and retained >= critical_retained_fraction * free
        ):
            severity = Severity.critical
        evidence = {
            "slot_name": name,
            "slot_type": row.get("slot_type"),
            "active": row.get("active"),
            "wal_status": status,
            "restart_lsn": row.get("restart_lsn"),
            "current_wal_lsn": ctx.snapshot.server.get("wal_lsn"),
            "retained_bytes": None if retained is None else int(retained),
            "retained": None if retained is None else human_bytes(retained),
            "safe_wal_size": row.get("safe_wal_size"),
            "xmin": row.get("xmin"),
            "catalog_xmin": row.get("catalog_xmin"),
            "max_slot_wal_keep_size_bytes": keep,
            "data_disk_free_bytes": int(free) if free else None,
        }
        lines = [
            f"SELECT pg_drop_replication_slot({quote_literal(name)});  "
            "-- only if its consumer is gone for good"
        ]
        if keep is None or keep < 0:
            lines.append(
                f"-- and cap what any slot may retain: max_slot_wal_keep_size = "
                f"'{config_size(max(max_retained_bytes, (retained or 0) * 2))}'"
            )
        yield ctx.finding(
            object=f"slot {name}",
            evidence=evidence,
            fix="\n".join(lines),
            fix_kind="sql",
            impact=retained or 0.0,
            severity=severity,
            confidence="medium" if inactive and not big else "high",
        )


@rule(
    "server.archiver_failing",
    severity=Severity.critical,
    title="WAL archiving is failing",
    requires=("archiver",),
)
def archiver_failing(ctx: Context) -> Iterator[Finding]:
    """When archive_command (or archive_library) fails, WAL segments pile up
    in pg_wal until it succeeds, and point-in-time recovery stops at the last
    archived segment. Reported when the last failure is newer than the last
    success (or, with two snapshots, when failures happened in the interval).

    https://www.postgresql.org/docs/current/continuous-archiving.html
    """
    row = ctx.snapshot.rows("archiver")
    if not row or ctx.setting("archive_mode") == "off":
        return
    archiver = row[0]
    failed_at = archiver.get("last_failed_time")
    archived_at = archiver.get("last_archived_time")
    since_ok = seconds_between(archived_at, ctx.now)
    failing = bool(archiver.get("failing"))
    interval_failures = None
    if ctx.since is not None:
        delta = _one(ctx, "archiver") or {}
        interval_failures = int(num(delta.get("failed_count")))
        failing = failing or interval_failures > 0
    if not failing:
        return
    evidence = {
        "archive_mode": ctx.setting("archive_mode"),
        "archive_command": ctx.setting("archive_command"),
        "archive_library": ctx.setting("archive_library"),
        "failed_count": archiver.get("failed_count"),
        "last_failed_wal": archiver.get("last_failed_wal"),
        "last_failed_time": failed_at,
        "archived_count": archiver.get("archived_count"),
        "last_archived_wal": archiver.get("last_archived_wal"),
        "last_archived_time": archived_at,
        "since_last_success": human_duration(since_ok) if since_ok is not None else "never",
        "failures_in_interval": interval_failures,
    }
    yield ctx.finding(
        object="archiver",
        evidence=evidence,
        fix=(
            "-- the server log has archive_command's error; fix the command or its target, "
            "then check that last_archived_time advances (pg_stat_archiver)"
        ),
        fix_kind="action",
        impact=num(archiver.get("failed_count")),
    )


@rule(
    "server.archiving_off",
    severity=Severity.info,
    title="WAL archiving is off: no point-in-time recovery",
    requires=("settings",),
)
def archiving_off(ctx: Context) -> Iterator[Finding]:
    """Without WAL archiving (or a tool streaming WAL through a replication
    slot, such as pg_receivewal or a backup tool), a backup restores to the
    moment it was taken, not to just before the mistake. Informational: many
    setups back up another way; a physical slot in use counts as streaming.

    https://www.postgresql.org/docs/current/continuous-archiving.html
    """
    if ctx.setting("archive_mode") != "off":
        return
    streaming = [
        r.get("slot_name")
        for r in ctx.snapshot.rows("replication_slots")
        if r.get("slot_type") == "physical" and r.get("active")
    ]
    if streaming:
        return
    yield ctx.finding(
        object="archiver",
        evidence={
            "archive_mode": ctx.setting("archive_mode"),
            "wal_level": ctx.setting("wal_level"),
            "active_physical_slots": 0,
        },
        fix=(
            "archive_mode = on  # needs a restart\n"
            "archive_command = '...'  # or a backup tool (pgBackRest, Barman, WAL-G)"
        ),
        fix_kind="config",
        confidence="medium",
    )


@rule(
    "server.pending_restart",
    severity=Severity.warning,
    title="Changed settings wait for a restart",
    requires=("settings",),
)
def pending_restart(ctx: Context) -> Iterator[Finding]:
    """A setting changed in the configuration files that only takes effect at
    server start is still running with its old value: the server is not
    configured the way its files say.

    https://www.postgresql.org/docs/current/view-pg-settings.html
    """
    pending = [r for r in ctx.snapshot.rows("settings") if r.get("pending_restart")]
    if not pending:
        return
    # the last line for a name in the files wins (highest seqno)
    files = {
        str(r.get("name")): r.get("setting")
        for r in sorted(ctx.snapshot.rows("file_settings"), key=lambda r: num(r.get("seqno")))
    }
    yield ctx.finding(
        object="configuration",
        evidence={
            "settings": [
                {
                    "name": r.get("name"),
                    "running_value": r.get("setting"),
                    "unit": r.get("unit"),
                    "file_value": files.get(str(r.get("name"))),
                    "sourcefile": r.get("sourcefile"),
                }
                for r in pending
            ]
        },
        fix="-- restart the server to apply: " + ", ".join(str(r.get("name")) for r in pending),
        fix_kind="action",
        impact=len(pending),
    )


@rule(
    "server.config_errors",
    severity=Severity.critical,
    title="Configuration files contain errors",
    requires=("file_settings",),
)
def config_file_errors(ctx: Context) -> Iterator[Finding]:
    """A line in postgresql.conf (or an included file, or postgresql.auto.conf)
    the server could not apply: at reload the whole file's changes may have
    been ignored, and at the next restart the server may refuse to start.

    https://www.postgresql.org/docs/current/view-pg-file-settings.html
    """
    errors = [
        r
        for r in ctx.snapshot.rows("file_settings")
        if r.get("error") and r.get("error") != PENDING_RESTART_ERROR
    ]
    if not errors:
        return
    yield ctx.finding(
        object="configuration",
        evidence={
            "errors": [
                {
                    "sourcefile": r.get("sourcefile"),
                    "sourceline": r.get("sourceline"),
                    "name": r.get("name"),
                    "setting": r.get("setting"),
                    "error": r.get("error"),
                }
                for r in errors
            ]
        },
        fix="-- correct or remove these lines, then SELECT pg_reload_conf(); and check "
        "pg_file_settings again",
        fix_kind="action",
        impact=len(errors),
    )


@rule(
    "server.durability_off",
    severity=Severity.critical,
    title="fsync or full_page_writes is off: a crash can corrupt data",
    requires=("settings",),
)
def durability_off(ctx: Context) -> Iterator[Finding]:
    """With fsync off, the server does not make sure writes reach the disk;
    with full_page_writes off, a page torn by a crash cannot be repaired from
    WAL. Either way a power loss or OS crash can corrupt the database beyond
    what recovery can fix. Only acceptable for throwaway data.

    https://www.postgresql.org/docs/current/runtime-config-wal.html#GUC-FSYNC
    """
    for name in ("fsync", "full_page_writes"):
        if ctx.setting(name) != "off":
            continue
        row = ctx.settings.get(name, {})
        yield ctx.finding(
            object=name,
            evidence={
                "name": name,
                "setting": "off",
                "source": row.get("source"),
                "sourcefile": row.get("sourcefile"),
                "sourceline": row.get("sourceline"),
            },
            fix=f"{name} = on  # then SELECT pg_reload_conf();",
            fix_kind="config",
            impact=1.0,
        )
