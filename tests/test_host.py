"""Host facts: cgroup v1 and v2 limits read from cgroup trees, and this machine."""

from __future__ import annotations

from pathlib import Path

from pgtune_hx.host import HostFacts, cgroup_limits, detect
from pgtune_hx.host.facts import parse_cpuset


def test_cgroup_v2_limits(tmp_path: Path) -> None:
    (tmp_path / "cgroup.controllers").write_text("cpu memory cpuset\n")
    (tmp_path / "memory.max").write_text("4294967296\n")
    (tmp_path / "cpu.max").write_text("250000 100000\n")
    (tmp_path / "cpuset.cpus.effective").write_text("0-5\n")
    version, memory, quota, cpuset = cgroup_limits(tmp_path)
    assert (version, memory, quota, cpuset) == (2, 4 * 1024**3, 2.5, 6)


def test_cgroup_v2_unlimited(tmp_path: Path) -> None:
    (tmp_path / "cgroup.controllers").write_text("cpu memory\n")
    (tmp_path / "memory.max").write_text("max\n")
    (tmp_path / "cpu.max").write_text("max 100000\n")
    assert cgroup_limits(tmp_path) == (2, None, None, None)


def test_cgroup_v1_limits(tmp_path: Path) -> None:
    for controller, name, value in [
        ("memory", "memory.limit_in_bytes", "536870912"),
        ("cpu", "cpu.cfs_quota_us", "200000"),
        ("cpu", "cpu.cfs_period_us", "100000"),
        ("cpuset", "cpuset.cpus", "0,2"),
    ]:
        (tmp_path / controller).mkdir(exist_ok=True)
        (tmp_path / controller / name).write_text(value + "\n")
    version, memory, quota, cpuset = cgroup_limits(tmp_path)
    assert (version, memory, quota, cpuset) == (1, 512 * 1024**2, 2.0, 2)


def test_cgroup_v1_unlimited_memory_is_none(tmp_path: Path) -> None:
    (tmp_path / "memory").mkdir()
    (tmp_path / "memory" / "memory.limit_in_bytes").write_text("9223372036854771712\n")
    (tmp_path / "cpu").mkdir()
    (tmp_path / "cpu" / "cpu.cfs_quota_us").write_text("-1\n")
    (tmp_path / "cpu" / "cpu.cfs_period_us").write_text("100000\n")
    assert cgroup_limits(tmp_path)[1:3] == (None, None)


def test_cpuset_parsing() -> None:
    assert parse_cpuset("0") == 1
    assert parse_cpuset("0-15") == 16
    assert parse_cpuset("0-1,4-5,9") == 5


def test_detect_this_machine(tmp_path: Path) -> None:
    facts = detect(tmp_path)
    assert facts.local
    assert facts.cpu_count is not None and facts.cpu_count >= 1
    assert facts.memory_bytes is not None and facts.memory_bytes > 256 * 1024**2
    assert facts.effective_memory_bytes is not None
    assert facts.effective_memory_bytes <= facts.memory_bytes
    assert facts.data_disk_total_bytes is not None and facts.data_disk_total_bytes > 0
    round_trip = HostFacts.from_dict(facts.to_dict())
    assert round_trip == facts
