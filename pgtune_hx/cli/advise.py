"""`pgtune-hx advise`: verified index suggestions for a workload, and --apply."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from pgtune_hx.cli.common import (
    DsnOption,
    FormatOption,
    OutputFormat,
    emit_json,
    err,
    open_connection,
    out,
    resolve_dsn,
    state,
)
from pgtune_hx.errors import UsageError

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?i?b?)?\s*$", re.IGNORECASE)
_UNITS = {"": 1, "b": 1, "k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4}


def parse_size(text: str) -> int:
    """'512MB', '2GiB', '1g', '1000' (bytes) -> bytes.

    >>> parse_size("512MB"), parse_size("1 GiB"), parse_size("10k")
    (536870912, 1073741824, 10240)
    """
    match = _SIZE.match(text)
    if not match:
        raise UsageError(f"not a size: {text!r} (examples: 512MB, 2GB)")
    unit = (match.group(2) or "").lower()[:1]
    return int(float(match.group(1)) * _UNITS[unit])


def register(app: typer.Typer) -> None:
    app.command("advise")(advise_command)


def advise_command(
    ctx: typer.Context,
    query: Annotated[
        str | None, typer.Option("--query", "-q", help="advise for this one statement")
    ] = None,
    file: Annotated[
        Path | None,
        typer.Option(
            "--file", help="statements from a .sql file (-- weight: ms) or a .json workload"
        ),
    ] = None,
    statements: Annotated[
        bool,
        typer.Option("--statements", help="the database's pg_stat_statements (the default)"),
    ] = False,
    top: Annotated[
        int, typer.Option("--top", min=1, help="pg_stat_statements: this many statements")
    ] = 200,
    apply_: Annotated[
        bool,
        typer.Option("--apply", help="create the suggested indexes CONCURRENTLY, one at a time"),
    ] = False,
    allow_writes: Annotated[
        bool,
        typer.Option(
            "--allow-writes",
            help="without HypoPG: verify by building real indexes in a transaction that is "
            "rolled back (holds a SHARE lock on the table meanwhile)",
        ),
    ] = False,
    max_indexes: Annotated[int, typer.Option("--max-indexes", min=1)] = 10,
    max_size: Annotated[
        str | None,
        typer.Option(
            "--max-size",
            help="cap on the total size, e.g. 2GB (default: the size of the tables involved, "
            "at least 64MB)",
        ),
    ] = None,
    min_improvement: Annotated[
        float,
        typer.Option(
            "--min-improvement",
            min=0.0,
            max=1.0,
            help="a statement's plan must get this much cheaper",
        ),
    ] = 0.2,
    build_timeout: Annotated[
        int,
        typer.Option(
            "--build-timeout", min=0, help="--apply: statement_timeout of each build, ms (0: none)"
        ),
    ] = 3_600_000,
    dsn: DsnOption = None,
    fmt: FormatOption = OutputFormat.text,
) -> None:
    """Suggest indexes for a workload, verified with what-if plans (HypoPG) when possible."""
    from pgtune_hx.advise import workload as wl
    from pgtune_hx.advise.advisor import advise, methods_for
    from pgtune_hx.advise.catalog import Catalog
    from pgtune_hx.advise.select import SelectionRules

    sources = [query is not None, file is not None, statements]
    if sum(sources) > 1:
        raise UsageError("give one of --query, --file or --statements")
    rules = SelectionRules(
        max_indexes=max_indexes,
        max_total_bytes=parse_size(max_size) if max_size else None,
        min_improvement=min_improvement,
    )
    if allow_writes:
        err.print(
            "--allow-writes: candidate indexes may be built for real inside a transaction "
            "that is rolled back; it blocks writes to their tables while it runs"
        )
    with open_connection(ctx, dsn, read_only=not allow_writes) as conn:
        catalog = Catalog(conn)
        with err.status("reading the workload"):
            if query is not None:
                workload = wl.from_query(query, catalog)
            elif file is not None:
                workload = wl.from_file(file, catalog)
            else:
                workload = wl.from_statements(conn, catalog, limit=top)
        methods = methods_for(conn, allow_writes=allow_writes)
        with err.status("verifying candidates") as status:
            advice = advise(
                conn,
                catalog,
                workload,
                methods,
                selection_rules=rules,
                progress=lambda msg: status.update(escape(msg)),
            )
    applied = None
    if apply_ and advice.suggestions:
        applied = _apply(ctx, dsn, list(advice.suggestions), build_timeout)
    if fmt is OutputFormat.json:
        payload = advice.to_dict()
        if applied is not None:
            payload["applied"] = [a.to_dict() for a in applied]
        emit_json(payload)
        return
    _render(advice, applied)


def _apply(ctx: typer.Context, dsn: str | None, suggestions: list[Any], build_timeout: int) -> Any:
    from dataclasses import replace

    from pgtune_hx.advise.apply import apply
    from pgtune_hx.db import connect, display_dsn

    target = resolve_dsn(ctx, dsn)
    err.print(
        f"--apply: creating {len(suggestions)} index(es) CONCURRENTLY, one at a time, on "
        f"{display_dsn(target or '')} (lock_timeout {state(ctx).lock_timeout_ms} ms); "
        "a failed build's INVALID index is dropped"
    )
    guard = replace(state(ctx).guard(read_only=False), statement_timeout_ms=build_timeout)
    with connect(target, guard) as conn, err.status("creating indexes") as status:
        return apply(conn, suggestions, progress=lambda msg: status.update(escape(msg)))


def _render(advice: Any, applied: Any) -> None:
    timed = any(q.source != "argument" for q in advice.queries)
    if not advice.suggestions:
        out.print(f"no index to suggest ({len(advice.queries)} statements, method {advice.method})")
    for i, s in enumerate(advice.suggestions, 1):
        out.print(Text(f"{i}. {s.create_sql}", style="bold"), soft_wrap=True)
        size = f"~{s.size_bytes / 1024 / 1024:,.1f} MiB" if s.size_bytes else "size unknown"
        how = (
            "estimated from pg_stats (unverified)"
            if s.verified_by == "estimate"
            else f"verified by {s.verified_by}"
        )
        line = f"   {s.index.kind}, {how}, {size}"
        if timed:
            line += (
                f", saves ~{s.benefit_ms:,.0f} ms of execution time"
                f" (write cost ~{s.write_penalty_ms:,.0f} ms)"
            )
        out.print(line, highlight=False)
        for note in s.notes:
            out.print(f"   note: {escape(note)}")
        for q in s.queries:
            text = " ".join(q.sql.split())
            text = text if len(text) <= 90 else text[:87] + "..."
            out.print(
                f"   speeds up {escape(q.query_id)}: cost {q.cost_before:,.1f} -> "
                f"{q.cost_after:,.1f} (x{q.speedup:,.1f})  {escape(text)}",
                highlight=False,
            )
    if advice.rejected:
        table = Table(title="not suggested", show_lines=False)
        table.add_column("why")
        table.add_column("candidate")
        table.add_column("detail")
        for r in advice.rejected[:25]:
            table.add_row(r.code, escape(r.subject), escape(r.reason))
        out.print(table)
        if len(advice.rejected) > 25:
            out.print(f"... {len(advice.rejected) - 25} more (--format json lists them all)")
    for note in advice.notes:
        out.print(f"note: {escape(note)}")
    if applied:
        table = Table(title="applied")
        table.add_column("index")
        table.add_column("result")
        table.add_column("seconds", justify="right")
        for a in applied:
            result = (
                "created"
                if a.ok
                else f"failed: {a.error}"
                + (" (INVALID leftover dropped)" if a.dropped_invalid else "")
            )
            table.add_row(a.name, escape(result), f"{a.seconds:.1f}")
        out.print(table)
