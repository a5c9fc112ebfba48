"""Create and load the demo database: schema, data, planted problems.

Everything is set-based SQL (generate_series), so a million usage-log rows load in
seconds. The sizes of the other tables follow from ``rows`` through ``Scale``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass

from psycopg import sql

from pgtune_hx.db import translated
from pgtune_hx.db.connect import Connection
from pgtune_hx.demo.blocks import Block, load_blocks

DEMO_DATABASE = "pgtune_demo"
# Marks a database as ours: the demo drops and recreates only a database carrying it.
DEMO_COMMENT = "pgtune_hx demo database (safe to drop)"
# Small enough that the leaderboard's hash aggregate spills to temp files.
DEMO_WORK_MEM = "64kB"

StepCallback = Callable[[str], None]


@dataclass(frozen=True)
class Scale:
    """Row counts of the demo tables, derived from the usage-log row count."""

    rows: int
    teams: int
    keys: int
    workflows: int
    executions: int
    sessions: int
    documents: int
    chunks: int

    @classmethod
    def for_rows(cls, rows: int) -> Scale:
        """
        >>> Scale.for_rows(1_000_000).keys
        20000
        >>> Scale.for_rows(10_000).chunks
        400
        """
        if rows < 1000:
            raise ValueError("the demo needs at least 1000 usage-log rows")
        chunks = min(4000, max(400, rows // 250))
        return cls(
            rows=rows,
            teams=max(20, rows // 10_000),
            keys=max(200, rows // 50),
            workflows=max(50, rows // 2_000),
            executions=max(2_000, rows // 10),
            sessions=max(2_000, rows // 10),
            documents=(chunks + 7) // 8,
            chunks=chunks,
        )

    def params(self) -> dict[str, int]:
        return asdict(self)


def schema_steps(capabilities: set[str]) -> list[Block]:
    return [b for b in load_blocks("schema.sql") if b.applies(capabilities)]


def problem_steps() -> list[Block]:
    return load_blocks("problems.sql")


def run_steps(
    conn: Connection, steps: list[Block], scale: Scale, on_step: StepCallback | None = None
) -> None:
    """Run each block's statements in order; ``on_step`` hears each block's name first."""
    params = scale.params()
    # setting up is not the workload: keep it out of pg_stat_statements
    with translated("pausing statement tracking for the setup session"):
        conn.execute("set pg_stat_statements.track = 'none'")
    for step in steps:
        if on_step is not None:
            on_step(step.name)
        with translated(f"demo step {step.name!r}"):
            for statement in step.statements():
                conn.execute(statement.encode(), params)


def configure_database(conn: Connection, dbname: str) -> None:
    """Per-database settings the demo relies on (they touch only this database)."""
    with translated("configuring the demo database"):
        conn.execute(
            sql.SQL("alter database {} set work_mem = {}").format(
                sql.Identifier(dbname), sql.Literal(DEMO_WORK_MEM)
            )
        )
        conn.execute(
            sql.SQL("comment on database {} is {}").format(
                sql.Identifier(dbname), sql.Literal(DEMO_COMMENT)
            )
        )
