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

Rows are processed as value lists, not dicts: 20,000 indexes are common.
"""

from __future__ import annotations

import operator
from typing import Any

from pgtune_hx.collect import indexdef
from pgtune_hx.collect.model import Section
from pgtune_hx.collect.runner import Context, fetch, fetch_tuples
from pgtune_hx.collect.tables import measured_section

# helper columns of the query, not part of the section
_HELPERS = ("plain", "with_options", "index_ident")
DERIVED = ["indexdef_source", *indexdef.PARSED_COLUMNS]


def unread_columns(
    relid: int, indkey: list[int], nkeys: int, locked: bool, catalog: indexdef.IndexCatalog
) -> dict[str, Any]:
    """Parsed columns of an index whose definition was not read: names from pg_attribute."""
    names = catalog.names(relid, indkey)
    reason = "definition not read: table locked" if locked else "definition unknown"
    parsed = indexdef.IndexShape(parse_error=reason).to_columns()
    parsed.update(
        columns=names[:nkeys],
        expressions=None,
        opclasses=None,
        orderings=None,
        collations=None,
        include=[n for n in names[nkeys:] if n is not None],
        predicate=None,
    )
    return parsed


def collect(ctx: Context) -> list[Section]:
    result = measured_section(ctx, "indexes", "definition")
    column_rows = fetch_tuples(ctx, "index_columns")
    _, catalog_rows = fetch(ctx, "index_catalog")
    catalog = indexdef.IndexCatalog.from_rows(column_rows, catalog_rows[0] if catalog_rows else {})

    columns = result.columns
    position = {c: i for i, c in enumerate(columns)}
    fields = operator.itemgetter(*(position[f] for f in indexdef.IndexFields._fields))
    keep = [i for i, c in enumerate(columns) if c not in _HELPERS]
    kept = operator.itemgetter(*keep)
    at = {c: position[c] for c in ("indexdef", "plain", "locked", "table_ident")}
    out_indexdef = keep.index(at["indexdef"])
    data: list[list[Any]] = []
    for values in result.data_rows():
        definition = values[at["indexdef"]]
        source = "pg_get_indexdef" if definition else "none"
        row_fields = indexdef.IndexFields._make(fields(values))
        if values[at["plain"]] and not values[at["locked"]]:
            definition = indexdef.rebuild(row_fields, catalog)
            source = "catalog" if definition else "none"
        if definition:
            parsed = indexdef.parsed_values(definition, values[at["table_ident"]])
        else:
            unread = unread_columns(
                row_fields.relid,
                list(row_fields.indkey or []),
                int(row_fields.indnkeyatts),
                bool(values[at["locked"]]),
                catalog,
            )
            parsed = tuple(unread[c] for c in indexdef.PARSED_COLUMNS)
        row = list(kept(values))
        row[out_indexdef] = definition
        row.append(source)
        row.extend(parsed)
        data.append(row)
    return [
        Section(
            "indexes",
            [columns[i] for i in keep] + DERIVED,
            data=data,
            skipped=result.skipped,
        )
    ]
