"""A recommendation as a conf.d drop-in, ALTER SYSTEM statements, JSON, or tables.

Only settings whose current value is more than 10% away from the
recommendation are written; the JSON keeps every setting with ``change``
telling which. Reasons become comments, never part of a value.
"""

from __future__ import annotations

from typing import Any

from psycopg import sql
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from pgtune_hx.tune.recommend import Recommendation
from pgtune_hx.tune.sizes import human_size

JSON_FORMAT = "pgtune_hx.tune"
JSON_VERSION = 1


def _quote(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _header(rec: Recommendation, comment: str) -> list[str]:
    i = rec.inputs
    src = i.sources
    b = rec.budget
    lines = [
        f"pgtune_hx recommendation for {rec.target}",
        f"hardware: {human_size(i.memory_bytes)} RAM ({src.get('memory', '?')}), "
        f"{i.cpus} CPUs ({src.get('cpus', '?')}), {i.storage} ({src.get('storage', '?')}); "
        f"workload {i.workload}",
        f"memory budget: {human_size(b.total_bytes)} of {human_size(b.limit_bytes)} "
        f"(80% of RAM) worst case",
    ]
    if rec.restart_needed:
        lines.append("needs a restart: " + ", ".join(rec.restart_needed))
    return [f"{comment} {line}" for line in lines]


def conf(rec: Recommendation) -> str:
    """A drop-in for conf.d (include_dir) or include; later files win."""
    lines = _header(rec, "#")
    lines.append("")
    for change in rec.changes:
        restart = " [restart]" if change.restart else ""
        lines.append(f"# {change.reason}{restart}")
        if change.note:
            lines.append(f"# note: {change.note}")
        lines.append(f"{change.name} = {_quote(change.recommended)}")
    if not rec.changes:
        lines.append("# nothing to change: every setting is within 10% of the recommendation")
    return "\n".join(lines) + "\n"


def alter_system(rec: Recommendation) -> str:
    """ALTER SYSTEM statements (values quoted by psycopg) and the reload."""
    lines = _header(rec, "--")
    lines.append("")
    for change in rec.changes:
        stmt = sql.SQL("ALTER SYSTEM SET {} = {};").format(
            sql.Identifier(change.name), sql.Literal(change.recommended)
        )
        restart = "  -- needs a restart" if change.restart else ""
        lines.append(stmt.as_string(None) + restart)
    lines.append("SELECT pg_reload_conf();")
    return "\n".join(lines) + "\n"


def to_json(rec: Recommendation) -> dict[str, Any]:
    """Stable fields: settings[].{name,current,recommended,unit,restart,reason} and more."""
    return {"format": JSON_FORMAT, "format_version": JSON_VERSION, **rec.to_dict()}


def diff_table(rec: Recommendation) -> Table:
    table = Table(title=f"settings: {rec.target}", title_justify="left", expand=False)
    table.add_column("setting", style="bold", no_wrap=True, min_width=12)
    table.add_column("current", overflow="fold", min_width=6)
    table.add_column("recommended", style="green", no_wrap=True, min_width=6)
    table.add_column("restart", no_wrap=True, min_width=7)
    table.add_column("reason", overflow="fold", ratio=1, min_width=20)
    for change in rec.changes:
        reason = change.reason + (f" ({change.note})" if change.note else "")
        table.add_row(
            change.name,
            change.current or "-",
            change.recommended,
            "yes" if change.restart else "",
            Text(reason, style="yellow" if change.source == "evidence" else ""),
        )
    return table


def budget_table(rec: Recommendation) -> Table:
    b = rec.budget
    table = Table(title="memory budget (worst case the model allows)", title_justify="left")
    table.add_column("item", style="bold", no_wrap=True)
    table.add_column("recommended", justify="right", no_wrap=True)
    if rec.current_budget is not None:
        table.add_column("current settings", justify="right", no_wrap=True)
    table.add_column("formula", overflow="fold")
    current = {line.item: line for line in rec.current_budget.lines} if rec.current_budget else {}
    for line in b.lines:
        row = [line.item, human_size(line.bytes)]
        if rec.current_budget is not None:
            row.append(human_size(current[line.item].bytes) if line.item in current else "-")
        row.append(line.formula)
        table.add_row(*row)
    total = [
        "total",
        f"{human_size(b.total_bytes)} ({b.share_of_ram:.0%} of RAM)",
    ]
    if rec.current_budget is not None:
        cb = rec.current_budget
        total.append(f"{human_size(cb.total_bytes)} ({cb.share_of_ram:.0%} of RAM)")
    total.append(
        f"limit {human_size(b.limit_bytes)} = 80% of {human_size(b.ram_bytes)}: "
        + ("holds" if b.holds else "EXCEEDED")
    )
    table.add_row(*total, style="bold")
    return table


def evidence_table(rec: Recommendation) -> Table | None:
    if not rec.evidence:
        return None
    table = Table(title="evidence from the server's statistics", title_justify="left")
    table.add_column("topic", style="bold", no_wrap=True)
    table.add_column("seen", overflow="fold")
    table.add_column("effect", overflow="fold")
    for item in rec.evidence:
        table.add_row(item.topic, item.observed, item.effect)
    return table


def report(rec: Recommendation) -> RenderableType:
    """Everything a person reads: budget, evidence, diff, notes, extras."""
    parts: list[RenderableType] = [Text(line.lstrip("# ")) for line in _header(rec, "#")[:2]]
    parts.append(budget_table(rec))
    evidence = evidence_table(rec)
    if evidence is not None:
        parts.append(evidence)
    parts.append(diff_table(rec))
    unchanged = [s.name for s in rec.settings if not s.change]
    if unchanged:
        parts.append(Text("within 10%, unchanged: " + ", ".join(unchanged), style="dim"))
    if rec.restart_needed:
        parts.append(Text("needs a restart: " + ", ".join(rec.restart_needed), style="bold"))
    hp = rec.huge_pages
    if hp.get("vm_nr_hugepages"):
        parts.append(
            Text(
                f"huge pages: {hp['sysctl']} for "
                f"{human_size(hp['recommended_shared_memory_bytes'])} of shared memory "
                f"({hp['source']})"
            )
        )
    for line in rec.spilling_statements:
        parts.append(Text("spills: " + line, style="dim"))
    for note in rec.notes + [f"skipped: {s}" for s in rec.skipped]:
        parts.append(Text("note: " + note, style="dim"))
    if rec.pgbouncer_ini:
        parts.append(Text("suggested pgbouncer.ini:", style="bold"))
        parts.append(Text(rec.pgbouncer_ini))
    return Group(*parts)
