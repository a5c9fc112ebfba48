"""Every constant and formula of the tuner, in one place.

Three tables:

- ``PROFILES``: the constants that differ per workload (web, oltp, dw, mixed,
  vector);
- ``STORAGE``: the constants that differ per storage class (hdd, ssd, nvme, san);
- ``FORMULAS``: one row per setting, its formula as text (printed as the
  reason) and the function that computes it.

The module-level constants below hold for every profile. docs/tuning.md says
where each number comes from and why; keep the two in step. Memory sizing
(shared_buffers, work_mem, the per-worker memory) is solved by the memory model
in memory.py under the budget these constants define.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from pgtune_hx.tune.model import Kind, Storage, Targets, TuneInputs, Value, Workload
from pgtune_hx.tune.sizes import GB, KB, MB

if TYPE_CHECKING:
    from pgtune_hx.tune.memory import MemoryPlan

# -- memory model constants (memory.py) ---------------------------------------------

# PostgreSQL's own allocations may use this share of the RAM limit; the rest is
# kept for the kernel, the page cache floor, other processes and allocator slack.
RAM_LIMIT_SHARE = 0.80
# Private memory of one backend before it sorts or hashes anything: measured
# 1.8 MB USS on PG 15 and 18 after catalog queries; budgeted with room for the
# relation, catalog and plan caches of real schemas.
BACKEND_PRIVATE_BYTES = 4 * MB
# Shared memory besides the buffers: measured with shared_memory_size on PG 15
# and 18 (20..1000 connections, 128MB..1GB buffers), rounded up.
SHARED_FIXED_BYTES = 16 * MB
SHARED_PER_CONNECTION_BYTES = 96 * KB
SHARED_BUFFERS_OVERHEAD = 0.035  # buffer descriptors, mapping table, checkpoint sort array
# Manual VACUUM / CREATE INDEX sessions assumed to run at once, each with
# maintenance_work_mem (a parallel build shares one maintenance_work_mem).
MAINTENANCE_SESSIONS = 1
# Parallel workers may claim at most this share of the budget at the work_mem floor.
PARALLEL_MEMORY_SHARE = 0.25
WORK_MEM_MIN = 64 * KB  # pg_settings min_val
MIN_CONNECTIONS = 10  # below this the server is not usable by an application
# An explicit or current max_connections is kept while work_mem stays at or above this.
WORK_MEM_USABLE = 1 * MB
SHARED_BUFFERS_MAX_SHARE = 0.40  # the manual: more than 40% of RAM is unlikely to help
DB_SIZE_HEADROOM = 1.25  # shared_buffers beyond the whole database (+25% growth) is idle
DEFAULT_SHARED_BUFFERS = 128 * MB  # initdb's value; a small database is no reason to go lower

# -- other constants -----------------------------------------------------------------

DEFAULT_MAX_WORKER_PROCESSES = 8  # never recommend fewer than the default
DEFAULT_GATHER = 2  # max_parallel_workers_per_gather's default
WORKER_HEADROOM = 4  # background workers beside parallel query: logical replication, extensions
AUTOVACUUM_WORKERS_MIN = 3  # the default
AUTOVACUUM_WORKERS_MAX = 10
AUTOVACUUM_SLOTS_MIN = 16  # PG 18 default of autovacuum_worker_slots
AUTOVACUUM_WORK_MEM_FLOOR = 8 * MB
# Before PG 17 VACUUM could not use more than 1GB for dead tuple ids, whatever the setting.
AUTOVACUUM_WORK_MEM_CAP = 1 * GB
IO_WORKERS_MIN = 3  # PG 18 default
IO_WORKERS_MAX = 32  # pg_settings max_val
CACHED_RANDOM_PAGE_COST = 1.5  # when the database fits in effective_cache_size
WAL_DISK_SHARE = 0.10  # max_wal_size may hold at most this share of the data disk
WAL_SEGMENT_BYTES = 16 * MB
MAX_WAL_SIZE_FLOOR = 1 * GB  # the default; we never recommend a smaller soft limit
CHECKPOINT_COMPLETION_TARGET = 0.9  # the default since PG 14
COST_DELAY_MS = 2  # the default since PG 12


@dataclass(frozen=True)
class Profile:
    """Constants of one workload. Shares are of the RAM limit's basis (RAM)."""

    workload: Workload
    summary: str
    max_connections: int  # when neither the user nor the server says
    shared_buffers_share: float
    effective_cache_share: float
    # concurrency factor = active_share x nodes_per_query: share of max_connections
    # running a sort/hash at full work_mem at the same time, times such nodes per query
    active_share: float
    nodes_per_query: float
    hash_mem_multiplier: float
    work_mem_floor: int
    work_mem_cap: int
    maintenance_share: float
    maintenance_cap: int
    autovacuum_memory_share: float  # of RAM, all autovacuum workers together
    min_wal_size: int
    max_wal_size: int
    checkpoint_timeout_ms: int
    wal_buffers_cap: int
    parallel_workers_per_cpu: float
    gather_per_cpu: float
    gather_cap: int
    maintenance_workers_per_cpu: float
    maintenance_workers_cap: int
    autovacuum_workers_per_cpu: float
    autovacuum_naptime_ms: int
    vacuum_scale_factor: float
    analyze_scale_factor: float
    vacuum_insert_scale_factor: float
    io_combine_limit: int  # PG 17+
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def concurrency_factor(self) -> float:
        return self.active_share * self.nodes_per_query


