"""Cumulative statistics are flushed asynchronously: make a session's counters visible."""

from __future__ import annotations

from typing import Any

import psycopg


def flush(conn: psycopg.Connection[Any]) -> None:
    """Push this session's pending statistics to shared memory (PG 15+)."""
    if conn.info.server_version >= 150000:
        conn.execute("select pg_stat_force_next_flush()")
        # the flush happens when the session next goes idle: a trivial statement does it
        conn.execute("select 1")
