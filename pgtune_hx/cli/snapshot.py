"""`pgtune-hx snapshot` and `pgtune-hx diff`: take a snapshot to a file, compare two."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
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
)
from pgtune_hx.errors import UsageError

if TYPE_CHECKING:
    from pgtune_hx.collect.diff import SnapshotDiff
    from pgtune_hx.collect.model import Section, Snapshot


def register(app: typer.Typer) -> None:
    app.command("snapshot")(snapshot)
    app.command("diff")(diff)


def snapshot(
    ctx: typer.Context,
    output: Annotated[
        Path,
        typer.Option("--output", "-o", help="snapshot file (.json.gz, or .json for plain JSON)"),
    ],
    dsn: DsnOption = None,
    sections: Annotated[
        str | None,
        typer.Option("--sections", help="comma-separated section names (default: all)"),
    ] = None,
    fmt: FormatOption = OutputFormat.text,
) -> None:
    """Collect every section (read-only) into one snapshot file."""
    from pgtune_hx.collect import save
    from pgtune_hx.collect.snapshot import collect_snapshot, section_names

    wanted = [s.strip() for s in sections.split(",") if s.strip()] if sections else None
    if wanted is not None and not wanted:
        raise UsageError(f"--sections is empty; known: {', '.join(section_names())}")
    with open_connection(ctx, dsn) as conn:
        with err.status("collecting...") as status:

            def progress(name: str, section: Section) -> None:
                status.update(f"collecting... {name} done ({section.row_count} rows)")

            snap = collect_snapshot(conn, wanted, progress=progress)
    path = save(snap, output)
    if fmt is OutputFormat.json:
        emit_json(_summary(snap, path))
        return
    _print_summary(snap, path)


def _summary(snap: Snapshot, path: Path) -> dict[str, Any]:
    return {
        "file": str(path),
        "captured_at": snap.captured_at,
        "elapsed_ms": round(snap.elapsed_ms, 1),
        "server": {
            k: snap.server.get(k)
            for k in ("server_version", "database", "role", "system_identifier", "connection")
        },
        "host_local": snap.host.get("local"),
        "sections": {
            name: {
                "rows": s.row_count,
                "elapsed_ms": round(s.elapsed_ms, 1),
                "error": s.error,
                "skipped": s.skipped,
            }
            for name, s in snap.sections.items()
        },
    }


def _print_summary(snap: Snapshot, path: Path) -> None:
    where = "local host" if snap.host.get("local") else "remote host (hardware unknown)"
    out.print(
        Text.assemble(
            ("snapshot ", "bold"),
            f"of {snap.server.get('database')} on PostgreSQL "
            f"{snap.server.get('server_version')} ({where}) at {snap.captured_at}, "
            f"{snap.elapsed_ms:,.0f} ms -> {path}",
        ),
        soft_wrap=True,
    )
    table = Table()
    table.add_column("section")
    table.add_column("rows", justify="right")
    table.add_column("ms", justify="right")
    table.add_column("status")
    for name, section in snap.sections.items():
        if section.error:
            status = Text(section.error, style="yellow")
        elif section.skipped:
            status = Text(f"ok, {len(section.skipped)} skipped: {section.skipped[0]}", style="cyan")
        else:
            status = Text("ok", style="green")
        table.add_row(name, f"{section.row_count:,}", f"{section.elapsed_ms:.0f}", status)
    out.print(table)


def diff(
    first: Annotated[Path, typer.Argument(help="the older snapshot file", show_default=False)],
    second: Annotated[Path, typer.Argument(help="the newer snapshot file", show_default=False)],
    top: Annotated[int, typer.Option("--top", "-n", help="top movers to show", min=1)] = 10,
    fmt: FormatOption = OutputFormat.text,
) -> None:
    """Rates per second and top movers between two snapshots of one server."""
    from pgtune_hx.collect import load
    from pgtune_hx.collect.diff import diff as compare

    result = compare(load(first), load(second), top=top)
    if fmt is OutputFormat.json:
        emit_json(result.to_dict())
        return
    _print_diff(result)


def _rate(value: dict[str, Any] | None, scale: float = 1.0, digits: int = 1) -> str:
    if not value or value.get("per_s") is None:
        return "n/a"
    return f"{value['per_s'] * scale:,.{digits}f}"


def _num(value: Any, digits: int = 0) -> str:
    if value is None:
        return "n/a"
    return f"{value:,.{digits}f}"


_ALWAYS_SHOWN = {"wal_generated_bytes", "xids_consumed", "num_timed", "num_requested"}


def _print_diff(result: SnapshotDiff) -> None:
    data = result.to_dict()
    out.print(
        Text.assemble(
            ("diff ", "bold"),
            f"{data['a']['captured_at']} -> {data['b']['captured_at']} "
            f"({result.interval_s:,.1f} s) on PostgreSQL {result.server['server_version']}, "
            f"database {result.server['database']}",
        )
    )
    for event in result.events:
        out.print(Text(f"! {event.message}", style="yellow"))

    rates = Table(title="server rates (per second; zero counters hidden)")
    rates.add_column("area")
    rates.add_column("counter")
    rates.add_column("delta", justify="right")
    rates.add_column("per s", justify="right")
    for family, counters in data["rates"].items():
        for name, value in counters.items():
            delta = value["delta"]
            if delta == 0 and value["na"] is None and name not in _ALWAYS_SHOWN:
                continue
            rates.add_row(
                family,
                name,
                _num(delta, 1 if isinstance(delta, float) else 0),
                _rate(value, digits=2) if value["na"] is None else f"n/a: {value['na']}",
            )
    out.print(rates)

    databases = Table(title="databases")
    for column in ("database", "commit/s", "rollback/s", "read blk/s", "hit blk/s", "temp MB/s"):
        databases.add_column(column, justify="left" if column == "database" else "right")
    databases.add_column("deadlocks", justify="right")
    for row in data["databases"]["rows"]:
        c = row["counters"]
        if row["na"]:
            databases.add_row(row["datname"] or "(shared)", Text(f"n/a: {row['na']}", "yellow"))
            continue
        databases.add_row(
            row["datname"] or "(shared)",
            _rate(c.get("xact_commit")),
            _rate(c.get("xact_rollback")),
            _rate(c.get("blks_read")),
            _rate(c.get("blks_hit")),
            _rate(c.get("temp_bytes"), 1 / 1048576, 2),
            _num((c.get("deadlocks") or {}).get("delta")),
        )
    out.print(databases)

    statements = data["statements"]
    if not statements["valid"]:
        out.print(Text(f"statements: n/a ({statements['na']})", style="yellow"))
    else:
        table = Table(title=f"top statements by execution time (top {len(statements['rows'])})")
        for column in ("queryid", "calls", "calls/s", "exec ms", "ms/s", "mean ms", "rows"):
            table.add_column(column, justify="left" if column == "queryid" else "right")
        table.add_column("query", overflow="ellipsis", no_wrap=True, max_width=60)
        for row in statements["rows"]:
            table.add_row(
                str(row["queryid"]) + (" *" if row["new"] else ""),
                _num(row.get("calls")),
                _num(row.get("calls_per_s"), 2),
                _num(row.get("total_exec_time"), 1),
                _num(row.get("exec_ms_per_s"), 2),
                _num(row.get("mean_exec_ms"), 3),
                _num(row.get("rows")),
                " ".join(str(row.get("query") or "").split()),
            )
        out.print(table)
        if statements["na"]:
            out.print(Text(f"statements: {statements['na']}", style="yellow"))

    tables = data["tables"]
    if not tables["valid"]:
        out.print(Text(f"tables: n/a ({tables['na']})", style="yellow"))
        return
    if not tables["rows"]:
        out.print("tables: no activity between the snapshots")
        return
    table = Table(title="top tables by rows read and written")
    for column in ("table", "seq scan/s", "tup read/s", "tup written/s", "HOT %", "dead tup +/-"):
        table.add_column(column, justify="left" if column == "table" else "right")
    for row in tables["rows"]:
        name = f"{row['schemaname']}.{row['relname']}"
        if row.get("na"):
            table.add_row(name, Text(f"n/a: {row['na']}", "yellow"))
            continue
        hot = row.get("hot_ratio")
        table.add_row(
            name,
            _num(row["seq_scan_per_s"], 2),
            _num(row["tuples_read_per_s"], 1),
            _num(row["tuples_written_per_s"], 1),
            "-" if hot is None else f"{hot * 100:.0f}",
            f"{row['n_dead_tup_change']:+,}",
        )
    out.print(table)
