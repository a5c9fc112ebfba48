"""Which hardware a recommendation is for: flags, detected facts, remote servers."""

from __future__ import annotations

from pathlib import Path

import pytest

from pgtune_hx.errors import UsageError
from pgtune_hx.host import HostFacts, remote
from pgtune_hx.host.facts import read_hugepages
from pgtune_hx.tune.hardware import resolve
from pgtune_hx.tune.model import Storage
from pgtune_hx.tune.sizes import GB, MB


def facts(**fields: object) -> HostFacts:
    base: dict[str, object] = {
        "local": True,
        "cpu_count": 16,
        "memory_bytes": 64 * GB,
        "data_disk": "sda",
        "data_disk_rotational": False,
    }
    return HostFacts(**{**base, **fields})  # type: ignore[arg-type]


def test_cgroup_limits_win_over_host_size() -> None:
    hw = resolve(
        facts=facts(memory_limit_bytes=4 * GB, cpu_limit=2.5),
        memory=None,
        cpus=None,
        storage=None,
        what="test",
    )
    assert (hw.memory_bytes, hw.cpus) == (4 * GB, 2)
    assert hw.sources["memory"] == "cgroup limit" and hw.sources["cpus"] == "cgroup quota"


@pytest.mark.parametrize(
    ("disk", "rotational", "storage", "source"),
    [
        ("sda", True, Storage.hdd, "detected"),
        ("nvme0n1", False, Storage.nvme, "detected"),
        ("sdb", False, Storage.ssd, "detected"),
        ("vda", None, Storage.ssd, "assumed"),
        # virtio and Xen disks say rotational whatever is behind them
        ("vda", True, Storage.ssd, "assumed"),
        ("xvdb", True, Storage.ssd, "assumed"),
        ("vda", False, Storage.ssd, "detected"),
    ],
)
def test_storage_from_the_data_disk(
    disk: str, rotational: bool | None, storage: Storage, source: str
) -> None:
    hw = resolve(
        facts=facts(data_disk=disk, data_disk_rotational=rotational),
        memory=None,
        cpus=None,
        storage=None,
        what="test",
    )
    assert hw.storage is storage
    assert hw.sources["storage"].startswith(source)
    if disk.startswith(("vd", "xvd")) and rotational:
        assert any("virtual disk" in note and "--storage" in note for note in hw.notes)


def test_flags_override_detection() -> None:
    hw = resolve(facts=facts(), memory=8 * GB, cpus=4, storage=Storage.san, what="test")
    assert (hw.memory_bytes, hw.cpus, hw.storage) == (8 * GB, 4, Storage.san)
    assert set(hw.sources.values()) == {"flag"}


def test_remote_server_needs_every_flag() -> None:
    with pytest.raises(UsageError) as info:
        resolve(
            facts=remote("connected to db.example: not this machine"),
            memory=8 * GB,
            cpus=None,
            storage=None,
            what="connected to db.example: not this machine",
        )
    assert "--cpus, --storage" in str(info.value) and "db.example" in str(info.value)
    hw = resolve(facts=remote(), memory=8 * GB, cpus=4, storage=Storage.ssd, what="remote")
    assert not hw.local and hw.disk_total_bytes is None


@pytest.mark.parametrize(("memory", "needle"), [(100 * MB, "below"), (2**60, "larger")])
def test_memory_outside_what_can_be_tuned(memory: int, needle: str) -> None:
    with pytest.raises(UsageError, match=needle):
        resolve(facts=None, memory=memory, cpus=2, storage=Storage.ssd, what="offline")


def test_huge_pages_from_meminfo(tmp_path: Path) -> None:
    meminfo = tmp_path / "meminfo"
    meminfo.write_text(
        "MemTotal:       65536000 kB\nHugePages_Total:    8600\n"
        "HugePages_Free:     8000\nHugepagesize:       2048 kB\n"
    )
    assert read_hugepages(meminfo) == (2 * MB, 8600, 8000)
    assert read_hugepages(tmp_path / "absent") == (None, None, None)
