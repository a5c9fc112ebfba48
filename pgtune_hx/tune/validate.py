"""Proposals checked against what the target server accepts.

Bounds come from the live server's pg_settings, or offline from a bundled
table per major version (pgtune_hx/tune/data/pgNN.json, generated from real PG
15 and 18 servers by scripts/gen_tune_bounds.py). A proposal is converted to
the setting's unit, clamped into [min_val, max_val], dropped when the setting
does not exist in that version or the server lacks the enum value, marked as
needing a restart when its context is ``postmaster``, and left unchanged when
the current value is within 10% of it.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from pgtune_hx.errors import InvalidInputFile, UsageError
from pgtune_hx.tune.model import Proposal, SettingChange, Value
from pgtune_hx.tune.profiles import WAL_COMPRESSION_PREFERENCE
from pgtune_hx.tune.sizes import format_ms, format_size

BUNDLED_MAJORS = (15, 18)
SUPPORTED_MAJORS = (15, 16, 17, 18)
UNCHANGED_TOLERANCE = 0.10
# Settings the memory budget counts: a current value within 10% is kept only when
# it is not larger than the recommendation, so keeping it cannot break the budget.
BUDGETED = frozenset(
    {
        "shared_buffers",
        "wal_buffers",
        "work_mem",
        "hash_mem_multiplier",
        "maintenance_work_mem",
        "autovacuum_work_mem",
        "autovacuum_max_workers",
        "max_connections",
        "max_parallel_workers",
    }
)

_UNIT_BYTES = {"B": 1, "kB": 1024, "8kB": 8192, "MB": 1024**2, "GB": 1024**3}
_UNIT_MS = {"ms": 1, "s": 1000, "min": 60_000, "h": 3_600_000, "d": 86_400_000}
# -1 means "use another setting" for these; the 10% rule compares effective values
_FALLBACK = {
    "autovacuum_work_mem": "maintenance_work_mem",
    "autovacuum_vacuum_cost_limit": "vacuum_cost_limit",
    "autovacuum_vacuum_cost_delay": "vacuum_cost_delay",
}


@dataclass(frozen=True)
class SettingBounds:
    name: str
    vartype: str
    unit: str | None
    min_val: float | None
    max_val: float | None
    enumvals: tuple[str, ...] | None
    context: str
    default: str | None  # the value of a fresh initdb, in the setting's unit

    @property
    def restart(self) -> bool:
        return self.context == "postmaster"

    def to_dict(self) -> dict[str, Any]:
        return {
            "vartype": self.vartype,
            "unit": self.unit,
            "min_val": self.min_val,
            "max_val": self.max_val,
            "enumvals": list(self.enumvals) if self.enumvals is not None else None,
            "context": self.context,
            "default": self.default,
        }

    @classmethod
    def from_row(cls, row: dict[str, Any], default_key: str = "reset_val") -> SettingBounds:
        def number(value: Any) -> float | None:
            return float(value) if value not in (None, "") else None

        enumvals = row.get("enumvals")
        return cls(
            name=str(row["name"]),
            vartype=str(row["vartype"]),
            unit=row.get("unit") or None,
            min_val=number(row.get("min_val")),
            max_val=number(row.get("max_val")),
            enumvals=tuple(enumvals) if enumvals is not None else None,
            context=str(row["context"]),
            default=None if row.get(default_key) is None else str(row[default_key]),
        )


@dataclass(frozen=True)
class BoundsTable:
    major: int
    server_version: str
    source: str
    settings: dict[str, SettingBounds]

    def get(self, name: str) -> SettingBounds | None:
        return self.settings.get(name)

    def defaults(self) -> dict[str, str]:
        return {n: b.default for n, b in self.settings.items() if b.default is not None}


@cache
def load_bundled(major: int) -> tuple[BoundsTable, str | None]:
    """The bundled table for ``major`` (and a note when a neighbour stands in)."""
    if major not in SUPPORTED_MAJORS:
        raise UsageError(
            f"--pg-version {major} is not supported",
            hint=f"give one of {', '.join(map(str, SUPPORTED_MAJORS))}",
        )
    chosen = max(m for m in BUNDLED_MAJORS if m <= major)
    name = f"pg{chosen}.json"
    try:
        text = resources.files("pgtune_hx.tune").joinpath("data", name).read_text()
        data = json.loads(text)
        settings = {
            key: SettingBounds.from_row({"name": key, **value}, "default")
            for key, value in data["settings"].items()
        }
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise InvalidInputFile(f"bundled settings table {name} is unreadable: {exc}") from None
    note = None
    if chosen != major:
        note = (
            f"no bundled table for PostgreSQL {major}: bounds of PostgreSQL {chosen} are used, "
            f"settings added in {chosen + 1}..{major} are not proposed offline"
        )
    table = BoundsTable(
        major=major,
        server_version=str(data.get("server_version", chosen)),
        source=f"bundled table of PostgreSQL {data.get('server_version', chosen)}",
        settings=settings,
    )
    return table, note


def from_pg_settings(rows: list[dict[str, Any]], major: int, version: str) -> BoundsTable:
    settings = {str(r["name"]): SettingBounds.from_row(r) for r in rows}
    return BoundsTable(major, version, "the server's pg_settings", settings)


# -- units ------------------------------------------------------------------------


def to_setting(value: Value, kind: str, bounds: SettingBounds) -> Value:
    """A typed proposal in the setting's own unit (bytes -> 8kB pages, ms -> s)."""
    if kind == "bytes":
        unit = _UNIT_BYTES.get(bounds.unit or "B", 1)
        return max(1, int(value) // unit)
    if kind == "ms":
        unit = _UNIT_MS.get(bounds.unit or "ms", 1)
        return max(0, int(value) // unit) if bounds.vartype == "integer" else float(value) / unit
    if kind == "int":
        return int(value)
    if kind == "real":
        return float(value)
    return str(value)


def parse_setting(text: str | None, bounds: SettingBounds) -> Value | None:
    """pg_settings.setting text as a number (in its unit) or a string."""
    if text is None:
        return None
    if bounds.vartype == "integer":
        try:
            return int(text)
        except ValueError:
            return int(float(text))
    if bounds.vartype == "real":
        return float(text)
    return text


def display(value: Value | None, bounds: SettingBounds) -> str | None:
    """A value in the setting's unit, spelled as a configuration file takes it."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    unit = bounds.unit
    if unit in _UNIT_BYTES and bounds.vartype == "integer" and int(value) > 0:
        return format_size(int(value) * _UNIT_BYTES[unit])
    if unit in _UNIT_MS and value > 0:
        ms = value * _UNIT_MS[unit]
        return format_ms(int(ms) if float(ms).is_integer() else float(ms))
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def within_tolerance(name: str, current: float, recommended: float) -> bool:
    """True when the current value may stay: within 10% (and, for budgeted
    settings, not above the recommendation)."""
    if recommended == 0:
        return current == 0
    if name in BUDGETED and current > recommended:
        return False
    return abs(current - recommended) <= UNCHANGED_TOLERANCE * abs(recommended)


def effective_current(
    name: str, current: dict[str, str], table: BoundsTable
) -> tuple[Value | None, str | None]:
    """The value in force (resolving -1 fallbacks) and a note saying how."""
    bounds = table.get(name)
    if bounds is None:
        return None, None
    value = parse_setting(current.get(name), bounds)
    if isinstance(value, int | float) and value == -1:
        other = _FALLBACK.get(name)
        if other and table.get(other) is not None:
            other_bounds = table.get(other)
            assert other_bounds is not None
            resolved = parse_setting(current.get(other), other_bounds)
            if resolved is not None and other_bounds.unit == bounds.unit:
                return resolved, f"= {other} {display(resolved, other_bounds)}"
        if name == "wal_buffers":
            shared = table.get("shared_buffers")
            if shared is not None and current.get("shared_buffers"):
                pages = int(current["shared_buffers"]) // 32
                return min(max(pages, 8), 2048), "= shared_buffers / 32, at most 16MB"
    return value, None


# -- the check ----------------------------------------------------------------------


def _enum_choice(proposal: Proposal, bounds: SettingBounds) -> tuple[str | None, str | None]:
    allowed = bounds.enumvals or ()
    wanted = str(proposal.value)
    if wanted in allowed:
        return wanted, None
    if proposal.name == "wal_compression":
        for option in WAL_COMPRESSION_PREFERENCE:
            if option in allowed:
                return option, f"{wanted} is not available in this build; {option} chosen"
        return None, "this build has neither lz4 nor zstd (pglz costs more CPU than it saves)"
    return None, f"{wanted} is not accepted here (accepted: {', '.join(allowed)})"


def check(
    proposal: Proposal,
    table: BoundsTable,
    current: dict[str, str],
) -> SettingChange | str:
    """A SettingChange, or the reason the proposal was dropped."""
    bounds = table.get(proposal.name)
    if bounds is None:
        return f"{proposal.name} does not exist in PostgreSQL {table.major}"
    note: str | None = None
    recommended: Value
    if proposal.kind == "enum":
        choice, note = _enum_choice(proposal, bounds)
        if choice is None:
            return f"{proposal.name}: {note}"
        recommended = choice
    else:
        recommended = to_setting(proposal.value, proposal.kind, bounds)
        low, high = bounds.min_val, bounds.max_val
        assert isinstance(recommended, int | float)
        if low is not None and recommended < low:
            note = f"raised to the minimum {display(type(recommended)(low), bounds)}"
            recommended = type(recommended)(low)
        if high is not None and recommended > high:
            note = f"lowered to the maximum {display(type(recommended)(high), bounds)}"
            recommended = type(recommended)(high)
        if isinstance(recommended, float) and not math.isfinite(recommended):
            return f"{proposal.name}: not a finite number"
    current_value, current_note = effective_current(proposal.name, current, table)
    if isinstance(recommended, int | float) and isinstance(current_value, int | float):
        change = not within_tolerance(proposal.name, float(current_value), float(recommended))
    else:
        change = current_value != recommended
    current_text = display(parse_setting(current.get(proposal.name), bounds), bounds)
    if current_note:
        current_text = f"{current_text} ({current_note})"
    return SettingChange(
        name=proposal.name,
        current=current_text,
        recommended=display(recommended, bounds) or "",
        unit=bounds.unit,
        restart=bounds.restart,
        reason=proposal.reason,
        formula=proposal.formula,
        change=change,
        current_setting=current_value,
        recommended_setting=recommended,
        source="evidence" if proposal.evidence else "baseline",
        note=note,
    )
