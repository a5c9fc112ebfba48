"""What the tuner takes in and hands out.

Values inside the tuner are typed by kind: memory in bytes, durations in
milliseconds, counts as int, costs as float, enums as str. validate.py turns
them into the setting's own unit (pg_settings.unit) and back into text.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any, Literal

Value = int | float | str
Kind = Literal["bytes", "ms", "int", "real", "enum"]


class Workload(StrEnum):
    web = "web"
    oltp = "oltp"
    dw = "dw"
    mixed = "mixed"
    vector = "vector"


class Storage(StrEnum):
    hdd = "hdd"
    ssd = "ssd"
    nvme = "nvme"
    san = "san"


@dataclass(frozen=True)
class TuneInputs:
    """Everything the baseline depends on; ``sources`` says where each came from
    (flag, detected, server, default) so the output can say so."""

    memory_bytes: int
    cpus: int
    storage: Storage
    workload: Workload
    major: int
    max_connections: int | None = None  # given with --max-connections
    db_size_bytes: int | None = None
    disk_total_bytes: int | None = None
    huge_page_size_bytes: int | None = None
    huge_pages_total: int | None = None
    local: bool = False
    sources: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["storage"] = str(self.storage)
        data["workload"] = str(self.workload)
        return data


@dataclass(frozen=True)
class Targets:
    """What live evidence asks of the baseline; the memory model decides how
    much of it fits. None means no evidence either way."""

    work_mem_min: int | None = None
    shared_buffers_share: float | None = None
    max_wal_size_min: int | None = None
    max_connections: int | None = None  # the server's current value, kept unless it cannot fit
    autovacuum_boost: bool = False
    autovacuum_scale_factor: float | None = None


@dataclass(frozen=True)
class Proposal:
    """One setting as the formulas (and evidence) want it."""

    name: str
    value: Value
    kind: Kind
    formula: str
    reason: str
    evidence: str | None = None  # set when live statistics changed the value


@dataclass(frozen=True)
class EvidenceItem:
    """What the server's statistics showed, and what the tuner did with it."""

    topic: str
    observed: str
    effect: str
    settings: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["settings"] = list(self.settings)
        return data


@dataclass(frozen=True)
class SettingChange:
    """A proposal checked against the target server (or its version's table).

    ``current`` and ``recommended`` are in PostgreSQL's spelling (``4GB``,
    ``15min``); ``*_setting`` are in pg_settings units, for machines.
    ``change`` is False when the current value is already within 10%.
    """

    name: str
    current: str | None
    recommended: str
    unit: str | None
    restart: bool
    reason: str
    formula: str
    change: bool
    current_setting: Value | None
    recommended_setting: Value
    source: str  # "baseline" or "evidence"
    note: str | None = None

    @property
    def number(self) -> float:
        """The recommended value of a numeric setting, in its unit."""
        if isinstance(self.recommended_setting, str):
            raise TypeError(f"{self.name} is not numeric: {self.recommended_setting!r}")
        return float(self.recommended_setting)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
