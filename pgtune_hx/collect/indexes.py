"""indexes: pg_stat_user_indexes + pg_index + the parsed definition.

Derived columns come from ``indexdef`` parsed with pglast (see indexdef.py):
columns, expressions, opclasses, orderings, collations, include, predicate,
nulls_not_distinct, index_options, parse_error. ``indexdef`` is rebuilt from
the catalogs for plain-column indexes and read with pg_get_indexdef for the
others (indexdef_source). For an index whose table is under ACCESS EXCLUSIVE
pg_get_indexdef would wait: then the key and INCLUDE columns come from
pg_attribute (``catalog_columns``), expressions and predicate are unknown
(None), and the index is in ``skipped``.
"""

from __future__ import annotations

from typing import Any

from pgtune_hx.collect import indexdef
from pgtune_hx.collect.model import Section
from pgtune_hx.collect.runner import Context
from pgtune_hx.collect.tables import measured_section


def derive(row: dict[str, Any]) -> dict[str, Any]:
    """The parsed columns of one index row."""
    definition = row.get("indexdef")
    if definition:
        return indexdef.parse(definition, row.get("table_ident")).to_columns()
    names: list[Any] = list(row.get("catalog_columns") or [])
    keys = int(row.get("indnkeyatts") or len(names))
    parsed = indexdef.IndexShape(parse_error="definition not read: table locked").to_columns()
    parsed.update(
        columns=names[:keys],
        expressions=None,
        opclasses=None,
        orderings=None,
        collations=None,
        include=[n for n in names[keys:] if n is not None],
        predicate=None,
    )
    return parsed


def collect(ctx: Context) -> list[Section]:
    result = measured_section(ctx, "indexes", "definition and size")
    for row in result.rows:
        row.update(derive(row))
    if result.rows:
        result.columns = list(result.rows[0].keys())
    else:
        result.columns += [c for c in indexdef.PARSED_COLUMNS if c not in result.columns]
    return [result]