PROFILES: dict[Workload, Profile] = {
    Workload.web: Profile(
        workload=Workload.web,
        summary="many short queries from an application tier, mostly reads",
        max_connections=200,
        shared_buffers_share=0.25,
        effective_cache_share=0.75,
        active_share=0.25,
        nodes_per_query=1.0,
        hash_mem_multiplier=2.0,
        work_mem_floor=4 * MB,
        work_mem_cap=64 * MB,
        maintenance_share=1 / 16,
        maintenance_cap=2 * GB,
        autovacuum_memory_share=0.05,
        min_wal_size=1 * GB,
        max_wal_size=4 * GB,
        checkpoint_timeout_ms=15 * 60_000,
        wal_buffers_cap=16 * MB,
        parallel_workers_per_cpu=0.5,
        gather_per_cpu=0.25,
        gather_cap=2,
        maintenance_workers_per_cpu=0.25,
        maintenance_workers_cap=4,
        autovacuum_workers_per_cpu=0.25,
        autovacuum_naptime_ms=30_000,
        vacuum_scale_factor=0.05,
        analyze_scale_factor=0.02,
        vacuum_insert_scale_factor=0.2,
        io_combine_limit=128 * KB,
    ),
    Workload.oltp: Profile(
        workload=Workload.oltp,
        summary="many small read-write transactions, high commit rate",
        max_connections=300,
        shared_buffers_share=0.25,
        effective_cache_share=0.75,
        active_share=0.5,
        nodes_per_query=1.0,
        hash_mem_multiplier=2.0,
        work_mem_floor=4 * MB,
        work_mem_cap=64 * MB,
        maintenance_share=1 / 16,
        maintenance_cap=2 * GB,
        autovacuum_memory_share=0.05,
        min_wal_size=2 * GB,
        max_wal_size=16 * GB,
        checkpoint_timeout_ms=15 * 60_000,
        wal_buffers_cap=64 * MB,
        parallel_workers_per_cpu=0.5,
        gather_per_cpu=0.25,
        gather_cap=2,
        maintenance_workers_per_cpu=0.25,
        maintenance_workers_cap=4,
        autovacuum_workers_per_cpu=0.25,
        autovacuum_naptime_ms=15_000,
        vacuum_scale_factor=0.05,
        analyze_scale_factor=0.02,
        vacuum_insert_scale_factor=0.2,
        io_combine_limit=128 * KB,
    ),
    Workload.dw: Profile(
        workload=Workload.dw,
        summary="few sessions running large scans, joins and aggregates; bulk loads",
        max_connections=40,
        shared_buffers_share=0.25,
        effective_cache_share=0.75,
        active_share=1.0,
        nodes_per_query=2.0,
        hash_mem_multiplier=3.0,
        work_mem_floor=4 * MB,
        work_mem_cap=2 * GB,
        maintenance_share=1 / 8,
        maintenance_cap=4 * GB,
        autovacuum_memory_share=0.05,
        min_wal_size=4 * GB,
        max_wal_size=32 * GB,
        checkpoint_timeout_ms=30 * 60_000,
        wal_buffers_cap=16 * MB,
        parallel_workers_per_cpu=1.0,
        gather_per_cpu=0.5,
        gather_cap=16,
        maintenance_workers_per_cpu=0.5,
        maintenance_workers_cap=8,
        autovacuum_workers_per_cpu=0.125,
        autovacuum_naptime_ms=60_000,
        vacuum_scale_factor=0.1,
        analyze_scale_factor=0.05,
        vacuum_insert_scale_factor=0.1,
        io_combine_limit=256 * KB,
    ),
    Workload.mixed: Profile(
        workload=Workload.mixed,
        summary="an application database that also serves reports",
        max_connections=100,
        shared_buffers_share=0.25,
        effective_cache_share=0.75,
        active_share=0.5,
        nodes_per_query=1.5,
        hash_mem_multiplier=2.0,
        work_mem_floor=4 * MB,
        work_mem_cap=256 * MB,
        maintenance_share=1 / 16,
        maintenance_cap=2 * GB,
        autovacuum_memory_share=0.05,
        min_wal_size=1 * GB,
        max_wal_size=8 * GB,
        checkpoint_timeout_ms=15 * 60_000,
        wal_buffers_cap=16 * MB,
        parallel_workers_per_cpu=1.0,
        gather_per_cpu=0.25,
        gather_cap=4,
        maintenance_workers_per_cpu=0.25,
        maintenance_workers_cap=4,
        autovacuum_workers_per_cpu=0.25,
        autovacuum_naptime_ms=30_000,
        vacuum_scale_factor=0.05,
        analyze_scale_factor=0.02,
        vacuum_insert_scale_factor=0.2,
        io_combine_limit=128 * KB,
    ),
    Workload.vector: Profile(
        workload=Workload.vector,
        summary="pgvector similarity search: HNSW/IVFFlat scans and index builds",
        max_connections=100,
        shared_buffers_share=0.30,
        effective_cache_share=0.75,
        active_share=0.25,
        nodes_per_query=1.0,
        hash_mem_multiplier=2.0,
        work_mem_floor=4 * MB,
        work_mem_cap=64 * MB,
        maintenance_share=1 / 8,
        maintenance_cap=8 * GB,
        autovacuum_memory_share=0.05,
        min_wal_size=1 * GB,
        max_wal_size=8 * GB,
        checkpoint_timeout_ms=15 * 60_000,
        wal_buffers_cap=16 * MB,
        parallel_workers_per_cpu=1.0,
        gather_per_cpu=0.25,
        gather_cap=4,
        maintenance_workers_per_cpu=0.5,
        maintenance_workers_cap=8,
        autovacuum_workers_per_cpu=0.125,
        autovacuum_naptime_ms=60_000,
        vacuum_scale_factor=0.05,
        analyze_scale_factor=0.02,
        vacuum_insert_scale_factor=0.2,
        io_combine_limit=128 * KB,
    ),
}


