"""`pgtune-hx tune`: settings sized to the host and the workload's own statistics."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from pgtune_hx.cli.common import DsnOption, emit_json, err, open_connection, out, state
from pgtune_hx.errors import UsageError
from pgtune_hx.tune.model import Storage, Workload


class TuneFormat(StrEnum):
    diff = "diff"
    conf = "conf"
    alter_system = "alter-system"
    json = "json"


def register(app: typer.Typer) -> None:
    app.command("tune")(tune)


def _size(value: str | None, flag: str) -> int | None:
    if value is None:
        return None
    from pgtune_hx.tune.sizes import parse_size

    return parse_size(value, flag)


def tune(
    ctx: typer.Context,
    dsn: DsnOption = None,
    memory: Annotated[
        str | None,
        typer.Option("--memory", help="RAM for PostgreSQL, e.g. 64GB", show_default=False),
    ] = None,
    cpus: Annotated[
        int | None, typer.Option("--cpus", help="CPU cores", min=1, show_default=False)
    ] = None,
    storage: Annotated[
        Storage | None, typer.Option("--storage", help="data disk class", show_default=False)
    ] = None,
    workload: Annotated[
        Workload | None,
        typer.Option("--workload", help="workload profile (default: mixed)", show_default=False),
    ] = None,
    pg_version: Annotated[
        int | None,
        typer.Option(
            "--pg-version", help="major version when offline (default 18)", show_default=False
        ),
    ] = None,
    max_connections: Annotated[
        int | None,
        typer.Option("--max-connections", help="connections to plan for", show_default=False),
    ] = None,
    db_size: Annotated[
        str | None, typer.Option("--db-size", help="data size, e.g. 200GB", show_default=False)
    ] = None,
    fmt: Annotated[
        TuneFormat,
        typer.Option(
            "--format", "-f", help="diff (people), conf (conf.d drop-in), alter-system, json"
        ),
    ] = TuneFormat.diff,
    snapshot: Annotated[
        Path | None,
        typer.Option(
            "--snapshot",
            help="tune from a snapshot file (pgtune-hx snapshot) instead of a live server",
            show_default=False,
        ),
    ] = None,
    no_evidence: Annotated[
        bool, typer.Option("--no-evidence", help="baseline only: ignore the server's statistics")
    ] = False,
    apply: Annotated[
        bool,
        typer.Option(
            "--apply",
            help="write the changes with ALTER SYSTEM and reload (needs a superuser or "
            "ALTER SYSTEM privilege); restart-only settings wait for a restart",
        ),
    ] = False,
) -> None:
    """Recommend settings for the host and workload; live servers add their own evidence.

    Without a DSN (here or global) it works offline from --memory/--cpus/--storage.
    Nothing is written unless --apply is given.
    """
    from pgtune_hx import tune as tuner
    from pgtune_hx.tune import render

    request = tuner.Request(
        memory=_size(memory, "--memory"),
        cpus=cpus,
        storage=storage,
        workload=workload,
        pg_version=pg_version,
        max_connections=max_connections,
        db_size=_size(db_size, "--db-size"),
        evidence=not no_evidence,
    )
    chosen_dsn = dsn if dsn is not None else state(ctx).dsn
    if snapshot is not None:
        if apply:
            raise UsageError("--apply writes to a live server, not a snapshot", hint="give --dsn")
        from pgtune_hx.collect import load

        rec = tuner.from_snapshot(load(snapshot), request)
    elif chosen_dsn is None:
        if apply:
            raise UsageError("--apply needs a server", hint="give --dsn")
        rec = tuner.offline(request)
    else:
        with err.status("reading settings and statistics"):
            with open_connection(ctx, dsn) as conn:
                rec = tuner.live(conn, request)
    if fmt is TuneFormat.json:
        emit_json(render.to_json(rec))
    elif fmt is TuneFormat.conf:
        out.out(render.conf(rec), end="")
    elif fmt is TuneFormat.alter_system:
        out.out(render.alter_system(rec), end="")
    else:
        out.print(render.report(rec))
    if not apply:
        return
    if not rec.changes:
        err.print("--apply: nothing to change")
        return
    names = ", ".join(c.name for c in rec.changes)
    err.print(f"--apply: ALTER SYSTEM SET {names}; then pg_reload_conf()")
    with open_connection(ctx, dsn, read_only=False) as conn:
        applied = tuner.apply(conn, rec.changes)
    for error in applied.errors:
        err.print(f"[red]pg_file_settings reports:[/] {error}")
    if applied.restart_needed:
        err.print("restart needed for: " + ", ".join(applied.restart_needed))
    else:
        err.print("applied; no restart needed")
