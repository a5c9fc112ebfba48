"""What the analyzer hands to every presentation: findings.

A finding is one thing a DBA should act on: which rule found it, how bad it is,
on which object, the numbers that triggered it (``evidence``, always taken from
the snapshot), the exact SQL or configuration line that fixes it, and how sure
we are. ``to_dict`` gives the stable JSON shape of docs/findings-schema.json.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

from pgtune_hx.errors import UsageError

FIX_KINDS = ("sql", "config", "action")
CONFIDENCES = ("high", "medium", "low")


class Severity(IntEnum):
    """Ordered: info < warning < critical; ``str()`` and JSON use the name."""

    info = 1
    warning = 2
    critical = 3

    def __str__(self) -> str:
        return self.name

    @classmethod
    def parse(cls, text: str | Severity) -> Severity:
        """'warning' -> Severity.warning; anything else is a UsageError.

        >>> Severity.parse("Critical")
        <Severity.critical: 3>
        """
        if isinstance(text, Severity):
            return text
        try:
            return cls[str(text).strip().lower()]
        except KeyError:
            names = ", ".join(s.name for s in cls)
            raise UsageError(f"unknown severity {text!r} (one of: {names})") from None


@dataclass(frozen=True)
class Finding:
    rule_id: str
    severity: Severity
    title: str
    object: str | None
    evidence: dict[str, Any] = field(default_factory=dict)
    fix: str | None = None
    fix_kind: str | None = None
    # A rule-specific, comparable size of the problem (bytes wasted, seconds
    # spent, fraction of a limit used ...), used to order findings of equal
    # severity; larger first.
    impact: float = 0.0
    confidence: str = "high"
    doc: str = ""

    def __post_init__(self) -> None:
        if self.fix_kind is not None and self.fix_kind not in FIX_KINDS:
            raise ValueError(f"fix_kind must be one of {FIX_KINDS}, got {self.fix_kind!r}")
        if self.confidence not in CONFIDENCES:
            raise ValueError(f"confidence must be one of {CONFIDENCES}, got {self.confidence!r}")

    def sort_key(self) -> tuple[int, float, str, str]:
        """Most severe first, then largest impact, then stable by rule and object."""
        return (-int(self.severity), -self.impact, self.rule_id, self.object or "")

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule_id": self.rule_id,
            "severity": self.severity.name,
            "title": self.title,
            "object": self.object,
            "evidence": self.evidence,
            "fix": self.fix,
            "fix_kind": self.fix_kind,
            "impact": self.impact,
            "confidence": self.confidence,
            "doc": self.doc,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Finding:
        return cls(
            rule_id=str(data["rule_id"]),
            severity=Severity.parse(data["severity"]),
            title=str(data["title"]),
            object=data.get("object"),
            evidence=dict(data.get("evidence") or {}),
            fix=data.get("fix"),
            fix_kind=data.get("fix_kind"),
            impact=float(data.get("impact") or 0.0),
            confidence=str(data.get("confidence") or "high"),
            doc=str(data.get("doc") or ""),
        )
