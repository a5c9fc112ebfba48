"""Which server a benchmark writes to, and the rule that guards it.

Benchmarks create tables and indexes. They run on the local embedded server by
default; any other server needs ``--allow-writes``, and the caller says which
database it will write to before it starts.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pgtune_hx.db.redact import display_dsn
from pgtune_hx.embedded import EmbeddedServer
from pgtune_hx.errors import WriteNotAllowed

EMBEDDED = "embedded"


@dataclass(frozen=True)
class BenchTarget:
    dsn: str
    embedded: EmbeddedServer | None

    @property
    def is_embedded(self) -> bool:
        return self.embedded is not None

    def describe(self) -> str:
        where = "embedded server" if self.embedded else "server"
        return f"{where} {display_dsn(self.dsn)}"


def resolve_target(
    dsn: str | None,
    *,
    allow_writes: bool,
    data_dir: Path | None = None,
    dbname: str = "postgres",
) -> BenchTarget:
    """No DSN or 'embedded': the local server, started if needed. Anything else
    needs allow_writes, because a benchmark creates and drops objects."""
    if dsn is None or dsn == EMBEDDED:
        server = EmbeddedServer(data_dir)
        server.start()
        return BenchTarget(server.dsn(dbname), server)
    if not allow_writes:
        raise WriteNotAllowed(
            f"the benchmark would create and drop objects on {display_dsn(dsn)}",
            hint="pass --allow-writes to run it on a server that is not the embedded one",
        )
    return BenchTarget(dsn, None)
