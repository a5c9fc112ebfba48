"""pgtune_hx: PostgreSQL performance diagnostics and tuning."""

__version__ = "0.1.0"
