"""Hardware facts of the machine a server runs on.

Memory and CPU are the smaller of what the host has and what its cgroup allows
(v2: memory.max, cpu.max, cpuset.cpus.effective; v1: memory.limit_in_bytes,
cpu.cfs_quota_us / cpu.cfs_period_us, cpuset.cpus). A container that sees the
host's 256 GB but may use 4 GB must be tuned for 4 GB.
"""

from __future__ import annotations

import os
import platform
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import psutil

CGROUP_ROOT = Path("/sys/fs/cgroup")
# cgroup v1 reports "no limit" as a page-rounded 2**63-1
_UNLIMITED = 1 << 60


@dataclass(frozen=True)
class HostFacts:
    """What we know of the host; ``local`` is False for a remote server,
    and then every hardware field is None (unknown, never guessed)."""

    local: bool
    os: str | None = None
    cpu_count: int | None = None
    cpu_limit: float | None = None  # cgroup quota in CPUs, None when unlimited
    memory_bytes: int | None = None  # physical memory
    memory_limit_bytes: int | None = None  # cgroup limit, None when unlimited
    data_dir: str | None = None
    data_disk: str | None = None
    data_disk_rotational: bool | None = None
    data_disk_total_bytes: int | None = None
    data_disk_free_bytes: int | None = None
    cgroup_version: int | None = None
    huge_page_size_bytes: int | None = None  # the kernel's default huge page size
    huge_pages_total: int | None = None  # vm.nr_hugepages as configured now
    huge_pages_free: int | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def effective_memory_bytes(self) -> int | None:
        values = [v for v in (self.memory_bytes, self.memory_limit_bytes) if v]
        return min(values) if values else None

    @property
    def effective_cpus(self) -> float | None:
        values = [float(v) for v in (self.cpu_count, self.cpu_limit) if v]
        return min(values) if values else None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["effective_memory_bytes"] = self.effective_memory_bytes
        data["effective_cpus"] = self.effective_cpus
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> HostFacts:
        known = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in data.items() if k in known})


def remote(note: str = "server is not on this machine: hardware unknown") -> HostFacts:
    return HostFacts(local=False, notes=[note])


def _read(path: Path) -> str | None:
    try:
        return path.read_text().strip()
    except OSError:
        return None


def _cgroup_paths() -> dict[str, str]:
    """controller -> path of this process's cgroup ('' key for v2)."""
    paths: dict[str, str] = {}
    text = _read(Path("/proc/self/cgroup")) or ""
    for line in text.splitlines():
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        controllers = parts[1].split(",") if parts[1] else [""]
        for controller in controllers:
            paths[controller] = parts[2]
    return paths


def _first_existing(candidates: list[Path]) -> Path | None:
    return next((p for p in candidates if p.exists()), None)


def _v1_file(controller: str, name: str, paths: dict[str, str], root: Path) -> str | None:
    rel = paths.get(controller, "/").lstrip("/")
    # inside a cgroup namespace the path may not be mounted: fall back to the root
    found = _first_existing([root / controller / rel / name, root / controller / name])
    return _read(found) if found else None


def parse_cpuset(text: str) -> int:
    """Number of CPUs in a cpuset list.

    >>> parse_cpuset("0-3,8,10-11")
    7
    """
    count = 0
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        if "-" in part:
            low, high = part.split("-", 1)
            count += int(high) - int(low) + 1
        else:
            count += 1
    return count


