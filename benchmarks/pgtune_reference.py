"""PGTune's published formulas, for comparison in bench_tune.py only.

PGTune (pgtune.leopard.in.ua, source le0pard/pgtune) computes settings from
RAM, CPUs, connections, storage, OS, version and a workload type. This module
restates those rules (as published in its configuration code, 2025) for Linux
so the benchmark can run "what PGTune would give for the same hardware"; the
tuner itself never uses it. Values are strings PostgreSQL accepts.

The rules, in short:
- max_connections: given, else web 200, oltp 300, dw 40, desktop 20, mixed 100;
- shared_buffers = RAM/4 (desktop RAM/16); effective_cache_size = RAM*3/4;
- maintenance_work_mem = RAM/16 (dw RAM/8), capped at 8GB;
- min/max_wal_size: web 1GB/4GB, oltp 2GB/8GB, dw 4GB/16GB, mixed 1GB/4GB;
- checkpoint_completion_target 0.9; wal_buffers = 3% of shared_buffers, 32kB..16MB
  (rounded up to 16MB above 14MB);
- default_statistics_target 100 (dw 500);
- random_page_cost hdd 4, ssd/san/nvme 1.1; effective_io_concurrency hdd 2,
  ssd 200, san 300, nvme 1000;
- with 4+ CPUs: max_worker_processes = CPUs, max_parallel_workers = CPUs,
  max_parallel_workers_per_gather = ceil(CPUs/2) (4 at most except dw),
  max_parallel_maintenance_workers = ceil(CPUs/2), at most 4;
- work_mem = (RAM - shared_buffers) / ((max_connections + max_worker_processes) * 3),
  halved for dw and mixed, at least 4MB (max_worker_processes is 8 below 4 CPUs);
- huge_pages = try when shared_buffers >= 2GB, else off;
- jit = off for web, oltp and mixed; wal_compression = lz4 from PG 15;
- autovacuum_max_workers 4 from 16 CPUs, 5 from 32;
  autovacuum_work_mem = 2GB when maintenance_work_mem >= 2GB.
"""

from __future__ import annotations

import math

KB = 1024
MB = 1024 * KB
GB = 1024 * MB

_CONNECTIONS = {"web": 200, "oltp": 300, "dw": 40, "desktop": 20, "mixed": 100}
_MIN_WAL = {"web": 1 * GB, "oltp": 2 * GB, "dw": 4 * GB, "desktop": 100 * MB, "mixed": 1 * GB}
_MAX_WAL = {"web": 4 * GB, "oltp": 8 * GB, "dw": 16 * GB, "desktop": 2 * GB, "mixed": 4 * GB}
_RANDOM_PAGE_COST = {"hdd": "4", "ssd": "1.1", "san": "1.1", "nvme": "1.1"}
_IO_CONCURRENCY = {"hdd": "2", "ssd": "200", "san": "300", "nvme": "1000"}


def _kb(value_kb: int) -> str:
    """PGTune prints kB values in the largest whole unit."""
    if value_kb % (1024 * 1024) == 0:
        return f"{value_kb // (1024 * 1024)}GB"
    if value_kb % 1024 == 0:
        return f"{value_kb // 1024}MB"
    return f"{value_kb}kB"


def pgtune(
    *,
    memory_bytes: int,
    cpus: int,
    storage: str,
    workload: str,
    connections: int | None = None,
    major: int = 18,
) -> dict[str, str]:
    """PGTune's settings for Linux, as name -> value text."""
    ram_kb = memory_bytes // KB
    max_connections = connections or _CONNECTIONS[workload]
    shared_kb = ram_kb // 16 if workload == "desktop" else ram_kb // 4
    cache_kb = ram_kb // 4 if workload == "desktop" else ram_kb * 3 // 4
    maintenance_kb = ram_kb // 8 if workload == "dw" else ram_kb // 16
    maintenance_kb = min(maintenance_kb, 8 * GB // KB)
    wal_buffers_kb = min(3 * shared_kb // 100, 16 * 1024)
    if 14 * 1024 < wal_buffers_kb < 16 * 1024:
        wal_buffers_kb = 16 * 1024
    wal_buffers_kb = max(wal_buffers_kb, 32)

    settings: dict[str, str] = {
        "max_connections": str(max_connections),
        "shared_buffers": _kb(shared_kb),
        "effective_cache_size": _kb(cache_kb),
        "maintenance_work_mem": _kb(maintenance_kb),
        "checkpoint_completion_target": "0.9",
        "wal_buffers": _kb(wal_buffers_kb),
        "default_statistics_target": "500" if workload == "dw" else "100",
        "random_page_cost": _RANDOM_PAGE_COST[storage],
        "effective_io_concurrency": _IO_CONCURRENCY[storage],
        "min_wal_size": _kb(_MIN_WAL[workload] // KB),
        "max_wal_size": _kb(_MAX_WAL[workload] // KB),
        "huge_pages": "try" if shared_kb >= 2 * GB // KB else "off",
    }
    worker_processes = 8
    if cpus >= 4:
        per_gather = math.ceil(cpus / 2)
        if workload != "dw":
            per_gather = min(per_gather, 4)
        worker_processes = cpus
        settings["max_worker_processes"] = str(cpus)
        settings["max_parallel_workers_per_gather"] = str(per_gather)
        settings["max_parallel_workers"] = str(cpus)
        settings["max_parallel_maintenance_workers"] = str(min(math.ceil(cpus / 2), 4))
    work_kb = (ram_kb - shared_kb) / ((max_connections + worker_processes) * 3)
    divisor = {"dw": 2, "mixed": 2, "desktop": 6}.get(workload, 1)
    settings["work_mem"] = _kb(max(4 * 1024, math.floor(work_kb / divisor)))
    if workload in ("web", "oltp", "mixed"):
        settings["jit"] = "off"
    if major >= 15:
        settings["wal_compression"] = "lz4"
    if cpus >= 32:
        settings["autovacuum_max_workers"] = "5"
    elif cpus >= 16:
        settings["autovacuum_max_workers"] = "4"
    if maintenance_kb >= 2 * GB // KB:
        settings["autovacuum_work_mem"] = "2GB"
    return settings