@dataclass(frozen=True)
class StorageProfile:
    storage: Storage
    random_page_cost: float
    effective_io_concurrency: int
    maintenance_io_concurrency: int
    # autovacuum_vacuum_cost_limit, shared by all workers; at the 2ms delay the
    # dirty-page write ceiling is limit x 500/s / 20 x 8kB = limit x 200kB/s
    autovacuum_cost_limit: int
    io_workers_per_cpu: float  # PG 18 io_method=worker


STORAGE: dict[Storage, StorageProfile] = {
    Storage.hdd: StorageProfile(Storage.hdd, 4.0, 2, 10, 400, 0.0),
    Storage.ssd: StorageProfile(Storage.ssd, 1.1, 200, 200, 2000, 0.25),
    Storage.nvme: StorageProfile(Storage.nvme, 1.1, 500, 500, 4000, 0.5),
    Storage.san: StorageProfile(Storage.san, 1.5, 300, 300, 1000, 0.25),
}


# -- worker counts (the memory model needs them too) --------------------------------


def parallel_workers(cpus: int, profile: Profile) -> int:
    """max_parallel_workers before the memory cap: cpus x per-cpu share."""
    return max(0, math.ceil(cpus * profile.parallel_workers_per_cpu)) if cpus > 1 else 0


def autovacuum_workers(cpus: int, profile: Profile) -> int:
    return min(
        AUTOVACUUM_WORKERS_MAX,
        max(AUTOVACUUM_WORKERS_MIN, math.ceil(cpus * profile.autovacuum_workers_per_cpu)),
    )