def cgroup_limits(
    root: Path = CGROUP_ROOT,
) -> tuple[int | None, int | None, float | None, int | None]:
    """(version, memory limit bytes, cpu quota, cpuset size); None where unlimited."""
    paths = _cgroup_paths()
    if (root / "cgroup.controllers").exists():
        rel = paths.get("", "/").lstrip("/")
        base = root / rel if (root / rel / "memory.max").exists() else root
        memory = _read(base / "memory.max")
        mem_limit = int(memory) if memory and memory.isdigit() else None
        cpu = (_read(base / "cpu.max") or "max").split()
        quota = float(cpu[0]) / float(cpu[1]) if cpu[0] != "max" and len(cpu) == 2 else None
        cpuset = _read(base / "cpuset.cpus.effective")
        return 2, mem_limit, quota, parse_cpuset(cpuset) if cpuset else None
    if (root / "memory").exists() or (root / "cpu").exists():
        memory = _v1_file("memory", "memory.limit_in_bytes", paths, root)
        mem_limit = int(memory) if memory and memory.isdigit() else None
        if mem_limit is not None and mem_limit >= _UNLIMITED:
            mem_limit = None
        quota_text = _v1_file("cpu", "cpu.cfs_quota_us", paths, root)
        period_text = _v1_file("cpu", "cpu.cfs_period_us", paths, root)
        quota = None
        if quota_text and period_text and quota_text.lstrip("-").isdigit():
            q, p = int(quota_text), int(period_text)
            quota = q / p if q > 0 and p > 0 else None
        cpuset = _v1_file("cpuset", "cpuset.cpus", paths, root)
        return 1, mem_limit, quota, parse_cpuset(cpuset) if cpuset else None
    return None, None, None, None


def read_hugepages(
    meminfo: Path = Path("/proc/meminfo"),
) -> tuple[int | None, int | None, int | None]:
    """(huge page size in bytes, HugePages_Total, HugePages_Free) from /proc/meminfo."""
    values: dict[str, int] = {}
    for line in (_read(meminfo) or "").splitlines():
        name, _, rest = line.partition(":")
        parts = rest.split()
        if parts and parts[0].isdigit():
            scale = 1024 if len(parts) > 1 and parts[1].lower() == "kb" else 1
            values[name.strip()] = int(parts[0]) * scale
    return (
        values.get("Hugepagesize"),
        values.get("HugePages_Total"),
        values.get("HugePages_Free"),
    )


def _disk_of(path: Path) -> tuple[str | None, bool | None]:
    """Block device holding ``path`` and whether it is rotational."""
    try:
        dev = os.stat(path).st_dev
    except OSError:
        return None, None
    major, minor = os.major(dev), os.minor(dev)
    sys_dev = Path(f"/sys/dev/block/{major}:{minor}")
    if not sys_dev.exists():
        return None, None
    real = sys_dev.resolve()
    # a partition's queue/ lives on its parent disk
    for candidate in (real, real.parent):
        rotational = _read(candidate / "queue" / "rotational")
        if rotational is not None:
            return candidate.name, rotational == "1"
    return real.name, None


def detect(data_dir: str | Path | None = None, cgroup_root: Path = CGROUP_ROOT) -> HostFacts:
    """Facts of this machine; ``data_dir`` adds the disk of the data directory."""
    notes: list[str] = []
    version, mem_limit, quota, cpuset = cgroup_limits(cgroup_root)
    cpu_count = psutil.cpu_count(logical=True) or None
    if cpuset and cpu_count:
        cpu_count = min(cpu_count, cpuset)
    memory = int(psutil.virtual_memory().total)
    if mem_limit is not None and mem_limit < memory:
        notes.append(f"cgroup v{version} memory limit {mem_limit} bytes is below host memory")
    if quota is not None:
        notes.append(f"cgroup v{version} CPU quota {quota:g} CPUs")
    disk = rotational = None
    total = free = None
    if data_dir is not None:
        path = Path(data_dir)
        disk, rotational = _disk_of(path)
        try:
            usage = psutil.disk_usage(str(path))
            total, free = int(usage.total), int(usage.free)
        except OSError:
            notes.append(f"cannot read disk usage of {path}")
        if rotational is None:
            notes.append(f"rotational flag of the disk of {path} unknown")
    huge_size, huge_total, huge_free = read_hugepages()
    return HostFacts(
        local=True,
        os=f"{platform.system()} {platform.release()}",
        cpu_count=cpu_count,
        cpu_limit=quota,
        memory_bytes=memory,
        memory_limit_bytes=mem_limit if mem_limit is not None and mem_limit < memory else None,
        data_dir=str(data_dir) if data_dir is not None else None,
        data_disk=disk,
        data_disk_rotational=rotational,
        data_disk_total_bytes=total,
        data_disk_free_bytes=free,
        cgroup_version=version,
        huge_page_size_bytes=huge_size,
        huge_pages_total=huge_total,
        huge_pages_free=huge_free,
        notes=notes,
    )
