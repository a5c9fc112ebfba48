"""Which hardware the recommendation is for: flags first, then detection.

Whether the server is local is the collectors' decision (Unix socket or
loopback AND the data_directory exists here, see pgtune_hx.collect.identity),
carried in the snapshot's host facts; only then are psutil, the cgroup limits
and the data disk's rotational flag facts about the server's host. A remote
server needs the hardware given with flags.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from pgtune_hx.errors import UsageError
from pgtune_hx.host import HostFacts
from pgtune_hx.tune.model import Storage
from pgtune_hx.tune.sizes import MB, human_size

MIN_MEMORY = 256 * MB
MAX_MEMORY = 64 * 1024**4
MAX_CPUS = 4096


@dataclass(frozen=True)
class Hardware:
    memory_bytes: int
    cpus: int
    storage: Storage
    disk_total_bytes: int | None = None
    huge_page_size_bytes: int | None = None
    huge_pages_total: int | None = None
    local: bool = False
    sources: dict[str, str] = field(default_factory=dict)
    notes: tuple[str, ...] = ()


# Paravirtual block devices (virtio-blk, Xen): the guest kernel reports them
# rotational unless the hypervisor says otherwise, whatever is behind them.
VIRTUAL_DISK_PREFIXES = ("vd", "xvd")


def storage_of(facts: HostFacts) -> tuple[Storage | None, str | None]:
    """hdd for a rotational disk, nvme for nvme devices, else ssd; None when
    unknown, with the reason when there is one."""
    name = facts.data_disk or ""
    if facts.data_disk_rotational is None:
        return None, None
    if facts.data_disk_rotational and name.startswith(VIRTUAL_DISK_PREFIXES):
        return (
            None,
            f"{name} is a virtual disk: its rotational flag does not tell what is behind it",
        )
    if facts.data_disk_rotational:
        return Storage.hdd, f"{name or 'data disk'} is rotational"
    if name.startswith("nvme"):
        return Storage.nvme, f"{name} is an NVMe device"
    return Storage.ssd, f"{name or 'data disk'} is not rotational"


def check_memory(value: int) -> int:
    if value < MIN_MEMORY:
        raise UsageError(
            f"--memory {human_size(value)} is below {human_size(MIN_MEMORY)}: "
            "too little to run PostgreSQL with a useful configuration"
        )
    if value > MAX_MEMORY:
        raise UsageError(f"--memory {human_size(value)} is larger than any machine")
    return value


def check_cpus(value: int) -> int:
    if value < 1 or value > MAX_CPUS:
        raise UsageError(f"--cpus {value}: expected 1..{MAX_CPUS}")
    return value


def resolve(
    *,
    facts: HostFacts | None,
    memory: int | None,
    cpus: int | None,
    storage: Storage | None,
    what: str,
) -> Hardware:
    """Flags override detected facts; without facts every flag is required.

    ``facts`` is None for a remote server or when there is no server at all
    (offline); ``what`` names the situation in the error.
    """
    sources: dict[str, str] = {}
    notes: list[str] = []
    if facts is None or not facts.local:
        missing = [
            flag
            for flag, value in (("--memory", memory), ("--cpus", cpus), ("--storage", storage))
            if value is None
        ]
        if missing:
            raise UsageError(
                f"{what}: its hardware cannot be detected from here",
                hint=f"give {', '.join(missing)} (e.g. --memory 64GB --cpus 16 --storage ssd)",
            )
    detected_memory = facts.effective_memory_bytes if facts else None
    detected_cpus = facts.effective_cpus if facts else None
    if memory is not None:
        sources["memory"] = "flag"
    elif detected_memory is not None:
        memory = detected_memory
        limited = facts is not None and facts.memory_limit_bytes is not None
        sources["memory"] = "cgroup limit" if limited else "detected"
    if cpus is not None:
        sources["cpus"] = "flag"
    elif detected_cpus is not None:
        # a fractional quota (2.5 CPUs) gives the throughput of its whole part
        cpus = max(1, math.floor(detected_cpus))
        limited = facts is not None and facts.cpu_limit is not None
        sources["cpus"] = "cgroup quota" if limited else "detected"
    if storage is not None:
        sources["storage"] = "flag"
    elif facts is not None:
        storage, why = storage_of(facts)
        if storage is None:
            storage = Storage.ssd
            sources["storage"] = "assumed"
            notes.append(f"{why or 'data disk type unknown'}: ssd assumed (give --storage)")
        else:
            sources["storage"] = f"detected ({why})"
    if memory is None or cpus is None or storage is None:
        raise UsageError(f"{what}: hardware unknown", hint="give --memory, --cpus and --storage")
    return Hardware(
        memory_bytes=check_memory(memory),
        cpus=check_cpus(cpus),
        storage=storage,
        disk_total_bytes=facts.data_disk_total_bytes if facts and facts.local else None,
        huge_page_size_bytes=facts.huge_page_size_bytes if facts and facts.local else None,
        huge_pages_total=facts.huge_pages_total if facts and facts.local else None,
        local=bool(facts and facts.local),
        sources=sources,
        notes=tuple(notes + (list(facts.notes) if facts and facts.local else [])),
    )
