"""Corrections from the server's own statistics, each saying what it saw.

The baseline guesses from hardware; a live server knows better:

- temp files and temp blocks per statement -> work_mem (pg_stat_statements,
  else pg_stat_database);
- checkpoints requested vs timed and WAL bytes per checkpoint_timeout ->
  max_wal_size (pg_stat_checkpointer / pg_stat_bgwriter, pg_stat_wal);
- buffer cache hit ratio and client-backend evictions -> shared_buffers
  (pg_stat_database, pg_stat_io on 16+);
- dead tuples, freeze age and busy workers -> autovacuum;
- connection counts and the idle share -> max_connections and a
  pgbouncer.ini suggestion.

Counters are cumulative since their stats_reset, so rates are averages over
that interval; a peak shorter than it is invisible (docs/tuning.md).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from pgtune_hx.collect.model import Snapshot
from pgtune_hx.collect.versions import is_own_query
from pgtune_hx.tune import profiles as p
from pgtune_hx.tune.live import ServerState, captured
from pgtune_hx.tune.model import EvidenceItem, Targets, TuneInputs
from pgtune_hx.tune.sizes import human_size

BLOCK = 8192
# In memory, sort and hash data take more room than the same rows written to a
# temp file (tuple headers, pointers, the memtuples array): need ~2x the spill.
SPILL_TO_MEMORY = 2.0
TEMP_COVERAGE = 0.90  # statements holding 90% of the temp blocks decide work_mem
REQUESTED_CHECKPOINT_SHARE = 0.10
MIN_CHECKPOINTS = 3
WAL_PEAK_HEADROOM = 2.0  # averages hide peaks
CACHE_HIT_TARGET = {"dw": 0.90}  # others 0.99
CACHE_HIT_DEFAULT = 0.99
SHARED_BUFFERS_STEP = 0.10
DEAD_SHARE = 0.10
DEAD_MIN = 10_000
FREEZE_ALARM = 0.5  # of autovacuum_freeze_max_age
IDLE_SHARE = 0.5
POOL_MIN_CONNECTIONS = 20


@dataclass(frozen=True)
class TempStatement:
    queryid: str | None
    datname: str | None
    calls: int
    temp_blks_written: int
    query: str

    @property
    def spill_per_call(self) -> float:
        return self.temp_blks_written * BLOCK / max(1, self.calls)


@dataclass(frozen=True)
class WorkloadFacts:
    captured_at: dt.datetime
    stats_age_s: float | None = None
    temp_files: int = 0
    temp_bytes: int = 0
    temp_statements: tuple[TempStatement, ...] | None = None  # None: no pg_stat_statements
    checkpoints_timed: int | None = None
    checkpoints_requested: int | None = None
    wal_bytes: int | None = None
    wal_age_s: float | None = None
    blks_hit: int = 0
    blks_read: int = 0
    io_evictions: int | None = None  # None before PG 16
    io_reads: int | None = None
    max_freeze_age: int | None = None
    tables: tuple[dict[str, Any], ...] = ()
    connections: int = 0
    active: int = 0
    idle: int = 0
    idle_in_transaction: int = 0
    autovacuum_running: int = 0
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def hit_ratio(self) -> float | None:
        total = self.blks_hit + self.blks_read
        return self.blks_hit / total if total else None


def _age(now: dt.datetime, since: Any) -> float | None:
    if isinstance(since, str):
        try:
            since = dt.datetime.fromisoformat(since)
        except ValueError:
            return None
    if not isinstance(since, dt.datetime):
        return None
    if since.tzinfo is None:
        since = since.replace(tzinfo=dt.UTC)
    return max(0.0, float((now - since).total_seconds()))


def _int(value: Any) -> int:
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0


def _first(snapshot: Snapshot, name: str) -> dict[str, Any]:
    rows = snapshot.rows(name) if snapshot.has(name) else []
    return rows[0] if rows else {}


def _autovacuum_disabled(row: dict[str, Any]) -> bool:
    options = row.get("reloptions") or []
    if isinstance(options, str):
        options = options.strip("{}").split(",")
    return any(str(o).replace(" ", "").lower() == "autovacuum_enabled=false" for o in options)


def facts_from_snapshot(snapshot: Snapshot) -> WorkloadFacts:
    """What the corrections need, from the collectors' sections."""
    now = captured(snapshot)
    notes: list[str] = []
    for name in ("database", "checkpointer", "wal", "activity", "tables"):
        section = snapshot.section(name)
        if not section.ok:
            notes.append(f"{name}: {section.error}")
    databases = [r for r in snapshot.rows("database") if r.get("datname")]
    wal = _first(snapshot, "wal")
    cluster_reset = wal.get("stats_reset")
    # counters of a database never reset run since the cluster's statistics began
    resets = [r.get("stats_reset") for r in databases]
    db_reset = cluster_reset
    if resets and all(resets):
        db_reset = max(resets, key=lambda text: _age(now, text) or 0.0)
    checkpoints = _first(snapshot, "checkpointer")

    io_rows = [
        r
        for r in (snapshot.rows("io") if snapshot.has("io") else [])
        if r.get("backend_type") == "client backend"
        and r.get("object") == "relation"
        and r.get("context") == "normal"
    ]
    if not snapshot.has("io"):
        notes.append(
            "pg_stat_io (PostgreSQL 16+) not available: no eviction counts "
            f"({snapshot.section('io').error})"
        )

    statements: tuple[TempStatement, ...] | None = None
    if snapshot.has("statements"):
        spilled = [
            r
            for r in snapshot.rows("statements")
            if _int(r.get("temp_blks_written")) > 0 and not is_own_query(r.get("query"))
        ]
        spilled.sort(key=lambda r: _int(r.get("temp_blks_written")), reverse=True)
        statements = tuple(
            TempStatement(
                queryid=r.get("queryid"),
                datname=r.get("datname"),
                calls=_int(r.get("calls")),
                temp_blks_written=_int(r.get("temp_blks_written")),
                query=" ".join(str(r.get("query") or "").split())[:120],
            )
            for r in spilled
        )
    else:
        notes.append(
            f"pg_stat_statements not read ({snapshot.section('statements').error}): "
            "temp spills only per database"
        )

    clients = [r for r in snapshot.rows("activity") if r.get("backend_type") == "client backend"]
    states = [str(r.get("state") or "") for r in clients]
    tables = tuple(
        {
            "schemaname": r.get("schemaname"),
            "relname": r.get("relname"),
            "n_live_tup": _int(r.get("n_live_tup")),
            "n_dead_tup": _int(r.get("n_dead_tup")),
            "xid_age": r.get("xid_age"),
            "last_autovacuum": r.get("last_autovacuum"),
            "autovacuum_disabled": _autovacuum_disabled(r),
        }
        for r in snapshot.rows("tables")
    )
    xid_ages = [_int(r.get("xid_age")) for r in databases if r.get("xid_age") is not None]
    return WorkloadFacts(
        captured_at=now,
        stats_age_s=_age(now, db_reset),
        temp_files=sum(_int(r.get("temp_files")) for r in databases),
        temp_bytes=sum(_int(r.get("temp_bytes")) for r in databases),
        temp_statements=statements,
        checkpoints_timed=checkpoints.get("num_timed"),
        checkpoints_requested=checkpoints.get("num_requested"),
        wal_bytes=_int(wal.get("wal_bytes")) if wal else None,
        wal_age_s=_age(now, cluster_reset),
        blks_hit=sum(_int(r.get("blks_hit")) for r in databases),
        blks_read=sum(_int(r.get("blks_read")) for r in databases),
        io_evictions=sum(_int(r.get("evictions")) for r in io_rows) if io_rows else None,
        io_reads=sum(_int(r.get("reads")) for r in io_rows) if io_rows else None,
        max_freeze_age=max(xid_ages) if xid_ages else None,
        tables=tables,
        connections=len(clients),
        active=states.count("active"),
        idle=states.count("idle"),
        idle_in_transaction=sum(1 for st in states if st.startswith("idle in transaction")),
        autovacuum_running=sum(
            1 for r in snapshot.rows("activity") if r.get("backend_type") == "autovacuum worker"
        ),
        notes=tuple(notes),
    )


