"""The memory model: what a configuration may allocate, and the plan that fits.

The budget that must hold (constants in profiles.py, reasons in docs/tuning.md):

    shared memory   shared_buffers x 1.035 + wal_buffers + 16MB + connections x 96kB
  + backends        max_connections x 4MB
  + query memory    max_connections x work_mem x hash_mem_multiplier x concurrency factor
  + parallel        max_parallel_workers x work_mem x hash_mem_multiplier x nodes per query
  + maintenance     1 x maintenance_work_mem
  + autovacuum      autovacuum_max_workers x autovacuum_work_mem
  <= RAM x 80%

where the concurrency factor is the profile's active share x nodes per query.
``plan`` sizes shared_buffers and the maintenance memory from RAM, then solves
the budget for work_mem; when even the profile's work_mem floor does not fit it
lowers max_connections (unless the user fixed it, then the budget is an error).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from pgtune_hx.errors import UsageError
from pgtune_hx.tune import profiles as p
from pgtune_hx.tune.model import Targets, TuneInputs
from pgtune_hx.tune.sizes import GB, KB, MB, human_size


@dataclass(frozen=True)
class BudgetLine:
    item: str
    bytes: int
    formula: str


@dataclass(frozen=True)
class Budget:
    ram_bytes: int
    limit_bytes: int
    lines: tuple[BudgetLine, ...]

    @property
    def total_bytes(self) -> int:
        return sum(line.bytes for line in self.lines)

    @property
    def holds(self) -> bool:
        return self.total_bytes <= self.limit_bytes

    @property
    def share_of_ram(self) -> float:
        return self.total_bytes / self.ram_bytes if self.ram_bytes else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "ram_bytes": self.ram_bytes,
            "limit_bytes": self.limit_bytes,
            "limit_share": p.RAM_LIMIT_SHARE,
            "total_bytes": self.total_bytes,
            "share_of_ram": round(self.share_of_ram, 4),
            "holds": self.holds,
            "lines": [
                {"item": line.item, "bytes": line.bytes, "formula": line.formula}
                for line in self.lines
            ],
        }


def shared_memory_estimate(shared_buffers: int, wal_buffers: int, max_connections: int) -> int:
    return int(
        shared_buffers * (1 + p.SHARED_BUFFERS_OVERHEAD)
        + wal_buffers
        + p.SHARED_FIXED_BYTES
        + max_connections * p.SHARED_PER_CONNECTION_BYTES
    )


def budget(
    *,
    ram: int,
    shared_buffers: int,
    wal_buffers: int,
    max_connections: int,
    work_mem: int,
    hash_mem_multiplier: float,
    active_share: float,
    nodes_per_query: float,
    max_parallel_workers: int,
    maintenance_work_mem: int,
    autovacuum_max_workers: int,
    autovacuum_work_mem: int,
) -> Budget:
    """The worst case the model allows for these settings."""
    factor = active_share * nodes_per_query
    per_node = work_mem * hash_mem_multiplier
    lines = (
        BudgetLine(
            "shared memory",
            shared_memory_estimate(shared_buffers, wal_buffers, max_connections),
            f"shared_buffers {human_size(shared_buffers)} x {1 + p.SHARED_BUFFERS_OVERHEAD:g} "
            f"+ wal_buffers {human_size(wal_buffers)} + {human_size(p.SHARED_FIXED_BYTES)} "
            f"+ {max_connections} x {human_size(p.SHARED_PER_CONNECTION_BYTES)}",
        ),
        BudgetLine(
            "backends",
            max_connections * p.BACKEND_PRIVATE_BYTES,
            f"max_connections {max_connections} x {human_size(p.BACKEND_PRIVATE_BYTES)}",
        ),
        BudgetLine(
            "query memory",
            int(max_connections * per_node * factor),
            f"max_connections {max_connections} x work_mem {human_size(work_mem)} x "
            f"hash_mem_multiplier {hash_mem_multiplier:g} x concurrency factor {factor:g} "
            f"({active_share:g} active x {nodes_per_query:g} nodes)",
        ),
        BudgetLine(
            "parallel workers",
            int(max_parallel_workers * per_node * nodes_per_query),
            f"max_parallel_workers {max_parallel_workers} x work_mem x hash_mem_multiplier "
            f"x {nodes_per_query:g} nodes",
        ),
        BudgetLine(
            "maintenance",
            p.MAINTENANCE_SESSIONS * maintenance_work_mem,
            f"{p.MAINTENANCE_SESSIONS} session x maintenance_work_mem "
            f"{human_size(maintenance_work_mem)}",
        ),
        BudgetLine(
            "autovacuum",
            autovacuum_max_workers * autovacuum_work_mem,
            f"autovacuum_max_workers {autovacuum_max_workers} x autovacuum_work_mem "
            f"{human_size(autovacuum_work_mem)}",
        ),
    )
    return Budget(ram, int(ram * p.RAM_LIMIT_SHARE), lines)


@dataclass(frozen=True)
class MemoryPlan:
    ram: int
    shared_buffers: int
    effective_cache_size: int
    wal_buffers: int
    work_mem: int
    work_mem_budget_max: int  # the most work_mem the budget allows at these connections
    hash_mem_multiplier: float
    active_share: float
    nodes_per_query: float
    maintenance_work_mem: int
    autovacuum_work_mem: int
    autovacuum_max_workers: int
    max_connections: int
    max_parallel_workers: int
    connections_lowered_from: int | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def limit(self) -> int:
        return int(self.ram * p.RAM_LIMIT_SHARE)

    def budget(self) -> Budget:
        return budget(
            ram=self.ram,
            shared_buffers=self.shared_buffers,
            wal_buffers=self.wal_buffers,
            max_connections=self.max_connections,
            work_mem=self.work_mem,
            hash_mem_multiplier=self.hash_mem_multiplier,
            active_share=self.active_share,
            nodes_per_query=self.nodes_per_query,
            max_parallel_workers=self.max_parallel_workers,
            maintenance_work_mem=self.maintenance_work_mem,
            autovacuum_max_workers=self.autovacuum_max_workers,
            autovacuum_work_mem=self.autovacuum_work_mem,
        )

    def shared_memory(self, calibration: int = 0) -> int:
        """Estimated shared memory of the plan; ``calibration`` is what the live
        server's shared_memory_size showed beyond our estimate of its settings."""
        estimate = shared_memory_estimate(
            self.shared_buffers, self.wal_buffers, self.max_connections
        )
        return max(self.shared_buffers, estimate + calibration)

    def huge_pages_needed(self, page_size: int | None, calibration: int = 0) -> int | None:
        """vm.nr_hugepages the plan needs: shared memory / huge page size, rounded up."""
        if not page_size:
            return None
        return math.ceil(self.shared_memory(calibration) / page_size)


