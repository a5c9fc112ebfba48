"""`pgtune-hx analyze`: findings with evidence and fixes, from a live server or snapshot files."""

from __future__ import annotations

import re
import sys
import time
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Group
from rich.panel import Panel
from rich.syntax import Syntax
from rich.table import Table
from rich.text import Text

from pgtune_hx.cli.common import DsnOption, emit_json, err, open_connection, out
from pgtune_hx.db import redact
from pgtune_hx.errors import ThresholdExceeded, UsageError

if TYPE_CHECKING:
    from pgtune_hx.analyze.engine import Analysis
    from pgtune_hx.analyze.findings import Finding
    from pgtune_hx.collect.model import Snapshot


class AnalyzeFormat(StrEnum):
    text = "text"
    json = "json"
    markdown = "markdown"


class Level(StrEnum):
    info = "info"
    warning = "warning"
    critical = "critical"


STYLE = {"critical": "bold red", "warning": "yellow", "info": "cyan"}


def register(app: typer.Typer) -> None:
    app.command("analyze")(analyze)


_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(B|kB|MB|GB|TB)\s*$", re.IGNORECASE)
_FACTORS = {"b": 1, "kb": 1024, "mb": 1024**2, "gb": 1024**3, "tb": 1024**4}


def parse_threshold(text: str) -> tuple[str, Any]:
    """'min_size_bytes=1MB' -> ('min_size_bytes', 1048576); a rule id may prefix
    the name: 'index.unused:min_size_bytes=0'.

    >>> parse_threshold("min_share=0.2")
    ('min_share', 0.2)
    >>> parse_threshold("index.unused:min_size_bytes=1MB")
    ('index.unused:min_size_bytes', 1048576)
    """
    name, sep, raw = text.partition("=")
    name, raw = name.strip(), raw.strip()
    if not sep or not name or not raw:
        raise UsageError(f"--threshold expects NAME=VALUE, got {text!r}")
    for convert in (int, float):
        try:
            return name, convert(raw)
        except ValueError:
            pass
    size = _SIZE.match(raw)
    if size:
        return name, int(float(size.group(1)) * _FACTORS[size.group(2).lower()])
    if raw.lower() in ("true", "false", "on", "off"):
        return name, raw.lower() in ("true", "on")
    raise UsageError(f"--threshold {name}: expected a number or a size like 64MB, got {raw!r}")


def _take(ctx: typer.Context, dsn: str | None, label: str) -> Snapshot:
    from pgtune_hx.collect import collect_snapshot

    with (
        err.status(f"taking {label} snapshot ...") as status,
        open_connection(ctx, dsn) as conn,
    ):
        return collect_snapshot(
            conn, progress=lambda name, _section: status.update(f"{label} snapshot: {name}")
        )


def _snapshots(
    ctx: typer.Context,
    dsn: str | None,
    snapshot_file: Path | None,
    since_file: Path | None,
    interval: float | None,
) -> tuple[Snapshot, Snapshot | None]:
    from pgtune_hx.collect.model import load

    if snapshot_file is not None:
        if dsn is not None:
            raise UsageError("give either --dsn or --snapshot, not both")
        if interval is not None:
            raise UsageError("--interval takes two live snapshots: it needs --dsn, not --snapshot")
        later = load(snapshot_file)
        return later, (load(since_file) if since_file is not None else None)
    if since_file is not None:
        raise UsageError("--since needs --snapshot (the later of the two snapshot files)")
    if interval is None:
        return _take(ctx, dsn, "the"), None
    first = _take(ctx, dsn, "the first")
    with err.status(f"waiting {interval:g} s for the second snapshot ..."):
        time.sleep(interval)
    return _take(ctx, dsn, "the second"), first


def _evidence_table(finding: Finding) -> Table:
    from pgtune_hx.analyze.output import evidence_text

    table = Table(show_header=False, box=None, pad_edge=False, padding=(0, 1))
    table.add_column(style="dim", no_wrap=True)
    table.add_column(overflow="fold")
    for key, value in finding.evidence.items():
        if value is None or value == [] or value == {}:
            continue
        table.add_row(key, evidence_text(value))
    return table