@dataclass
class Corrections:
    targets: Targets
    items: list[EvidenceItem]
    pgbouncer_ini: str | None = None
    per_statement: list[str] = field(default_factory=list)


def _since(facts: WorkloadFacts, age: float | None = None) -> str:
    age = facts.stats_age_s if age is None else age
    if age is None:
        return "since the statistics were reset"
    hours = age / 3600
    return f"over {hours:.1f} h of statistics" if hours >= 1 else f"over {age / 60:.0f} min"


def _work_mem(facts: WorkloadFacts, items: list[EvidenceItem]) -> tuple[int | None, list[str]]:
    statements = facts.temp_statements
    if statements:
        total = sum(s.temp_blks_written for s in statements)
        covered, chosen = 0, []
        for stmt in statements:  # ordered by temp blocks written, largest first
            chosen.append(stmt)
            covered += stmt.temp_blks_written
            if covered >= TEMP_COVERAGE * total:
                break
        worst = max(chosen, key=lambda s: s.spill_per_call)
        need = int(worst.spill_per_call * SPILL_TO_MEMORY)
        items.append(
            EvidenceItem(
                "temp spills",
                f"{len(statements)} statements wrote {human_size(total * BLOCK)} of temp "
                f"files {_since(facts)}; the largest spill per call among those holding 90% "
                f"of it is {human_size(worst.spill_per_call)} (queryid {worst.queryid})",
                f"work_mem raised toward {human_size(need)} (spill x {SPILL_TO_MEMORY:g}) "
                "as far as the memory budget allows",
                ("work_mem",),
            )
        )
        spills = [
            f"queryid {s.queryid} ({s.datname}): {human_size(s.spill_per_call)} per call, "
            f"{s.calls} calls: {s.query}"
            for s in chosen
        ]
        return need, spills
    if facts.temp_files > 0:
        average = facts.temp_bytes / facts.temp_files
        need = int(average * SPILL_TO_MEMORY)
        items.append(
            EvidenceItem(
                "temp spills",
                f"{facts.temp_files} temp files, {human_size(facts.temp_bytes)} "
                f"{_since(facts)} (pg_stat_database; average {human_size(average)} per file)",
                f"work_mem raised toward {human_size(need)} as far as the budget allows; "
                "install pg_stat_statements to see which statements spill",
                ("work_mem",),
            )
        )
        return need, []
    items.append(
        EvidenceItem(
            "temp spills",
            f"no temp files {_since(facts)}",
            "work_mem: no spill evidence, the baseline stands",
            ("work_mem",),
        )
    )
    return None, []


