"""Take real snapshots and run one rule over them."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import psycopg
from psycopg import sql

from pgtune_hx.analyze.engine import analyze
from pgtune_hx.analyze.findings import Finding
from pgtune_hx.collect import collect_snapshot
from pgtune_hx.collect.model import Snapshot
from pgtune_hx.db import connect


def snapshot(dsn: str) -> Snapshot:
    """A snapshot exactly as `pgtune-hx analyze --dsn` takes it (guarded, read-only)."""
    with connect(dsn) as conn:
        return collect_snapshot(conn)


def run_rule(
    snap: Snapshot, rule_id: str, since: Snapshot | None = None, **thresholds: Any
) -> list[Finding]:
    return analyze(snap, since, rules=[rule_id], **thresholds)


def about(findings: list[Finding], obj: str) -> list[Finding]:
    """The findings on one object (a quoted, qualified name, 'pid N' ...)."""
    return [f for f in findings if f.object == obj]


def in_database(findings: list[Finding], dbname: str, role: str | None = None) -> list[Finding]:
    """Statement findings of one database (pg_stat_statements is cluster-wide), and
    of one role when given: a workload run under its own role is told apart from the
    snapshots' own catalog queries, which can pass a test's small thresholds when
    the machine is busy or pg_stat_statements holds thousands of entries."""
    return [
        f
        for f in findings
        if f.evidence.get("datname") == dbname
        and (role is None or f.evidence.get("rolname") == role)
    ]


def changed(
    snap: Snapshot, section: str, where: Callable[[dict[str, Any]], bool], **values: Any
) -> Snapshot:
    """A copy of a real snapshot with figures of the matching rows replaced.

    For conditions a test server cannot reach (XID age near 2^31): everything
    else in the snapshot stays as the server reported it.
    """
    copied = copy.deepcopy(snap)
    hits = 0
    for row in copied.section(section).rows:
        if where(row):
            row.update(values)
            hits += 1
    assert hits, f"no row of {section} matched"
    return copied


def flush_stats(conn: psycopg.Connection[Any]) -> None:
    """Make this session's counters visible to other sessions now (PG 15+)."""
    conn.execute("select pg_stat_force_next_flush()")
    conn.execute("select 1")


def work(
    dsn: str, *statements: str, params: Any = None, role: str | None = None, **settings: str
) -> None:
    """Run statements in one session (as ``role``, with session ``settings``), then
    flush its statistics."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        if role is not None:
            conn.execute(sql.SQL("set role {}").format(sql.Identifier(role)))
        for name, value in settings.items():
            conn.execute("select set_config(%s, %s, false)", [name, value])
        for statement in statements:
            conn.execute(statement.encode(), params)
        flush_stats(conn)
