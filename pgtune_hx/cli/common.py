"""What every command shares: global options, DSN resolution, output helpers.

Commands stay wiring only: they parse options, call the headless core and
hand its objects to a renderer.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from pgtune_hx.db import Guard, connect, redact, register_dsn
from pgtune_hx.db.connect import Connection
from pgtune_hx.errors import UsageError

EMBEDDED = "embedded"

# Results go to stdout, messages and progress to stderr, so `--format json`
# output stays parseable while progress is shown.
out = Console(highlight=False, soft_wrap=False)
err = Console(stderr=True, highlight=False)


class OutputFormat(StrEnum):
    text = "text"
    json = "json"


@dataclass
class CliState:
    dsn: str | None = None
    statement_timeout_ms: int = 5000
    lock_timeout_ms: int = 100
    data_dir: Path | None = None
    debug: bool = False

    def guard(self, *, read_only: bool = True) -> Guard:
        return Guard(
            read_only=read_only,
            statement_timeout_ms=self.statement_timeout_ms,
            lock_timeout_ms=self.lock_timeout_ms,
        )


DsnOption = Annotated[
    str | None,
    typer.Option(
        "--dsn",
        help="libpq conninfo or URI; 'embedded' for the local server; default: PG* environment.",
        show_default=False,
    ),
]
FormatOption = Annotated[
    OutputFormat, typer.Option("--format", "-f", help="text for people, json for machines.")
]


def state(ctx: typer.Context) -> CliState:
    obj = ctx.find_root().obj
    if not isinstance(obj, CliState):
        obj = CliState()
        ctx.find_root().obj = obj
    return obj


def resolve_dsn(ctx: typer.Context, dsn: str | None) -> str | None:
    """The command's --dsn, else the global one; 'embedded' means the local server."""
    chosen = dsn if dsn is not None else state(ctx).dsn
    if chosen == EMBEDDED:
        from pgtune_hx.embedded import EmbeddedServer

        server = EmbeddedServer(state(ctx).data_dir)
        return server.dsn()
    register_dsn(chosen)
    return chosen


def open_connection(ctx: typer.Context, dsn: str | None, *, read_only: bool = True) -> Connection:
    return connect(resolve_dsn(ctx, dsn), state(ctx).guard(read_only=read_only))


def emit_json(payload: Any) -> None:
    """Write JSON to stdout, secrets redacted."""
    text = json.dumps(payload, indent=2, sort_keys=False, default=str)
    sys.stdout.write(redact(text) + "\n")
    sys.stdout.flush()


def parse_int_list(text: str, what: str) -> list[int]:
    """'1,4,8' -> [1, 4, 8]; anything else is a UsageError.

    >>> parse_int_list("1, 4,8", "clients")
    [1, 4, 8]
    """
    try:
        values = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise UsageError(
            f"{what}: expected a comma-separated list of integers, got {text!r}"
        ) from None
    if not values or any(v <= 0 for v in values):
        raise UsageError(f"{what}: expected positive integers, got {text!r}")
    return values
