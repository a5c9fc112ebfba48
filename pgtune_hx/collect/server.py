"""Server-wide sections: settings, configuration files, database and background
process statistics, WAL, I/O, archiving, replication, sequences, extensions."""

from __future__ import annotations

from psycopg import errors as pgerrors

from pgtune_hx.collect.model import Section
from pgtune_hx.collect.runner import Context, savepoint, section, with_lock_retries
from pgtune_hx.errors import InsufficientPrivilege, MissingCapability


def settings(ctx: Context) -> list[Section]:
    return [section(ctx, "settings")]


def file_settings(ctx: Context) -> list[Section]:
    try:
        with savepoint(ctx):
            return [section(ctx, "file_settings")]
    except pgerrors.InsufficientPrivilege:
        raise InsufficientPrivilege(
            f"role {ctx.caps.role} may not read pg_file_settings (superuser only by default)",
            hint="GRANT SELECT ON pg_file_settings and EXECUTE ON FUNCTION "
            "pg_show_all_file_settings() to it",
        ) from None


def database(ctx: Context) -> list[Section]:
    return [section(ctx, "database")]


def background(ctx: Context) -> list[Section]:
    return [section(ctx, "bgwriter"), section(ctx, "checkpointer")]


def wal(ctx: Context) -> list[Section]:
    return [section(ctx, "wal")]


def io(ctx: Context) -> list[Section]:
    if not ctx.caps.has_pg_stat_io():
        raise MissingCapability(f"pg_stat_io needs PostgreSQL 16+, server is {ctx.caps.major}")
    return [section(ctx, "io")]


def archiver(ctx: Context) -> list[Section]:
    return [section(ctx, "archiver")]


def replication(ctx: Context) -> list[Section]:
    return [section(ctx, "replication"), section(ctx, "replication_slots")]


def sequences(ctx: Context) -> list[Section]:
    """Sequences locked by another session, or unreadable for this role, are
    listed in ``skipped`` with last_value unknown instead of waiting or failing."""
    result, _ = with_lock_retries(
        ctx, "sequences", lambda refresh: ctx.sequence_oids(refresh=refresh)
    )
    names = {lock.oid: lock for lock in ctx.locked()}
    for row in result.rows:
        name = f"{row['schemaname']}.{row['sequencename']}"
        if row["locked"]:
            lock = names.get(int(row["seqrelid"]))
            why = lock.describe() if lock else "locked"
            result.skipped.append(f"{name}: last_value not read ({why})")
        elif not row["readable"]:
            result.skipped.append(
                f"{name}: last_value not read (role {ctx.caps.role} lacks SELECT or USAGE)"
            )
    return [result]


def extensions(ctx: Context) -> list[Section]:
    return [section(ctx, "extensions")]
