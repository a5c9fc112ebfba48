"""The analysis as a document: JSON (docs/findings-schema.json) and Markdown.

Field names here are a contract with scripts and CI jobs: add fields, never
rename or remove them without raising FORMAT_VERSION.
"""

from __future__ import annotations

import json
from typing import Any

from pgtune_hx import __version__
from pgtune_hx.analyze.engine import Analysis
from pgtune_hx.analyze.findings import Finding
from pgtune_hx.analyze.registry import get_rule
from pgtune_hx.collect.model import Snapshot

FORMAT = "pgtune_hx.findings"
FORMAT_VERSION = 1


def _snapshot_ref(snapshot: Snapshot) -> dict[str, Any]:
    return {
        "captured_at": snapshot.captured_at,
        "server_version": snapshot.server.get("server_version"),
        "server_version_num": snapshot.server.get("server_version_num"),
        "database": snapshot.server.get("database"),
        "connection": snapshot.server.get("connection"),
    }


def document(analysis: Analysis, snapshot: Snapshot, since: Snapshot | None) -> dict[str, Any]:
    """The JSON document of an analysis."""
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "tool_version": __version__,
        "snapshot": _snapshot_ref(snapshot),
        "since": None if since is None else _snapshot_ref(since),
        "interval_s": analysis.interval_s,
        "summary": {**analysis.counts(), "total": len(analysis.findings)},
        "rules_run": list(analysis.rules_run),
        "rules_skipped": [
            {"rule_id": rule_id, "reason": reason}
            for rule_id, reason in sorted(analysis.rules_skipped.items())
        ],
        "notes": list(analysis.notes),
        "findings": [f.to_dict() for f in analysis.findings],
    }


def evidence_text(value: Any) -> str:
    """One evidence value on one line."""
    if isinstance(value, dict | list):
        return json.dumps(value, default=str, separators=(", ", ": "))
    if isinstance(value, float):
        return f"{value:,.4g}" if abs(value) < 1e6 else f"{value:,.0f}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def finding_markdown(finding: Finding) -> list[str]:
    rule = get_rule(finding.rule_id)
    lines = [
        f"### {finding.severity.name.upper()}: {finding.title}",
        "",
        f"- rule: `{finding.rule_id}` ([doc]({finding.doc}), [manual]({rule.manual[0]}))",
        f"- object: `{finding.object}`" if finding.object else "- object: -",
        f"- confidence: {finding.confidence}",
        "",
        "| evidence | value |",
        "|---|---|",
    ]
    for key, value in finding.evidence.items():
        if value is None:
            continue
        lines.append(f"| {_md_cell(key)} | {_md_cell(evidence_text(value))} |")
    if finding.fix:
        language = {"sql": "sql", "config": "ini"}.get(finding.fix_kind or "", "text")
        lines += ["", f"Fix ({finding.fix_kind}):", "", f"```{language}", finding.fix, "```"]
    lines.append("")
    return lines


def markdown(analysis: Analysis, snapshot: Snapshot, since: Snapshot | None) -> str:
    counts = analysis.counts()
    window = (
        f"interval of {analysis.interval_s:.0f} s since {since.captured_at}"
        if since is not None and analysis.interval_s is not None
        else "cumulative statistics"
    )
    lines = [
        "# pgtune-hx analysis",
        "",
        f"Server {snapshot.server.get('server_version')}, database "
        f"`{snapshot.server.get('database')}`, snapshot {snapshot.captured_at} ({window}).",
        "",
        f"{counts['critical']} critical, {counts['warning']} warning, {counts['info']} info; "
        f"{len(analysis.rules_run)} rules run.",
        "",
    ]
    if analysis.notes:
        lines += ["Notes on the interval:", ""]
        lines += [f"- {note}" for note in analysis.notes]
        lines.append("")
    if analysis.rules_skipped:
        lines += ["Rules not run:", ""]
        lines += [f"- `{rid}`: {why}" for rid, why in sorted(analysis.rules_skipped.items())]
        lines.append("")
    lines += ["## Findings", ""]
    if not analysis.findings:
        lines += ["No findings.", ""]
    for finding in analysis.findings:
        lines += finding_markdown(finding)
    return "\n".join(lines)
