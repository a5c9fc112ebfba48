"""The report's view model: plain data the templates only lay out.

Everything a template shows is decided here or upstream: texts are formatted,
rows are ordered, sort keys are set, severities come from the analyzer and
recommendations from the tuner. Templates never compute a verdict.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

FILTER_FROM_ROWS = 8


@dataclass(frozen=True)
class Cell:
    text: str
    # the value the table sorts by (numbers sort as numbers); None: sort by text
    sort: float | str | None = None
    # css classes: "num", "code", "sql", "sev-critical", "muted", ...
    kind: str = ""
    # long content (a whole statement) shown in a <details> under the text
    detail: str | None = None
    # an in-page anchor (a finding's id) the text links to
    href: str | None = None


@dataclass(frozen=True)
class Column:
    label: str
    numeric: bool = False
    help: str | None = None


@dataclass
class Table:
    id: str
    title: str
    columns: list[Column]
    rows: list[list[Cell]]
    empty: str = "Nothing to show."
    note: str | None = None
    total: int | None = None  # rows before the cut, when only the top rows are shown
    kind: str = "table"

    @property
    def shown(self) -> int:
        return len(self.rows)

    @property
    def filterable(self) -> bool:
        """A filter box only where there is something to search through."""
        return len(self.rows) > FILTER_FROM_ROWS


@dataclass
class KeyValues:
    id: str
    title: str
    items: list[tuple[str, str]]
    kind: str = "kv"


@dataclass
class Chart:
    id: str
    title: str
    svg: str  # inline SVG from charts.py (matplotlib escapes its own text)
    caption: str = ""
    kind: str = "chart"


@dataclass
class Tile:
    """One number in the health-at-a-glance strip; ``level`` comes from the analyzer."""

    label: str
    value: str
    detail: str = ""
    level: str = ""  # "", "info", "warning", "critical"


@dataclass
class Tiles:
    id: str
    title: str
    tiles: list[Tile]
    kind: str = "tiles"


@dataclass
class FindingCard:
    severity: str
    rule_id: str
    title: str
    object: str | None
    evidence: list[tuple[str, str]]
    fix: str | None
    fix_kind: str | None
    confidence: str
    doc: str
    anchor: str


@dataclass
class FindingGroup:
    id: str
    title: str
    severity: str
    findings: list[FindingCard]
    kind: str = "findings"


@dataclass
class Notes:
    id: str
    title: str
    items: list[str]
    kind: str = "notes"


Block = Table | KeyValues | Chart | Tiles | FindingGroup | Notes


@dataclass
class Section:
    id: str
    title: str
    summary: str
    blocks: list[Block] = field(default_factory=list)
    open: bool = True


@dataclass
class Report:
    title: str
    subtitle: str
    sources: list[str]
    sections: list[Section]
    anonymized: bool = False
    meta: dict[str, Any] = field(default_factory=dict)

    def section(self, section_id: str) -> Section:
        for section in self.sections:
            if section.id == section_id:
                return section
        raise KeyError(section_id)
