"""Small pieces every section uses: cells, names, finding order and anchors."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from typing import Any

from pgtune_hx.report import format as fmt
from pgtune_hx.report.model import Cell, Column, FindingCard, Table

SEVERITIES = ("critical", "warning", "info")
_SEVERITY_ORDER = {"critical": 3, "warning": 2, "info": 1}
MAX_ROWS = 200


def text(value: Any) -> str:
    """
    >>> text(None), text(True), text(0.123456), text({"b": 1, "a": [2]})
    ('', 'yes', '0.1235', '{"a": [2], "b": 1}')
    """
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True, default=str)
    return str(value)


def qname(schema: Any, name: Any) -> str:
    return f"{schema}.{name}" if schema not in (None, "") else text(name)


def slug(value: str) -> str:
    """
    >>> slug("index.unused: public.t")
    'index-unused-public-t'
    """
    return re.sub(r"[^a-z0-9]+", "-", value.lower()).strip("-")[:80] or "x"


def num_cell(value: Any, render: Callable[[Any], str] = fmt.count) -> Cell:
    number = fmt.number(value)
    return Cell(
        render(value) if number is not None else "",
        sort=number if number is not None else -1.0,
        kind="num",
    )


def text_cell(value: Any, kind: str = "") -> Cell:
    shown = text(value)
    return Cell(shown, sort=shown.lower(), kind=kind)


def sql_cell(value: Any, width: int = 160) -> Cell:
    """Statement text on one line; a long one is cut, with the whole text under it."""
    full = " ".join(text(value).split())
    short = full if len(full) <= width else full[: width - 1] + "…"
    return Cell(short, sort=full.lower(), kind="sql", detail=full if short != full else None)


def severity_cell(severity: str) -> Cell:
    return Cell(severity, sort=float(_SEVERITY_ORDER.get(severity, 0)), kind=f"sev sev-{severity}")


def ratio_cell(part: Any, whole: Any) -> Cell:
    a, b = fmt.number(part), fmt.number(whole)
    if a is None or not b:
        return Cell("", -1.0, "num")
    return num_cell(a / b, fmt.percent)


def times_cell(value: Any) -> Cell:
    """A speed-up factor."""
    return num_cell(value, lambda v: f"{fmt.number(v) or 0:.1f}x")


def cut(rows: list[list[Cell]], limit: int = MAX_ROWS) -> tuple[list[list[Cell]], int | None]:
    """The first ``limit`` rows and the total before the cut (None when nothing was cut)."""
    return (rows[:limit], len(rows)) if len(rows) > limit else (rows, None)


def finding_order(f: dict[str, Any]) -> tuple[int, float, str, str]:
    """The analyzer's order: most severe, then largest impact, then stable by rule and object."""
    return (
        -_SEVERITY_ORDER.get(str(f.get("severity")), 0),
        -(fmt.number(f.get("impact")) or 0.0),
        text(f.get("rule_id")),
        text(f.get("object")),
    )


def finding_anchor(f: dict[str, Any]) -> str:
    """The anchor of a finding's card; ReportContext.anchor makes repeats unique."""
    return "f-" + slug(f"{f.get('rule_id')}-{f.get('object') or ''}")


Anchor = Callable[[dict[str, Any]], str]


def evidence_value(key: str, value: Any) -> str:
    """Evidence numbers in their units, by the key's suffix (docs/snapshot.md conventions)."""
    if isinstance(value, bool) or value is None:
        return text(value)
    if isinstance(value, int | float):
        if key.endswith("_bytes"):
            return fmt.size(value)
        if key.endswith("_ms"):
            return fmt.millis(value)
        if key.endswith("_s"):
            return fmt.seconds(value)
        if key.endswith(("_ratio", "_fraction", "_share")):
            return fmt.percent(value, 2)
        return f"{value:,}" if isinstance(value, int) else f"{value:,.4g}"
    return text(value)


def finding_card(f: dict[str, Any], anchor: Anchor = finding_anchor) -> FindingCard:
    evidence = f.get("evidence") or {}
    return FindingCard(
        severity=text(f.get("severity")),
        rule_id=text(f.get("rule_id")),
        title=text(f.get("title")),
        object=None if f.get("object") is None else text(f.get("object")),
        evidence=[(str(k), evidence_value(str(k), v)) for k, v in sorted(evidence.items())],
        fix=None if f.get("fix") is None else text(f.get("fix")),
        fix_kind=None if f.get("fix_kind") is None else text(f.get("fix_kind")),
        confidence=text(f.get("confidence")),
        doc=text(f.get("doc")),
        anchor=anchor(f),
    )


def findings_table(
    table_id: str,
    title: str,
    findings: Iterable[dict[str, Any]],
    empty: str = "None.",
    anchor: Anchor = finding_anchor,
) -> Table:
    """Findings as rows linking to their cards in the findings section."""
    ordered = sorted(findings, key=finding_order)
    return Table(
        table_id,
        title,
        [Column("severity"), Column("rule"), Column("object"), Column("finding"), Column("fix")],
        [
            [
                severity_cell(text(f.get("severity"))),
                text_cell(f.get("rule_id"), "code"),
                text_cell(f.get("object"), "code"),
                Cell(text(f.get("title")), text(f.get("title")).lower(), href=anchor(f)),
                sql_cell(f.get("fix"), 200) if f.get("fix") else text_cell(""),
            ]
            for f in ordered
        ],
        empty,
    )
