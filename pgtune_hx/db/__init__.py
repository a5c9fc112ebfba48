"""Connections to PostgreSQL: guarded sessions, capabilities, redaction."""

from pgtune_hx.db.capabilities import Capabilities, probe
from pgtune_hx.db.connect import DEFAULT_GUARD, Connection, Guard, connect, translated
from pgtune_hx.db.redact import display_dsn, redact, register_dsn, register_secret

__all__ = [
    "DEFAULT_GUARD",
    "Capabilities",
    "Connection",
    "Guard",
    "connect",
    "display_dsn",
    "probe",
    "redact",
    "register_dsn",
    "register_secret",
    "translated",
]