def _print_text(analysis: Analysis, snapshot: Snapshot, since: Snapshot | None) -> None:
    counts = analysis.counts()
    window = (
        f"interval {analysis.interval_s:.0f} s"
        if analysis.interval_s is not None
        else "cumulative statistics"
    )
    out.print(
        Text.assemble(
            ("pgtune-hx analyze", "bold"),
            f"  {snapshot.server.get('server_version')} "
            f"db={snapshot.server.get('database')}  {snapshot.captured_at}  ({window})",
        )
    )
    for finding in analysis.findings:
        style = STYLE[finding.severity.name]
        title = Text.assemble(
            (finding.severity.name.upper(), style),
            " ",
            (finding.rule_id, "bold"),
            "  ",
            finding.object or "",
        )
        parts: list[Any] = [Text(finding.title, style="bold"), _evidence_table(finding)]
        if finding.fix:
            lexer = {"sql": "sql", "config": "ini"}.get(finding.fix_kind or "", "text")
            parts.append(Text(f"fix ({finding.fix_kind}):", style="dim"))
            parts.append(Syntax(finding.fix, lexer, word_wrap=True, theme="ansi_dark"))
        parts.append(Text(f"confidence {finding.confidence} · {finding.doc}", style="dim"))
        out.print(Panel(Group(*parts), title=title, title_align="left", border_style=style))
    for note in analysis.notes:
        err.print(Text(f"note: {note}", style="yellow"))
    for rule_id, reason in sorted(analysis.rules_skipped.items()):
        err.print(Text(f"not run: {rule_id} ({reason})", style="dim"))
    out.print(
        Text.assemble(
            (f"{counts['critical']} critical", STYLE["critical"]),
            ", ",
            (f"{counts['warning']} warning", STYLE["warning"]),
            ", ",
            (f"{counts['info']} info", STYLE["info"]),
            f"  ({len(analysis.rules_run)} rules run)",
        )
    )


def analyze(
    ctx: typer.Context,
    dsn: DsnOption = None,
    snapshot_file: Annotated[
        Path | None,
        typer.Option("--snapshot", help="analyze this snapshot file instead of a live server"),
    ] = None,
    since_file: Annotated[
        Path | None,
        typer.Option(
            "--since",
            help="an earlier snapshot file of the same server: rules use the interval's rates",
        ),
    ] = None,
    interval: Annotated[
        float | None,
        typer.Option(
            "--interval",
            help="live: take a second snapshot after this many seconds and analyze the interval",
            min=0.1,
        ),
    ] = None,
    fmt: Annotated[
        AnalyzeFormat, typer.Option("--format", "-f", help="text, json or markdown")
    ] = AnalyzeFormat.text,
    fail_on: Annotated[
        Level | None,
        typer.Option(
            "--fail-on", help="exit 1 when a finding of this severity or higher is reported"
        ),
    ] = None,
    rules: Annotated[
        list[str] | None,
        typer.Option(
            "--rule",
            help="run only this rule id (repeatable); a topic such as 'index' selects its rules",
        ),
    ] = None,
    thresholds: Annotated[
        list[str] | None,
        typer.Option(
            "--threshold",
            help="override a threshold: NAME=VALUE or RULE_ID:NAME=VALUE (repeatable)",
        ),
    ] = None,
) -> None:
    """Turn a snapshot into findings: evidence, severity and the exact fix.

    Live (--dsn, with --interval for a second snapshot) or from snapshot files
    (--snapshot, with --since for the interval between two). The rules and their
    thresholds: docs/rules/index.md.
    """
    from pgtune_hx.analyze import output
    from pgtune_hx.analyze.engine import run
    from pgtune_hx.analyze.findings import Severity

    overrides = dict(parse_threshold(t) for t in thresholds or [])
    later, earlier = _snapshots(ctx, dsn, snapshot_file, since_file, interval)
    analysis = run(later, earlier, rules=rules, **overrides)
    if fmt is AnalyzeFormat.json:
        emit_json(output.document(analysis, later, earlier))
    elif fmt is AnalyzeFormat.markdown:
        sys.stdout.write(redact(output.markdown(analysis, later, earlier)) + "\n")
        sys.stdout.flush()
    else:
        _print_text(analysis, later, earlier)
    if fail_on is not None:
        failing = analysis.at_or_above(Severity.parse(fail_on.value))
        if failing:
            raise ThresholdExceeded(
                f"{len(failing)} finding(s) at or above {fail_on.value} "
                f"({', '.join(sorted({f.rule_id for f in failing}))})"
            )