def wal_buffers_for(shared_buffers: int, profile: Profile) -> int:
    """shared_buffers / 32 (PostgreSQL's own auto rule), 64kB..cap, in 8kB pages."""
    value = min(profile.wal_buffers_cap, max(64 * KB, shared_buffers // 32))
    return max(64 * KB, value // (8 * KB) * (8 * KB))


# -- the formula table --------------------------------------------------------------


@dataclass(frozen=True)
class Context:
    inputs: TuneInputs
    profile: Profile
    storage: StorageProfile
    plan: MemoryPlan
    targets: Targets


@dataclass(frozen=True)
class Formula:
    name: str
    kind: Kind
    formula: str
    compute: Callable[[Context], Value]
    min_major: int = 0
    group: str = ""


def _pages(value: int) -> int:
    """Round bytes down to whole 8kB pages (what PostgreSQL stores)."""
    return max(8 * KB, value // (8 * KB) * (8 * KB))


def _wal_max(ctx: Context) -> int:
    value = ctx.profile.max_wal_size
    if ctx.targets.max_wal_size_min:
        value = max(value, math.ceil(ctx.targets.max_wal_size_min / GB) * GB)
    if ctx.inputs.disk_total_bytes:
        disk_cap = int(ctx.inputs.disk_total_bytes * WAL_DISK_SHARE) // GB * GB
        value = min(value, max(MAX_WAL_SIZE_FLOOR, disk_cap))
    return max(MAX_WAL_SIZE_FLOOR, value)


def _wal_min(ctx: Context) -> int:
    return max(2 * WAL_SEGMENT_BYTES, min(ctx.profile.min_wal_size, _wal_max(ctx) // 4))


def _random_page_cost(ctx: Context) -> float:
    cost = ctx.storage.random_page_cost
    db = ctx.inputs.db_size_bytes
    if db is not None and db <= ctx.plan.effective_cache_size:
        cost = min(cost, CACHED_RANDOM_PAGE_COST)
    return cost


def _wal_compression(ctx: Context) -> str:
    # the preferred method; validate.py falls back along WAL_COMPRESSION_PREFERENCE
    return "lz4"


# pglz is left out on purpose: it costs more CPU than it saves on most systems
WAL_COMPRESSION_PREFERENCE = ("lz4", "zstd")


def _io_workers(ctx: Context) -> int:
    per_cpu = ctx.storage.io_workers_per_cpu
    return min(IO_WORKERS_MAX, max(IO_WORKERS_MIN, math.ceil(ctx.inputs.cpus * per_cpu)))


def _autovacuum_cost_limit(ctx: Context) -> int:
    limit = ctx.storage.autovacuum_cost_limit
    return min(10_000, limit * 2) if ctx.targets.autovacuum_boost else limit


def _autovacuum_max_workers(ctx: Context) -> int:
    workers = ctx.plan.autovacuum_max_workers
    return workers


def _vacuum_scale(ctx: Context) -> float:
    if ctx.targets.autovacuum_scale_factor is not None:
        return min(ctx.profile.vacuum_scale_factor, ctx.targets.autovacuum_scale_factor)
    return ctx.profile.vacuum_scale_factor


def _max_worker_processes(ctx: Context) -> int:
    return max(DEFAULT_MAX_WORKER_PROCESSES, ctx.plan.max_parallel_workers + WORKER_HEADROOM)


def _gather(ctx: Context) -> int:
    share = math.floor(ctx.inputs.cpus * ctx.profile.gather_per_cpu)
    if ctx.profile.parallel_workers_per_cpu >= 1:
        # profiles with analytic queries never go below the default without evidence
        share = max(DEFAULT_GATHER, share)
    return max(0, min(ctx.profile.gather_cap, share, ctx.plan.max_parallel_workers))


def _maintenance_workers(ctx: Context) -> int:
    share = math.floor(ctx.inputs.cpus * ctx.profile.maintenance_workers_per_cpu)
    return max(0, min(ctx.profile.maintenance_workers_cap, share, ctx.plan.max_parallel_workers))


def _huge_pages(ctx: Context) -> str:
    """'on' only where the kernel already reserves enough huge pages; else the default."""
    needed = ctx.plan.huge_pages_needed(ctx.inputs.huge_page_size_bytes)
    total = ctx.inputs.huge_pages_total
    if ctx.inputs.local and total and needed and total >= needed:
        return "on"
    return "try"


FORMULAS: tuple[Formula, ...] = (
    # memory (solved by memory.py)
    Formula(
        "shared_buffers",
        "bytes",
        "RAM x profile share (25%; vector 30%), at most the database size x 1.25 "
        "(never below 128MB for that reason); evidence may raise it up to 40% of RAM",
        lambda c: c.plan.shared_buffers,
        group="memory",
    ),
    Formula(
        "effective_cache_size",
        "bytes",
        "RAM x 75% (planner hint: shared_buffers plus the OS page cache)",
        lambda c: c.plan.effective_cache_size,
        group="memory",
    ),
    Formula(
        "work_mem",
        "bytes",
        "(RAM x 80% - shared memory - backends x 4MB - maintenance - autovacuum) / "
        "(hash_mem_multiplier x nodes per query x (max_connections x active share + "
        "parallel workers)), between the profile floor and cap",
        lambda c: c.plan.work_mem,
        group="memory",
    ),
    Formula(
        "hash_mem_multiplier",
        "real",
        "2.0 (the default); 3.0 for dw, where hash joins and aggregates dominate",
        lambda c: c.profile.hash_mem_multiplier,
        group="memory",
    ),
    Formula(
        "maintenance_work_mem",
        "bytes",
        "RAM / 16 (dw, vector: / 8), capped per profile (2GB; dw 4GB; vector 8GB)",
        lambda c: c.plan.maintenance_work_mem,
        group="memory",
    ),
    Formula(
        "autovacuum_work_mem",
        "bytes",
        "RAM x 5% / autovacuum_max_workers, between 8MB and 1GB",
        lambda c: c.plan.autovacuum_work_mem,
        group="memory",
    ),
    # WAL and checkpoints
    Formula(
        "min_wal_size",
        "bytes",
        "profile constant (web/mixed/vector 1GB, oltp 2GB, dw 4GB), at most max_wal_size / 4",
        _wal_min,
        group="wal",
    ),
    Formula(
        "max_wal_size",
        "bytes",
        "profile constant (web 4GB, oltp 16GB, dw 32GB, others 8GB), raised to WAL written "
        "per checkpoint_timeout x (1 + completion target) x 2 when measured, at most 10% "
        "of the data disk",
        _wal_max,
        group="wal",
    ),
    Formula(
        "checkpoint_timeout",
        "ms",
        "15min (dw 30min): fewer full-page images than 5min, recovery time still bounded",
        lambda c: c.profile.checkpoint_timeout_ms,
        group="wal",
    ),
    Formula(
        "checkpoint_completion_target",
        "real",
        "0.9 (the default since PG 14): spread checkpoint writes over the interval",
        lambda c: CHECKPOINT_COMPLETION_TARGET,
        group="wal",
    ),
    Formula(
        "wal_buffers",
        "bytes",
        "shared_buffers / 32, between 64kB and 16MB (oltp 64MB)",
        lambda c: c.plan.wal_buffers,
        group="wal",
    ),
    Formula(
        "wal_compression",
        "enum",
        "lz4 (else zstd, whichever the server was built with; never pglz, which costs "
        "more CPU than it saves): smaller full-page images for little CPU",
        _wal_compression,
        group="wal",
    ),
    # planner and I/O
    Formula(
        "random_page_cost",
        "real",
        "storage: hdd 4.0, ssd/nvme 1.1, san 1.5; at most 1.5 when the database fits in "
        "effective_cache_size",
        _random_page_cost,
        group="io",
    ),
    Formula(
        "effective_io_concurrency",
        "int",
        "storage: hdd 2, ssd 200, nvme 500, san 300",
        lambda c: c.storage.effective_io_concurrency,
        group="io",
    ),
    Formula(
        "maintenance_io_concurrency",
        "int",
        "storage: hdd 10, ssd 200, nvme 500, san 300",
        lambda c: c.storage.maintenance_io_concurrency,
        group="io",
    ),
    Formula(
        "io_method",
        "enum",
        "worker (the default; io_uring only where built in and allowed by the container)",
        lambda c: "worker",
        min_major=18,
        group="io",
    ),
    Formula(
        "io_workers",
        "int",
        "CPUs x storage share (ssd/san 0.25, nvme 0.5, hdd 0), between 3 and 32",
        _io_workers,
        min_major=18,
        group="io",
    ),
    Formula(
        "io_max_combine_limit",
        "bytes",
        "the profile's io_combine_limit (128kB; dw 256kB)",
        lambda c: c.profile.io_combine_limit,
        min_major=18,
        group="io",
    ),
    Formula(
        "io_combine_limit",
        "bytes",
        "128kB (the default); dw 256kB for larger sequential reads",
        lambda c: c.profile.io_combine_limit,
        min_major=17,
        group="io",
    ),
    # parallelism
    Formula(
        "max_worker_processes",
        "int",
        "max(8, max_parallel_workers + 4): never below the default, room for "
        "logical replication and extension workers",
        _max_worker_processes,
        group="parallel",
    ),
    Formula(
        "max_parallel_workers",
        "int",
        "CPUs x profile share (web/oltp 0.5, others 1.0), 0 on one CPU, capped so that "
        "parallel workers at the work_mem floor use at most 25% of the budget",
        lambda c: c.plan.max_parallel_workers,
        group="parallel",
    ),
    Formula(
        "max_parallel_workers_per_gather",
        "int",
        "floor(CPUs x share) (dw 0.5, others 0.25; dw/mixed/vector never below the default "
        "2), capped (web/oltp 2, mixed/vector 4, dw 16) and by max_parallel_workers",
        _gather,
        group="parallel",
    ),
    Formula(
        "max_parallel_maintenance_workers",
        "int",
        "floor(CPUs x share) (dw/vector 0.5, others 0.25), capped (4; dw/vector 8)",
        _maintenance_workers,
        group="parallel",
    ),
    # autovacuum
    Formula(
        "autovacuum_max_workers",
        "int",
        "ceil(CPUs x share) (dw/vector 1/8, others 1/4), between 3 and 10",
        _autovacuum_max_workers,
        group="autovacuum",
    ),
    Formula(
        "autovacuum_worker_slots",
        "int",
        "max(16, 2 x autovacuum_max_workers): room to add workers without a restart",
        lambda c: max(AUTOVACUUM_SLOTS_MIN, 2 * c.plan.autovacuum_max_workers),
        min_major=18,
        group="autovacuum",
    ),
    Formula(
        "autovacuum_naptime",
        "ms",
        "web/mixed 30s, oltp 15s, dw/vector 1min",
        lambda c: c.profile.autovacuum_naptime_ms,
        group="autovacuum",
    ),
    Formula(
        "autovacuum_vacuum_cost_limit",
        "int",
        "storage: hdd 400, san 1000, ssd 2000, nvme 4000 (x2 when vacuum is behind), "
        "shared by all workers",
        _autovacuum_cost_limit,
        group="autovacuum",
    ),
    Formula(
        "autovacuum_vacuum_cost_delay",
        "ms",
        "2ms (the default since PG 12)",
        lambda c: COST_DELAY_MS,
        group="autovacuum",
    ),
    Formula(
        "autovacuum_vacuum_scale_factor",
        "real",
        "0.05 (dw 0.1) instead of 0.2: vacuum large tables before a fifth is dead",
        _vacuum_scale,
        group="autovacuum",
    ),
    Formula(
        "autovacuum_analyze_scale_factor",
        "real",
        "0.02 (dw 0.05) instead of 0.1: fresher statistics on large tables",
        lambda c: c.profile.analyze_scale_factor,
        group="autovacuum",
    ),
    Formula(
        "autovacuum_vacuum_insert_scale_factor",
        "real",
        "0.2 (the default); dw 0.1 so insert-only tables get frozen and all-visible sooner",
        lambda c: c.profile.vacuum_insert_scale_factor,
        group="autovacuum",
    ),
    # huge pages and connections
    Formula(
        "huge_pages",
        "enum",
        "try (the default); on when this host already reserves enough huge pages for "
        "the recommended shared memory",
        _huge_pages,
        group="memory",
    ),
    Formula(
        "max_connections",
        "int",
        "--max-connections, else the server's current value, else the profile's "
        "(web 200, oltp 300, dw 40, mixed 100, vector 100); lowered when the memory "
        "model cannot hold it with work_mem at the floor",
        lambda c: c.plan.max_connections,
        group="connections",
    ),
)

FORMULA_BY_NAME: dict[str, Formula] = {f.name: f for f in FORMULAS}
