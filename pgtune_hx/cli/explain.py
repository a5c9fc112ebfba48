"""`pgtune-hx explain`: a plan as a tree with exclusive times, and what is wrong in it."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table
from rich.text import Text
from rich.tree import Tree

from pgtune_hx.cli.common import (
    DsnOption,
    FormatOption,
    OutputFormat,
    emit_json,
    err,
    open_connection,
    out,
)
from pgtune_hx.errors import InvalidInputFile, UsageError

METHODS = {
    "plain": "EXPLAIN",
    "generic_plan": "EXPLAIN (GENERIC_PLAN): parameters left open",
    "prepared_generic": "generic plan of a prepared statement (plan_cache_mode=force_generic_plan)",
    "analyze": "EXPLAIN ANALYZE (read-only session)",
    "analyze_rolled_back": "EXPLAIN ANALYZE inside a transaction that was rolled back",
    "file": "plan file",
}
SEVERITY_STYLE = {"critical": "bold red", "warning": "yellow", "info": "cyan"}


def register(app: typer.Typer) -> None:
    app.command("explain")(explain_command)


def explain_command(
    ctx: typer.Context,
    statement: Annotated[
        str | None,
        typer.Argument(help="SQL to plan ('-' reads it from stdin); $n parameters allowed."),
    ] = None,
    plan_file: Annotated[
        Path | None,
        typer.Option("--plan-file", help="EXPLAIN (FORMAT JSON) output to read instead."),
    ] = None,
    analyze: Annotated[
        bool, typer.Option("--analyze", help="run the statement (EXPLAIN ANALYZE, BUFFERS)")
    ] = False,
    allow_writes: Annotated[
        bool,
        typer.Option(
            "--allow-writes",
            help="with --analyze: also run statements that may write, in a rolled-back transaction",
        ),
    ] = False,
    dsn: DsnOption = None,
    fmt: FormatOption = OutputFormat.text,
) -> None:
    """Plan a statement (or read a plan file) and flag the known anti-patterns."""
    from pgtune_hx.analyze.plan import load_plan
    from pgtune_hx.analyze.plan_findings import plan_findings

    if (statement is None) == (plan_file is None):
        raise UsageError("give either a SQL statement or --plan-file, not both or neither")
    if plan_file is not None:
        if analyze or allow_writes:
            raise UsageError("--analyze and --allow-writes need a SQL statement, not a plan file")
        try:
            text = plan_file.read_bytes()
        except OSError as exc:
            raise InvalidInputFile(f"cannot read {plan_file}: {exc.strerror}") from None
        plan = load_plan(text, source=str(plan_file))
        method = "file"
        source = str(plan_file)
    else:
        from pgtune_hx.analyze.explain import explain

        assert statement is not None
        sql_text = sys.stdin.read() if statement == "-" else statement
        writable = analyze and allow_writes
        if writable:
            err.print(
                "--allow-writes: a statement that writes runs inside a transaction "
                "that is rolled back"
            )
        with open_connection(ctx, dsn, read_only=not writable) as conn:
            result = explain(conn, sql_text, analyze=analyze, allow_writes=allow_writes)
        plan = result.plan
        method = result.method
        source = "statement"
    findings = plan_findings(plan)
    if fmt is OutputFormat.json:
        emit_json(
            {
                "source": source,
                "method": method,
                "plan": plan.to_dict(),
                "findings": [f.to_dict() for f in findings],
            }
        )
        return
    _render(plan, findings, method)


def _render(plan: Any, findings: list[Any], method: str) -> None:
    head = [METHODS.get(method, method), f"total cost {plan.total_cost:,.2f}"]
    if plan.planning_ms is not None:
        head.append(f"planning {plan.planning_ms:,.3f} ms")
    if plan.execution_ms is not None:
        head.append(f"execution {plan.execution_ms:,.3f} ms")
    jit = plan.jit_total_ms()
    if jit is not None:
        head.append(f"JIT {jit:,.1f} ms")
    total = plan.total_ms
    flagged = {f.node_id: f.severity for f in findings if f.node_id is not None}
    tree = Tree(Text(" | ".join(head), style="bold"))
    stack: list[tuple[Any, Tree]] = [(plan.root, tree)]
    while stack:
        node, parent = stack.pop()
        branch = parent.add(_node_text(node, total, flagged.get(node.id)))
        for child in reversed(node.children):
            stack.append((child, branch))
    out.print(tree)
    if not findings:
        out.print("no findings")
        return
    table = Table(title="findings", show_lines=False)
    table.add_column("severity")
    table.add_column("finding")
    table.add_column("node", justify="right")
    table.add_column("what")
    for f in findings:
        table.add_row(
            Text(f.severity, style=SEVERITY_STYLE.get(f.severity, "")),
            f.code,
            "" if f.node_id is None else f"#{f.node_id}",
            escape(f.message),
        )
    out.print(table)


def _node_text(node: Any, total: float | None, severity: str | None) -> Text:
    text = Text(f"#{node.id} ", style="dim")
    text.append(node.label, style="bold " + SEVERITY_STYLE.get(severity or "", ""))
    parts = [f"cost {node.total_cost:,.2f} (own {node.exclusive_cost:,.2f})"]
    if node.actual_rows is not None:
        parts.append(f"rows {node.plan_rows:,.0f} est / {node.actual_rows:,.0f} actual")
        if node.loops and node.loops > 1:
            parts.append(f"x{node.loops:,} loops")
        if node.loops == 0:
            parts.append("never executed")
    else:
        parts.append(f"rows {node.plan_rows:,.0f} est")
    if node.exclusive_ms is not None:
        share = f" {node.exclusive_ms / total:.0%}" if total else ""
        parts.append(f"own {node.exclusive_ms:,.3f} ms{share}")
    text.append("  " + ", ".join(parts))
    detail = node.text("Index Cond") or node.text("Filter") or node.text("Hash Cond")
    if detail:
        text.append(f"  {detail}", style="dim")
    return text