def _checkpoints(
    facts: WorkloadFacts, inputs: TuneInputs, items: list[EvidenceItem], current_max_wal: int
) -> int | None:
    timed, requested = facts.checkpoints_timed, facts.checkpoints_requested
    profile = p.PROFILES[inputs.workload]
    need: int | None = None
    rate = None
    if facts.wal_bytes is not None and facts.wal_age_s and facts.wal_age_s > 60:
        rate = facts.wal_bytes / facts.wal_age_s
        per_timeout = rate * profile.checkpoint_timeout_ms / 1000
        need = int(per_timeout * (1 + p.CHECKPOINT_COMPLETION_TARGET) * WAL_PEAK_HEADROOM)
        items.append(
            EvidenceItem(
                "WAL volume",
                f"{human_size(rate)}/s of WAL on average {_since(facts, facts.wal_age_s)}: "
                f"{human_size(per_timeout)} per checkpoint_timeout of "
                f"{profile.checkpoint_timeout_ms // 60000}min",
                f"max_wal_size at least {human_size(need)} "
                f"(x {1 + p.CHECKPOINT_COMPLETION_TARGET:g} completion x "
                f"{WAL_PEAK_HEADROOM:g} for peaks) so checkpoints stay timed",
                ("max_wal_size",),
            )
        )
    if timed is not None and requested is not None and timed + requested >= MIN_CHECKPOINTS:
        share = requested / (timed + requested)
        if share > REQUESTED_CHECKPOINT_SHARE:
            doubled = 2 * current_max_wal
            need = max(need or 0, doubled)
            items.append(
                EvidenceItem(
                    "checkpoints",
                    f"{requested} of {timed + requested} checkpoints were requested, not timed "
                    f"({share:.0%}; manual CHECKPOINT and base backups count too)",
                    f"max_wal_size at least twice the current {human_size(current_max_wal)}",
                    ("max_wal_size",),
                )
            )
        else:
            items.append(
                EvidenceItem(
                    "checkpoints",
                    f"{requested} of {timed + requested} checkpoints requested ({share:.0%})",
                    "checkpoints are timed: no WAL pressure seen",
                    ("max_wal_size",),
                )
            )
    return need


