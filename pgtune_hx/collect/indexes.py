"""indexes: pg_stat_user_indexes + pg_index + the parsed definition.

``indexdef`` is the definition as pg_get_indexdef prints it: rebuilt from the
catalogs for indexes on plain columns (indexdef_source 'catalog', one catalog
query for all of them, no relation opened), read with pg_get_indexdef for
expression and partial indexes ('pg_get_indexdef'). Derived columns come from
``indexdef`` parsed with pglast (see indexdef.py): columns, expressions,
opclasses, orderings, collations, include, predicate, nulls_not_distinct,
index_options, parse_error. For an index whose table is under ACCESS EXCLUSIVE
pg_get_indexdef would wait: then indexdef is null ('none'), the key and INCLUDE
columns come from pg_attribute, expressions and predicate are unknown (None),
and the index is in ``skipped``.
"""

from __future__ import annotations

from typing import Any

from pgtune_hx.collect import indexdef
from pgtune_hx.collect.model import Section
from pgtune_hx.collect.runner import Context, fetch, fetch_tuples
from pgtune_hx.collect.tables import measured_section

# helper columns of the query, not part of the section
_HELPERS = ("plain", "with_options", "index_ident")


def derive(row: dict[str, Any], catalog: indexdef.IndexCatalog) -> dict[str, Any]:
    """indexdef, its source and the parsed columns of one index row."""
    definition = row.get("indexdef")
    source = "pg_get_indexdef" if definition else "none"
    if row.get("plain") and not row.get("locked"):
        definition = indexdef.rebuild(row, catalog)
        source = "catalog" if definition else "none"
    if definition:
        parsed = indexdef.parsed_columns(definition, row.get("table_ident"))
        return {"indexdef": definition, "indexdef_source": source, **parsed}
    names = catalog.names(row["relid"], list(row.get("indkey") or []))
    keys = int(row.get("indnkeyatts") or len(names))
    reason = "definition not read: table locked" if row.get("locked") else "definition unknown"
    parsed = indexdef.IndexShape(parse_error=reason).to_columns()
    parsed.update(
        columns=names[:keys],
        expressions=None,
        opclasses=None,
        orderings=None,
        collations=None,
        include=[n for n in names[keys:] if n is not None],
        predicate=None,
    )
    return {"indexdef": None, "indexdef_source": source, **parsed}


def collect(ctx: Context) -> list[Section]:
    result = measured_section(ctx, "indexes", "definition")
    column_rows = fetch_tuples(ctx, "index_columns")
    _, catalog_rows = fetch(ctx, "index_catalog")
    catalog = indexdef.IndexCatalog.from_rows(column_rows, catalog_rows[0] if catalog_rows else {})
    for row in result.rows:
        row.update(derive(row, catalog))
        for helper in _HELPERS:
            row.pop(helper, None)
    columns = [c for c in result.columns if c not in _HELPERS]
    result.columns = columns + [
        c for c in ("indexdef_source", *indexdef.PARSED_COLUMNS) if c not in columns
    ]
    return [result]
