"""What every section builder shares: the inputs and a few lookups on them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from functools import cached_property
from types import ModuleType
from typing import Any

from pgtune_hx.collect.diff import SnapshotDiff, diff
from pgtune_hx.collect.model import Snapshot
from pgtune_hx.report import format as fmt
from pgtune_hx.report.cells import SEVERITIES, finding_anchor, finding_order, text
from pgtune_hx.report.inputs import ReportInputs

# Where the analyzer's rules are listed besides the findings section: by topic,
# with the server rules about sessions apart from those about configuration.
SESSION_RULES = (
    "server.lock_waits",
    "server.long_transaction",
    "server.idle_in_transaction",
    "server.deadlocks",
    "server.connection_saturation",
    "server.idle_connections",
)
AREAS: dict[str, tuple[str, ...]] = {
    "statements": ("workload.",),
    "tables": ("table.",),
    "indexes": ("index.",),
    "locks": SESSION_RULES,
    "settings": ("server.",),
}


def _rule(finding: dict[str, Any]) -> str:
    return str(finding.get("rule_id", ""))


class ReportContext:
    def __init__(self, inputs: ReportInputs, charts: ModuleType | None = None) -> None:
        self.inputs = inputs
        self.snap: Snapshot = inputs.snapshot
        self.since: Snapshot | None = inputs.since
        # ages are measured from the capture, so the same snapshot renders the same
        self.now: dt.datetime = self.snap.captured
        self.charts = charts
        self.findings: list[dict[str, Any]] = sorted(inputs.findings or [], key=finding_order)
        self._anchors: dict[int, str] = {}
        for finding in self.findings:
            base = candidate = finding_anchor(finding)
            n = 1
            while candidate in self._anchors.values():
                n += 1
                candidate = f"{base}-{n}"
            self._anchors[id(finding)] = candidate
        self.settings = {str(r.get("name")): r for r in self.snap.rows("settings")}

    @cached_property
    def diff(self) -> SnapshotDiff | None:
        """The interval between the two snapshots (every statement, not a top N)."""
        if self.since is None:
            return None
        return diff(self.since, self.snap, top=1_000_000)

    def setting(self, name: str) -> str | None:
        row = self.settings.get(name)
        return None if row is None else text(row.get("setting"))

    def setting_text(self, name: str) -> str:
        """A setting with its unit applied: shared_buffers '16384' '8kB' -> '128 MB'."""
        row = self.settings.get(name)
        if row is None:
            return ""
        unit = text(row.get("unit"))
        value = fmt.number(row.get("setting"))
        factor = {"8kB": 8192, "kB": 1024, "MB": 1024**2, "B": 1}.get(unit)
        if value is not None and factor:
            return fmt.size(value * factor)
        return f"{text(row.get('setting'))}{' ' + unit if unit else ''}"

    @cached_property
    def block_size(self) -> int:
        value = fmt.number(self.setting("block_size"))
        return int(value) if value else 8192

    def chart(self, name: str, *args: Any, **kwargs: Any) -> str | None:
        """An SVG from report.charts, or None when rendering without charts."""
        if self.charts is None:
            return None
        render: Callable[..., str] = getattr(self.charts, name)
        return render(*args, **kwargs)

    def section_error(self, name: str) -> str | None:
        section = self.snap.section(name)
        return None if section.ok else f"{name}: {section.error}"

    def anchor(self, finding: dict[str, Any]) -> str:
        """The unique id of a finding's card in the findings section."""
        return self._anchors.get(id(finding)) or finding_anchor(finding)

    def findings_in(self, area: str) -> list[dict[str, Any]]:
        """The findings a section lists (AREAS), most severe first."""
        found = [f for f in self.findings if _rule(f).startswith(AREAS[area])]
        if area == "settings":
            found = [f for f in found if _rule(f) not in SESSION_RULES]
        return found

    def severity_counts(self) -> dict[str, int]:
        counts = dict.fromkeys(SEVERITIES, 0)
        for finding in self.findings:
            severity = str(finding.get("severity"))
            if severity in counts:
                counts[severity] += 1
        return counts

    def findings_empty(self) -> str:
        if self.inputs.findings is None:
            reason = self.inputs.missing.get("analyzer", "not run")
            return f"The analyzer did not run: {reason}."
        return "The analyzer found nothing to report."

    def xact_age(self, row: dict[str, Any]) -> float | None:
        """Seconds a session's transaction had been open at the capture."""
        age = fmt.number(row.get("xact_age_s"))
        if age is not None:
            return age
        return fmt.age(row.get("xact_start"), self.now)[1]

    def current_database(self) -> dict[str, Any] | None:
        name = self.snap.server.get("database")
        for row in self.snap.rows("database"):
            if row.get("datname") == name:
                return row
        return None
