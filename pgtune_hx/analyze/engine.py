"""Run the registered rules over a snapshot (or the interval between two).

``analyze(snapshot, since=None, **thresholds)`` returns findings sorted by
severity, then impact. With ``since`` the counters of both snapshots are
subtracted (analyze.interval, on top of collect.diff) and rules that look at
activity see the interval, not the whole life of the statistics.

Threshold overrides are keyword arguments: a plain name (``min_size_bytes``)
applies to every rule that has that threshold; ``"<rule id>:<name>"`` applies
to one rule. An unknown name is a UsageError, so a typo never silently keeps
the default.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, TypeVar

from pgtune_hx.analyze.common import seconds_between, setting_base
from pgtune_hx.analyze.findings import Finding, Severity
from pgtune_hx.analyze.interval import Interval
from pgtune_hx.analyze.registry import Rule, select_rules
from pgtune_hx.collect.model import Snapshot
from pgtune_hx.errors import UsageError

T = TypeVar("T")


@dataclass
class Context:
    """What a rule sees: the snapshot, the earlier one if any, and helpers."""

    snapshot: Snapshot
    since: Snapshot | None = None
    rule: Rule | None = None
    notes: list[str] = field(default_factory=list)
    _cache: dict[str, Any] = field(default_factory=dict, repr=False)

    def cache(self, key: str, build: Callable[[], T]) -> T:
        """Work several rules share (an index grouping, a lookup) is done once."""
        if key not in self._cache:
            self._cache[key] = build()
        result: T = self._cache[key]
        return result

    @cached_property
    def interval(self) -> Interval | None:
        """Counters over the interval (None with one snapshot)."""
        return None if self.since is None else Interval(self.since, self.snapshot)

    @property
    def interval_s(self) -> float | None:
        """Seconds between the two snapshots; None with one snapshot."""
        return None if self.interval is None else self.interval.seconds

    @property
    def now(self) -> dt.datetime:
        """The moment the (later) snapshot was taken; ages are measured to it."""
        return self.snapshot.captured

    @cached_property
    def settings(self) -> dict[str, dict[str, Any]]:
        return {str(r["name"]): r for r in self.snapshot.rows("settings")}

    def setting(self, name: str) -> str | None:
        row = self.settings.get(name)
        return None if row is None else row.get("setting")

    def setting_base(self, name: str) -> float | None:
        """A setting in base units (bytes, milliseconds), None when not visible."""
        return setting_base(self.settings.get(name))

    def setting_on(self, name: str) -> bool | None:
        value = self.setting(name)
        return None if value is None else value == "on"

    @property
    def database(self) -> str | None:
        name = self.snapshot.server.get("database")
        return None if name is None else str(name)

    @cached_property
    def database_row(self) -> dict[str, Any] | None:
        """The pg_stat_database row of the database the snapshot was taken in."""
        for row in self.snapshot.rows("database"):
            if row.get("is_current") or row.get("datname") == self.database:
                return row
        return None

    @cached_property
    def stats_age_s(self) -> float | None:
        """Seconds since this database's statistics were reset (None: never reset)."""
        resets = self.snapshot.server.get("stats_reset") or {}
        reset = resets.get("database") or (self.database_row or {}).get("stats_reset")
        return seconds_between(reset, self.now)

    def counters(self, name: str) -> list[dict[str, Any]]:
        """Rows of a section; with ``since``, cumulative counters are the interval's
        deltas, and objects whose counters cannot be compared are left out."""
        if self.interval is None:
            return self.snapshot.rows(name)
        return self.interval.rows(name)

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


@dataclass(frozen=True)
class Analysis:
    """The findings plus what was run and what could not be."""

    findings: list[Finding]
    rules_run: list[str]
    rules_skipped: dict[str, str]  # rule id -> why (a missing snapshot section)
    interval_s: float | None
    notes: list[str] = field(default_factory=list)  # resets, restarts in the interval

    def counts(self) -> dict[str, int]:
        counts = {s.name: 0 for s in Severity}
        for f in self.findings:
            counts[f.severity.name] += 1
        return counts

    def at_or_above(self, level: Severity) -> list[Finding]:
        return [f for f in self.findings if f.severity >= level]


def run(
    snapshot: Snapshot,
    since: Snapshot | None = None,
    *,
    rules: list[str] | None = None,
    **thresholds: Any,
) -> Analysis:
    """Run the selected rules (all by default) and say which could not run."""
    selected = select_rules(rules)
    overrides = _split_overrides(selected, thresholds)
    ctx = Context(snapshot=snapshot, since=since)
    if ctx.interval is not None:
        # compare now: different servers or a reversed pair is a UsageError
        ctx.interval.diff  # noqa: B018
    findings: list[Finding] = []
    ran: list[str] = []
    skipped: dict[str, str] = {}
    for r in selected:
        missing = [name for name in r.requires if not snapshot.has(name)]
        if missing:
            reasons = [f"{name}: {snapshot.section(name).error}" for name in missing]
            skipped[r.id] = "; ".join(reasons)
            continue
        ctx.rule = r
        findings.extend(r.run(ctx, overrides[r.id]))
        ran.append(r.id)
    ctx.rule = None
    findings.sort(key=Finding.sort_key)
    notes = list(ctx.interval.notes) if ctx.interval is not None else []
    return Analysis(findings, ran, skipped, ctx.interval_s, notes)


def analyze(
    snapshot: Snapshot,
    since: Snapshot | None = None,
    *,
    rules: list[str] | None = None,
    **thresholds: Any,
) -> list[Finding]:
    """Findings of the selected rules (all by default), most severe and largest first."""
    return run(snapshot, since, rules=rules, **thresholds).findings