def _cache(
    facts: WorkloadFacts,
    inputs: TuneInputs,
    items: list[EvidenceItem],
    shared_buffers: int,
) -> float | None:
    ratio = facts.hit_ratio
    if ratio is None:
        return None
    target = CACHE_HIT_TARGET.get(str(inputs.workload), CACHE_HIT_DEFAULT)
    evictions = facts.io_evictions
    evict_text = f", {evictions} evictions by client backends" if evictions is not None else ""
    observed = (
        f"buffer cache hit ratio {ratio:.2%} {_since(facts)}{evict_text}; "
        f"shared_buffers {human_size(shared_buffers)}"
    )
    db = inputs.db_size_bytes
    too_small = ratio < target and (evictions is None or evictions > 0)
    if too_small and (db is None or db > shared_buffers):
        share = p.PROFILES[inputs.workload].shared_buffers_share + SHARED_BUFFERS_STEP
        items.append(
            EvidenceItem(
                "buffer cache",
                observed,
                f"shared_buffers raised to {share:.0%} of RAM (hit ratio below {target:.0%})",
                ("shared_buffers",),
            )
        )
        return share
    items.append(
        EvidenceItem(
            "buffer cache",
            observed,
            "the working set fits: shared_buffers baseline stands"
            if ratio >= target
            else "misses without evictions or a database smaller than shared_buffers: "
            "cold reads, not a small cache",
            ("shared_buffers",),
        )
    )
    return None


def _autovacuum(
    facts: WorkloadFacts, items: list[EvidenceItem], freeze_max_age: int, workers: int
) -> tuple[bool, float | None]:
    behind = [
        t
        for t in facts.tables
        if int(t.get("n_dead_tup") or 0) >= DEAD_MIN
        and int(t.get("n_dead_tup") or 0)
        > DEAD_SHARE * (int(t.get("n_live_tup") or 0) + int(t.get("n_dead_tup") or 0))
    ]
    disabled = [t for t in facts.tables if t.get("autovacuum_disabled")]
    boost, scale = False, None
    if behind:
        names = ", ".join(f"{t['schemaname']}.{t['relname']}" for t in behind[:5])
        boost, scale = True, 0.02
        items.append(
            EvidenceItem(
                "dead tuples",
                f"{len(behind)} tables over {DEAD_SHARE:.0%} dead tuples (and {DEAD_MIN}+): "
                f"{names} (this database only)",
                "autovacuum_vacuum_cost_limit doubled, scale factor 0.02",
                ("autovacuum_vacuum_cost_limit", "autovacuum_vacuum_scale_factor"),
            )
        )
    else:
        items.append(
            EvidenceItem(
                "dead tuples",
                f"no table over {DEAD_SHARE:.0%} dead tuples ({len(facts.tables)} tables seen, "
                "this database only)",
                "autovacuum keeps up: baseline stands",
                ("autovacuum_vacuum_cost_limit",),
            )
        )
    if disabled:
        items.append(
            EvidenceItem(
                "autovacuum disabled",
                f"autovacuum_enabled=false on {len(disabled)} tables",
                "re-enable it per table; settings cannot help those tables",
            )
        )
    age = facts.max_freeze_age
    if age is not None and freeze_max_age and age > FREEZE_ALARM * freeze_max_age:
        boost = True
        items.append(
            EvidenceItem(
                "freeze age",
                f"oldest database is {age:,} transactions old "
                f"({age / freeze_max_age:.0%} of autovacuum_freeze_max_age)",
                "autovacuum_vacuum_cost_limit doubled so anti-wraparound vacuums finish sooner",
                ("autovacuum_vacuum_cost_limit",),
            )
        )
    if facts.autovacuum_running and facts.autovacuum_running >= workers:
        items.append(
            EvidenceItem(
                "autovacuum workers",
                f"all {workers} autovacuum workers busy at capture",
                "vacuum is behind: more workers only help with the cost limit raised",
                ("autovacuum_max_workers",),
            )
        )
        boost = True
    return boost, scale


