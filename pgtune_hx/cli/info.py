"""`pgtune-hx server-info`: who we are connected to and what it can do."""

from __future__ import annotations

import typer
from rich.table import Table

from pgtune_hx.cli.common import (
    DsnOption,
    FormatOption,
    OutputFormat,
    emit_json,
    open_connection,
    out,
)
from pgtune_hx.db import display_dsn, probe


def register(app: typer.Typer) -> None:
    app.command("server-info")(server_info)


def server_info(
    ctx: typer.Context, dsn: DsnOption = None, fmt: FormatOption = OutputFormat.text
) -> None:
    """Connect read-only and show the server version, role and capabilities."""
    with open_connection(ctx, dsn) as conn:
        caps = probe(conn)
        target = display_dsn(conn.info.dsn)
    payload = {"connection": target, **caps.to_dict()}
    payload["pg_stat_statements_ready"] = caps.has_pg_stat_statements()
    if fmt is OutputFormat.json:
        emit_json(payload)
        return
    table = Table(title="server", show_header=False)
    table.add_column("field", style="bold")
    table.add_column("value")
    table.add_row("connection", target)
    table.add_row("version", caps.server_version)
    table.add_row("database", caps.database)
    table.add_row("role", caps.role)
    table.add_row("superuser", str(caps.is_superuser))
    table.add_row("pg_monitor", str(caps.has_pg_monitor))
    table.add_row("pg_read_all_stats", str(caps.has_read_all_stats))
    table.add_row("pg_signal_backend", str(caps.has_signal_backend))
    table.add_row("in recovery", str(caps.in_recovery))
    table.add_row("preloaded", ", ".join(caps.shared_preload_libraries) or "-")
    table.add_row("pg_stat_statements", "ready" if caps.has_pg_stat_statements() else "not ready")
    for name in ("hypopg", "vector", "pgstattuple", "pg_trgm"):
        state_text = caps.installed.get(name) or (
            "available" if name in caps.available else "not available"
        )
        table.add_row(name, state_text)
    out.print(table)
