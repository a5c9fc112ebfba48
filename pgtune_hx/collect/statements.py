"""statements and statements_info: pg_stat_statements, wherever it is installed.

The columns follow the installed extension version (a server upgraded with
pg_upgrade keeps its old pg_stat_statements until ALTER EXTENSION UPDATE), so
the SQL is chosen by the extension version mapped to the server release that
shipped it. Nothing here resets statistics.

Query texts are cluster-wide and may quote secrets given to utility statements
(``ALTER ROLE ... PASSWORD '...'``); those literals are masked before the text
enters the snapshot.
"""

from __future__ import annotations

import re
from typing import Any

from pgtune_hx.collect.model import Section
from pgtune_hx.collect.runner import Context, fetch, scoped_setting, section
from pgtune_hx.db import redact
from pgtune_hx.errors import InsufficientPrivilege, MissingCapability

# enough for pg_stat_statements' default 5,000 entries with their texts in memory
STATEMENTS_WORK_MEM = "64MB"

# pg_stat_statements version -> server_version_num of the release that shipped it
EXTENSION_RELEASES = {
    "1.8": 130000,
    "1.9": 140000,
    "1.10": 150000,
    "1.11": 170000,
    "1.12": 180000,
}

_PASSWORD_LITERAL = re.compile(
    r"(\b(?:password|passwd|secret|sslkey_password)\b\s*(?:=|\s)\s*)'(?:[^']|'')*'",
    re.IGNORECASE,
)


def mask_secrets(query: str) -> str:
    """Hide password literals of utility statements and conninfo strings.

    >>> mask_secrets("ALTER ROLE app PASSWORD 'hunter2'")
    "ALTER ROLE app PASSWORD '****'"
    >>> mask_secrets("select 1")
    'select 1'
    """
    return redact(_PASSWORD_LITERAL.sub(lambda m: m.group(1) + "'****'", query))


def release_of(extension_version: str) -> int:
    """Server release whose SQL fits this extension version.

    >>> release_of("1.10")
    150000
    >>> release_of("1.13")
    180000
    """
    if extension_version in EXTENSION_RELEASES:
        return EXTENSION_RELEASES[extension_version]
    try:
        major, minor = (int(p) for p in extension_version.split(".")[:2])
    except ValueError:
        return 0
    known = sorted(
        (tuple(int(p) for p in v.split(".")), release) for v, release in EXTENSION_RELEASES.items()
    )
    newer = [release for v, release in known if v <= (major, minor)]
    return newer[-1] if newer else 0


def locate(ctx: Context) -> tuple[str, str]:
    """(schema, version) of pg_stat_statements, or why it cannot be read."""
    preloaded = ctx.caps.preloaded("pg_stat_statements")
    if preloaded is False:
        raise MissingCapability(
            "pg_stat_statements is not in shared_preload_libraries",
            hint="add it to shared_preload_libraries and restart the server",
        )
    _, rows = fetch(ctx, "extension_schema", {"name": "pg_stat_statements"})
    if not rows:
        raise MissingCapability(
            f"extension pg_stat_statements is not installed in database {ctx.caps.database}",
            hint="CREATE EXTENSION pg_stat_statements",
        )
    schema, version = str(rows[0]["schema"]), str(rows[0]["version"])
    if not rows[0]["usable"]:
        raise InsufficientPrivilege(
            f"role {ctx.caps.role} has no USAGE on schema {schema} of pg_stat_statements",
            hint=f"GRANT USAGE ON SCHEMA {schema} TO {ctx.caps.role}",
        )
    if release_of(version) == 0:
        raise MissingCapability(
            f"pg_stat_statements {version} is older than 1.8",
            hint="ALTER EXTENSION pg_stat_statements UPDATE",
        )
    return schema, version


def collect(ctx: Context) -> list[Section]:
    schema, version = locate(ctx)
    release = release_of(version)
    # pg_stat_statements() materializes every entry with its text: past the 4MB
    # default work_mem that would be a temporary file on the user's server
    with scoped_setting(ctx, "work_mem", STATEMENTS_WORK_MEM):
        statements = section(ctx, "statements", version=release, schema=schema)
    query = statements.columns.index("query")
    data: list[Any] = []
    for values in statements.data_rows():
        text = values[query]
        masked = mask_secrets(text) if text else text
        if masked != text:
            values = list(values)
            values[query] = masked
        data.append(values)
    statements = Section("statements", statements.columns, data=data, skipped=statements.skipped)
    if not ctx.caps.can_read_all_stats():
        statements.skipped.append(
            f"role {ctx.caps.role} sees only its own query texts (no pg_read_all_stats)"
        )
    if release >= 140000:
        info = section(ctx, "statements_info", version=release, schema=schema)
    else:
        info = Section(
            "statements_info", error=f"pg_stat_statements {version} has no pg_stat_statements_info"
        )
    return [statements, info]