def _connections(
    facts: WorkloadFacts,
    inputs: TuneInputs,
    items: list[EvidenceItem],
    server: ServerState,
) -> str | None:
    total = facts.connections
    max_connections = server.setting_int("max_connections", 100)
    idle = facts.idle + facts.idle_in_transaction
    share = idle / total if total else 0.0
    observed = (
        f"{total} client connections at capture ({facts.active} active, {facts.idle} idle, "
        f"{facts.idle_in_transaction} idle in transaction) of max_connections {max_connections}"
    )
    if total >= POOL_MIN_CONNECTIONS and share > IDLE_SHARE:
        pool = max(2 * inputs.cpus, facts.active + 2)
        items.append(
            EvidenceItem(
                "connections",
                observed,
                f"{share:.0%} idle: a transaction pooler would serve them with ~{pool} server "
                f"connections; then max_connections could drop to ~{pool + 10}",
                ("max_connections",),
            )
        )
        host = server.host if server.host and not server.host.startswith("/") else "127.0.0.1"
        return "\n".join(
            [
                "; pgbouncer.ini suggested by pgtune_hx from the idle share of connections",
                "; transaction pooling breaks session state: SET, advisory locks, LISTEN,",
                "; and prepared statements before pgbouncer 1.21 (max_prepared_statements)",
                "[databases]",
                f"* = host={host} port={server.port or 5432}",
                "",
                "[pgbouncer]",
                "pool_mode = transaction",
                f"max_client_conn = {max(2 * total, max_connections)}",
                f"default_pool_size = {pool}",
                f"reserve_pool_size = {max(2, pool // 4)}",
                "server_idle_timeout = 60",
                "max_prepared_statements = 200",
            ]
        )
    items.append(
        EvidenceItem(
            "connections",
            observed,
            "no pooling pressure seen at capture (a single moment: peaks may differ)",
            ("max_connections",),
        )
    )
    return None


def correct(facts: WorkloadFacts, inputs: TuneInputs, server: ServerState) -> Corrections:
    """Targets for the baseline from the facts, and what was seen."""
    items: list[EvidenceItem] = []
    bounds = server.bounds
    shared_bounds = bounds.get("shared_buffers")
    shared_buffers = server.setting_int("shared_buffers") * 8192 if shared_bounds else 0
    max_wal = server.setting_int("max_wal_size", 1024) * 1024 * 1024
    work_mem_need, spills = _work_mem(facts, items)
    wal_need = _checkpoints(facts, inputs, items, max_wal)
    share = _cache(facts, inputs, items, shared_buffers)
    profile = p.PROFILES[inputs.workload]
    boost, scale = _autovacuum(
        facts,
        items,
        server.setting_int("autovacuum_freeze_max_age", 200_000_000),
        server.setting_int("autovacuum_max_workers", p.autovacuum_workers(inputs.cpus, profile)),
    )
    pgbouncer = _connections(facts, inputs, items, server)
    for note in facts.notes:
        items.append(EvidenceItem("not seen", note, "no correction from it"))
    targets = Targets(
        work_mem_min=work_mem_need,
        shared_buffers_share=share,
        max_wal_size_min=wal_need,
        max_connections=server.setting_int("max_connections", 100),
        autovacuum_boost=boost,
        autovacuum_scale_factor=scale,
    )
    return Corrections(targets, items, pgbouncer, spills)
