"""Run the registered rules over a snapshot (or the interval between two).

``analyze(snapshot, since=None, **thresholds)`` returns findings sorted by
severity, then impact. With ``since`` the counters of both snapshots are
subtracted (collect.diff) and rules that look at activity see the interval,
not the whole life of the statistics.

Threshold overrides are keyword arguments: a plain name (``min_size_bytes``)
applies to every rule that has that threshold; ``"<rule id>:<name>"`` applies
to one rule. An unknown name is a UsageError, so a typo never silently keeps
the default.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from pgtune_hx.analyze.findings import Finding, Severity
from pgtune_hx.analyze.registry import Rule, select_rules
from pgtune_hx.collect.model import Snapshot
from pgtune_hx.errors import UsageError


@dataclass
class Context:
    """What a rule sees: the snapshot, the earlier one if any, and helpers."""

    snapshot: Snapshot
    since: Snapshot | None = None
    rule: Rule | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def interval_s(self) -> float | None:
        """Seconds between the two snapshots; None with one snapshot."""
        if self.since is None:
            return None
        return (self.snapshot.captured - self.since.captured).total_seconds()

    @cached_property
    def settings(self) -> dict[str, dict[str, Any]]:
        return {str(r["name"]): r for r in self.snapshot.rows("settings")}

    def setting(self, name: str) -> str | None:
        row = self.settings.get(name)
        return None if row is None else row.get("setting")

    def finding(
        self,
        *,
        object: str | None,
        evidence: dict[str, Any],
        fix: str | None = None,
        fix_kind: str | None = None,
        impact: float = 0.0,
        confidence: str = "high",
        severity: Severity | None = None,
        title: str | None = None,
    ) -> Finding:
        """A finding of the running rule; severity and title default to the rule's."""
        assert self.rule is not None, "finding() is for use inside a rule"
        return Finding(
            rule_id=self.rule.id,
            severity=severity if severity is not None else self.rule.severity,
            title=title or self.rule.title,
            object=object,
            evidence=evidence,
            fix=fix,
            fix_kind=fix_kind,
            impact=float(impact),
            confidence=confidence,
            doc=self.rule.doc,
        )


def _split_overrides(rules: list[Rule], thresholds: dict[str, Any]) -> dict[str, dict[str, Any]]:
    per_rule: dict[str, dict[str, Any]] = {r.id: {} for r in rules}
    by_id = {r.id: r for r in rules}
    for key, value in thresholds.items():
        if ":" in key:
            rule_id, name = key.split(":", 1)
            target = by_id.get(rule_id)
            if target is None or name not in target.thresholds:
                raise UsageError(f"unknown threshold {key!r}")
            per_rule[rule_id][name] = value
            continue
        matched = [r for r in rules if key in r.thresholds]
        if not matched:
            raise UsageError(f"unknown threshold {key!r} (see docs/rules/index.md)")
        for r in matched:
            per_rule[r.id][key] = value
    return per_rule


def analyze(
    snapshot: Snapshot,
    since: Snapshot | None = None,
    *,
    rules: list[str] | None = None,
    **thresholds: Any,
) -> list[Finding]:
    """Findings of the selected rules (all by default), most severe and largest first."""
    if since is not None and since.captured >= snapshot.captured:
        raise UsageError(
            f"--since snapshot ({since.captured_at}) is not older than the snapshot "
            f"({snapshot.captured_at})"
        )
    selected = select_rules(rules)
    overrides = _split_overrides(selected, thresholds)
    ctx = Context(snapshot=snapshot, since=since)
    findings: list[Finding] = []
    for r in selected:
        if any(not snapshot.has(name) for name in r.requires):
            continue
        ctx.rule = r
        findings.extend(r.run(ctx, overrides[r.id]))
    ctx.rule = None
    findings.sort(key=Finding.sort_key)
    return findings


def now_utc() -> dt.datetime:
    return dt.datetime.now(dt.UTC)
