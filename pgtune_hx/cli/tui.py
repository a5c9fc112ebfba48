"""`pgtune-hx tui`: the interactive monitor, live or replaying recorded snapshots."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from pgtune_hx.cli.common import DsnOption, resolve_dsn, state
from pgtune_hx.db import connect, probe
from pgtune_hx.errors import UsageError

START_SCREENS = ("overview", "activity", "locks", "statements", "tables", "findings")


def register(app: typer.Typer) -> None:
    app.command("tui")(tui)


def tui(
    ctx: typer.Context,
    dsn: DsnOption = None,
    refresh: Annotated[
        float, typer.Option("--refresh", help="seconds between refreshes (replay: between steps)")
    ] = 2.0,
    replay: Annotated[
        Path | None,
        typer.Option(
            "--replay",
            help="play back snapshot files from this directory (or one file) instead of a server",
            show_default=False,
        ),
    ] = None,
    record: Annotated[
        Path | None,
        typer.Option(
            "--record",
            help="save every live refresh as a snapshot file in this directory",
            show_default=False,
        ),
    ] = None,
    screen: Annotated[
        str, typer.Option("--screen", help=f"first screen: {', '.join(START_SCREENS)}")
    ] = "activity",
) -> None:
    """Live monitor: activity, lock tree, statements, tables, findings (F1 for keys)."""
    if refresh < 0.2 or refresh > 3600:
        raise UsageError(f"--refresh must be between 0.2 and 3600 seconds, got {refresh}")
    if screen not in START_SCREENS:
        raise UsageError(f"--screen must be one of {', '.join(START_SCREENS)}, got {screen!r}")
    if replay is not None and (dsn is not None or record is not None):
        raise UsageError("--replay plays files: it takes no --dsn and no --record")
    from pgtune_hx.tui.app import MonitorApp
    from pgtune_hx.tui.live import LiveConfig
    from pgtune_hx.tui.replay import Replay

    if replay is not None:
        app = MonitorApp(replay=Replay.open(replay), refresh_s=refresh, start=screen)
    else:
        config = LiveConfig(resolve_dsn(ctx, dsn), state(ctx).guard(), record)
        # a wrong DSN, role or password is one line and an exit code, not a UI that
        # retries forever; once running, a lost server is retried with backoff
        with connect(config.dsn, config.guard) as conn:
            probe(conn)
        app = MonitorApp(live=config, refresh_s=refresh, start=screen)
    app.run()
