"""Entry point: the typer app, global options and the one place errors become exit codes."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.text import Text

from pgtune_hx import __version__
from pgtune_hx.cli import (
    advise,
    analyze,
    bench,
    demo,
    explain,
    info,
    report,
    server,
    snapshot,
    tui,
    tune,
)
from pgtune_hx.cli.common import CliState, err
from pgtune_hx.db.redact import SecretFilter, redact
from pgtune_hx.errors import PgtuneError

INTERNAL_ERROR = 70
INTERRUPTED = 130

app = typer.Typer(
    name="pgtune-hx",
    help="PostgreSQL performance diagnostics and tuning.",
    rich_markup_mode="rich",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"pgtune-hx {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    ctx: typer.Context,
    dsn: Annotated[
        str | None,
        typer.Option(
            "--dsn",
            help="libpq conninfo or URI; 'embedded' for the local server; "
            "default: PG* environment.",
            show_default=False,
        ),
    ] = None,
    statement_timeout: Annotated[
        int, typer.Option("--statement-timeout", help="per-statement limit, ms", min=1)
    ] = 5000,
    lock_timeout: Annotated[
        int, typer.Option("--lock-timeout", help="lock wait limit, ms", min=1)
    ] = 100,
    data_dir: Annotated[
        Path | None,
        typer.Option(
            "--data-dir", help="base directory of the embedded server", show_default=False
        ),
    ] = None,
    debug: Annotated[bool, typer.Option("--debug", help="debug logging and tracebacks")] = False,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="show the version")
    ] = False,
) -> None:
    """PostgreSQL performance diagnostics and tuning."""
    ctx.obj = CliState(
        dsn=dsn,
        statement_timeout_ms=statement_timeout,
        lock_timeout_ms=lock_timeout,
        data_dir=data_dir,
        debug=debug,
    )
    _setup_logging(debug)


def _setup_logging(debug: bool) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(SecretFilter())
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if debug else logging.WARNING)


server.register(app)
info.register(app)
bench.register(app)
snapshot.register(app)
tune.register(app)
tui.register(app)
analyze.register(app)
report.register(app)
demo.register(app)
explain.register(app)
advise.register(app)


def _print_error(label: str, message: str) -> None:
    # Text, not markup: messages may hold brackets from paths or SQL.
    text = Text.assemble((f"{label}: ", "bold red"), " ".join(message.split()))
    err.print(text, soft_wrap=True)


def run(argv: list[str] | None = None) -> None:
    """Run the CLI; every failure ends as one line on stderr and a documented exit code."""
    command = typer.main.get_command(app)
    debug = os.environ.get("PGTUNE_HX_DEBUG") == "1" or "--debug" in (argv or sys.argv[1:])
    try:
        # standalone mode: click reports its own usage errors (exit 2) and Ctrl-C
        command.main(args=argv, prog_name="pgtune-hx", standalone_mode=True)
    except PgtuneError as exc:
        _print_error("error", redact(str(exc)))
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        err.print("interrupted")
        sys.exit(INTERRUPTED)
    except BrokenPipeError:
        sys.exit(0)
    except SystemExit:
        raise
    except Exception as exc:
        if debug:
            raise
        first = redact(str(exc)).strip().splitlines()
        detail = first[0] if first else ""
        _print_error(
            "internal error",
            f"{type(exc).__name__}: {detail} (rerun with --debug for a traceback, and report it)",
        )
        sys.exit(INTERNAL_ERROR)
    sys.exit(0)
