#!/usr/bin/env python3
"""Regenerate the tuner's bundled settings tables from real servers.

    .venv/bin/python scripts/gen_tune_bounds.py

Starts a throwaway PostgreSQL 18 (the embedded binaries) and 15 (the system's,
/usr/lib/postgresql/15/bin) with no settings of our own, and writes what their
pg_settings say (type, unit, min, max, enum values, context, and the value a
fresh initdb gives) to pgtune_hx/tune/data/pgNN.json. String settings (paths,
locales) are left out: the tuner never proposes them.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import psycopg
from psycopg.rows import dict_row

from pgtune_hx.embedded import SYSTEM_PG15, EmbeddedServer
from pgtune_hx.embedded.server import embedded_server

OUT = Path(__file__).resolve().parent.parent / "pgtune_hx" / "tune" / "data"
QUERY = """
select name, vartype, unit, min_val, max_val, enumvals, context, reset_val
from pg_settings
where vartype <> 'string' and name not like '%.%'
order by name
"""


def number(text: str | None) -> float | int | None:
    if text is None:
        return None
    value = float(text)
    return int(value) if value.is_integer() and abs(value) < 2**53 else value


def dump(server: EmbeddedServer) -> dict[str, Any]:
    with psycopg.connect(server.dsn(), row_factory=dict_row) as conn:
        version = conn.execute("show server_version").fetchone()
        rows = conn.execute(QUERY).fetchall()
    assert version is not None
    settings = {
        row["name"]: {
            "vartype": row["vartype"],
            "unit": row["unit"],
            "min_val": number(row["min_val"]),
            "max_val": number(row["max_val"]),
            "enumvals": row["enumvals"],
            "context": row["context"],
            "default": row["reset_val"],
        }
        for row in rows
    }
    return {
        "generated_by": "scripts/gen_tune_bounds.py",
        "server_version": version["server_version"].split()[0],
        "settings": settings,
    }


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    for bin_dir in (None, SYSTEM_PG15):
        if bin_dir is not None and not (bin_dir / "postgres").exists():
            print(f"skipping {bin_dir}: not installed", file=sys.stderr)
            continue
        # no pgtune_hx.conf settings: the table must show initdb's defaults
        with embedded_server(None, bin_dir, settings={}) as server:
            server.settings = {}
            server.restart()
            data = dump(server)
        major = int(data["server_version"].split(".")[0])
        path = OUT / f"pg{major}.json"
        path.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
        print(f"wrote {path} ({len(data['settings'])} settings, {data['server_version']})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
