"""Server identity and the host the server runs on.

The host is "local" only when we reach the server over a Unix socket or a
loopback address AND its data directory (readable with superuser or
pg_read_all_settings) exists here and looks like that server's; then the
hardware facts come from ``host.detect(data_directory)``. Anything else is
remote: hardware unknown, never guessed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pgtune_hx.collect.runner import Context, fetch
from pgtune_hx.host import HostFacts, detect, remote

LOOPBACK = {"localhost", "127.0.0.1", "::1"}


def identity(ctx: Context) -> dict[str, Any]:
    _, rows = fetch(ctx, "identity")
    return dict(rows[0])


def _same_server(data_dir: Path, major: int, port: int | None) -> str | None:
    """Why ``data_dir`` is not the server's, or None when nothing contradicts it.

    Files we may not read (a data directory is 0700) do not count against it."""
    try:
        pg_version = (data_dir / "PG_VERSION").read_text().strip()
    except OSError:
        pg_version = None
    if pg_version is not None and pg_version != str(major):
        return f"{data_dir} holds PostgreSQL {pg_version}, server is {major}"
    try:
        lines = (data_dir / "postmaster.pid").read_text().splitlines()
    except OSError:
        lines = []
    listening = lines[3].strip() if len(lines) > 3 else ""
    if listening.isdigit() and port is not None and int(listening) != port:
        return f"{data_dir} belongs to a server on port {listening}, not {port}"
    return None


def host_facts(ctx: Context, server: dict[str, Any]) -> HostFacts:
    host = ctx.conn.info.host or ""
    over_socket = host.startswith("/") or host.startswith("@")
    if not over_socket and host not in LOOPBACK and ctx.conn.info.hostaddr not in LOOPBACK:
        return remote(f"connected to {host}: not this machine, hardware unknown")
    data_directory = server.get("data_directory")
    if not data_directory:
        return remote(
            f"role {ctx.caps.role} cannot read data_directory (needs pg_read_all_settings): "
            "cannot tell whether the server runs here, hardware unknown"
        )
    path = Path(str(data_directory))
    if not path.is_dir():
        return remote(f"data directory {path} is not on this machine: hardware unknown")
    mismatch = _same_server(path, ctx.caps.major, server.get("port"))
    if mismatch:
        return remote(f"{mismatch}: hardware unknown")
    return detect(path)
