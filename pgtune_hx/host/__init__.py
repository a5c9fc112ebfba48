"""Hardware facts: psutil plus cgroup v1/v2 limits and the data disk's type."""

from pgtune_hx.host.facts import HostFacts, cgroup_limits, detect, remote

__all__ = ["HostFacts", "cgroup_limits", "detect", "remote"]
