"""Everything the toolkit concludes from snapshots, in one call, for the report
and the demo: the analyzer's findings, the index advisor's suggestions and plan
findings, the tuner's recommendation.

Each producer that cannot run (no live connection for the advisor, say) leaves
its result ``None`` and a reason in ``missing``; the others still run. Results are
kept as the producers' documented dictionaries (``to_dict()``), which is what the
report and ``--format json`` consume.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pgtune_hx.analyze.engine import analyze
from pgtune_hx.collect.model import Snapshot
from pgtune_hx.db import Connection


@dataclass
class Assessment:
    findings: list[dict[str, Any]] | None = None
    suggestions: list[dict[str, Any]] | None = None
    plan_findings: dict[str, list[dict[str, Any]]] | None = None
    tuning: dict[str, Any] | None = None
    missing: dict[str, str] = field(default_factory=dict)
    raw: dict[str, Any] = field(default_factory=dict)  # the producers' own objects

    def to_dict(self) -> dict[str, Any]:
        return {
            "findings": self.findings,
            "suggestions": self.suggestions,
            "plan_findings": self.plan_findings,
            "tuning": self.tuning,
            "missing": self.missing,
        }


def assess(
    snapshot: Snapshot,
    since: Snapshot | None = None,
    conn: Connection | None = None,
    thresholds: dict[str, Any] | None = None,
) -> Assessment:
    """Run the analyzer (always), and the advisor and tuner where they can run.

    ``conn`` is a guarded, read-only connection to the database the snapshot was
    taken from; without it the parts that need the live server are skipped.
    ``thresholds`` override the analyzer's rule thresholds (see docs/rules/).
    """
    result = Assessment()
    findings = analyze(snapshot, since, **(thresholds or {}))
    result.raw["findings"] = findings
    result.findings = [f.to_dict() for f in findings]
    result.missing["advisor"] = "the index advisor is not available in this build"
    result.missing["plans"] = "plan analysis is not available in this build"
    result.missing["tuner"] = "the settings tuner is not available in this build"
    return result