def _mb_floor(value: float, minimum: int) -> int:
    """Round down to whole MB (to kB below 1MB), never below ``minimum``."""
    if value >= MB:
        return max(minimum, int(value // MB) * MB)
    return max(minimum, int(value // KB) * KB)


def _clamp(value: float, low: float, high: float) -> float:
    return max(low, min(high, value))


def plan(inputs: TuneInputs, targets: Targets | None = None) -> MemoryPlan:
    """Size memory for ``inputs`` so that the budget holds; see the module doc."""
    targets = targets or Targets()
    profile = p.PROFILES[inputs.workload]
    ram = inputs.memory_bytes
    limit = ram * p.RAM_LIMIT_SHARE
    notes: list[str] = []

    share = profile.shared_buffers_share
    if targets.shared_buffers_share is not None:
        share = max(share, min(targets.shared_buffers_share, p.SHARED_BUFFERS_MAX_SHARE))
    shared_buffers = ram * share
    if inputs.db_size_bytes is not None:
        by_db = max(inputs.db_size_bytes * p.DB_SIZE_HEADROOM, p.DEFAULT_SHARED_BUFFERS)
        if by_db < shared_buffers:
            notes.append(
                f"shared_buffers held to the database size x {p.DB_SIZE_HEADROOM:g} "
                f"({human_size(inputs.db_size_bytes)} of data)"
            )
        shared_buffers = min(shared_buffers, by_db)
    shared_buffers = _mb_floor(shared_buffers, 128 * KB)
    effective_cache_size = _mb_floor(ram * profile.effective_cache_share, 8 * KB)
    if effective_cache_size >= 4 * GB:  # a planner hint: whole GB read better
        effective_cache_size = effective_cache_size // GB * GB
    wal_buffers = p.wal_buffers_for(shared_buffers, profile)
    maintenance = _mb_floor(
        _clamp(ram * profile.maintenance_share, 16 * MB, profile.maintenance_cap), MB
    )
    av_workers = p.autovacuum_workers(inputs.cpus, profile)
    av_mem = _mb_floor(
        _clamp(
            ram * profile.autovacuum_memory_share / av_workers,
            p.AUTOVACUUM_WORK_MEM_FLOOR,
            p.AUTOVACUUM_WORK_MEM_CAP,
        ),
        MB,
    )

    hmm = profile.hash_mem_multiplier
    nodes = profile.nodes_per_query
    node_cost = hmm * nodes
    floor = profile.work_mem_floor
    parallel_cap = limit * p.PARALLEL_MEMORY_SHARE / (floor * node_cost)
    parallel_cont = min(float(p.parallel_workers(inputs.cpus, profile)), parallel_cap)
    parallel = math.floor(parallel_cont)

    fixed = (
        shared_buffers * (1 + p.SHARED_BUFFERS_OVERHEAD)
        + wal_buffers
        + p.SHARED_FIXED_BYTES
        + p.MAINTENANCE_SESSIONS * maintenance
        + av_workers * av_mem
    )
    per_connection = p.BACKEND_PRIVATE_BYTES + p.SHARED_PER_CONNECTION_BYTES

    def work_mem_max(connections: float) -> float:
        avail = limit - fixed - connections * per_connection
        return avail / (node_cost * (connections * profile.active_share + parallel_cont))

    def connections_at(work_mem: float) -> float:
        spare = limit - fixed - node_cost * work_mem * parallel_cont
        return spare / (per_connection + node_cost * work_mem * profile.active_share)

    if inputs.max_connections is not None:
        mode, connections = "explicit", inputs.max_connections
    elif targets.max_connections is not None:
        mode, connections = "current", targets.max_connections
    else:
        mode, connections = "profile", profile.max_connections
    lowered_from: int | None = None
    threshold = floor if mode == "profile" else p.WORK_MEM_USABLE
    if mode == "explicit":
        threshold = p.WORK_MEM_MIN
    best = work_mem_max(connections)
    if best < threshold:
        if mode == "explicit":
            fit = max(0, math.floor(connections_at(p.WORK_MEM_MIN)))
            raise UsageError(
                f"--max-connections {connections} does not fit in {human_size(ram)} of RAM: "
                f"the memory model holds at most {fit} connections even with work_mem at "
                f"{human_size(p.WORK_MEM_MIN)}",
                hint="lower --max-connections and put a pooler (pgbouncer) in front",
            )
        fit_cont = connections_at(threshold)
        fit = max(p.MIN_CONNECTIONS, math.floor(fit_cont))
        if fit < connections:
            lowered_from = connections
            notes.append(
                f"max_connections lowered from {connections} to {fit}: more do not fit in "
                f"{human_size(ram)} with work_mem {human_size(threshold)}; use a pooler"
            )
            connections = fit
        best = work_mem_max(connections)
        baseline = threshold if fit_cont >= p.MIN_CONNECTIONS else best
    else:
        baseline = _clamp(best, floor, profile.work_mem_cap) if best >= floor else best
    if mode != "profile" and best < floor:
        notes.append(
            f"work_mem {human_size(best)} is below the profile floor "
            f"{human_size(floor)} at {connections} connections"
        )
    work_mem = baseline
    if targets.work_mem_min is not None and targets.work_mem_min > work_mem:
        work_mem = max(work_mem, min(float(targets.work_mem_min), best))
    if work_mem < p.WORK_MEM_MIN:
        raise UsageError(
            f"{human_size(ram)} of RAM is too little for this configuration: the memory "
            f"model leaves {human_size(max(0.0, best))} of work_mem",
            hint="give more --memory or fewer --max-connections",
        )
    work_mem_bytes = _mb_floor(work_mem, p.WORK_MEM_MIN)

    return MemoryPlan(
        ram=ram,
        shared_buffers=shared_buffers,
        effective_cache_size=effective_cache_size,
        wal_buffers=wal_buffers,
        work_mem=work_mem_bytes,
        work_mem_budget_max=_mb_floor(max(best, p.WORK_MEM_MIN), p.WORK_MEM_MIN),
        hash_mem_multiplier=hmm,
        active_share=profile.active_share,
        nodes_per_query=nodes,
        maintenance_work_mem=maintenance,
        autovacuum_work_mem=av_mem,
        autovacuum_max_workers=av_workers,
        max_connections=connections,
        max_parallel_workers=parallel,
        connections_lowered_from=lowered_from,
        notes=tuple(notes),
    )
