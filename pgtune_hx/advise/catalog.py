"""What the advisor needs to know about tables, read once per table and cached.

The SQL lives in ``pgtune_hx/advise/sql/*.sql``; values go in as bind
parameters. ``Catalog.lookup`` is the lookup callable of the query facts
extractor (names checked against the catalog, views expanded).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

from pgtune_hx.advise.existing import ExistingIndex, parse_index
from pgtune_hx.analyze.query import RelationInfo
from pgtune_hx.db import Connection, translated

KINDS = {"r": "table", "p": "partitioned", "m": "matview", "v": "view", "f": "foreign"}
TEXT_TYPES = frozenset({"text", "varchar", "bpchar", "citext", "name"})


@cache
def load_sql(name: str) -> str:
    return resources.files("pgtune_hx.advise").joinpath("sql", f"{name}.sql").read_text()


@dataclass(frozen=True)
class ColumnInfo:
    name: str
    type: str
    typname: str
    typcategory: str
    typlen: int
    notnull: bool
    collation: str | None

    @property
    def is_text(self) -> bool:
        return self.typname in TEXT_TYPES

    @property
    def is_jsonb(self) -> bool:
        return self.typname == "jsonb"

    @property
    def is_array(self) -> bool:
        return self.typcategory == "A"


@dataclass(frozen=True)
class ColumnStats:
    """pg_stats of one column; ``distinct`` is n_distinct turned into a count."""

    null_frac: float
    avg_width: int
    distinct: float
    mcv: tuple[str, ...]
    mcf: tuple[float, ...]
    correlation: float | None

    def frequency(self, value: str) -> float:
        """Share of rows equal to ``value`` (text form), from the MCV list or
        what the rest of the distinct values share, as the planner does."""
        if value in self.mcv:
            return self.mcf[self.mcv.index(value)]
        rest = max(0.0, 1.0 - sum(self.mcf) - self.null_frac)
        others = max(1.0, self.distinct - len(self.mcv))
        return min(rest, rest / others)


@dataclass(frozen=True)
class TableActivity:
    n_tup_ins: int
    n_tup_upd: int
    n_tup_del: int
    n_tup_hot_upd: int
    n_live_tup: int
    seq_scan: int
    idx_scan: int
    window_s: float

    def per_second(self, count: float) -> float:
        return count / self.window_s if self.window_s > 0 else 0.0

    @property
    def index_writes(self) -> int:
        """Rows each new index must absorb: inserts and non-HOT updates."""
        return self.n_tup_ins + max(0, self.n_tup_upd - self.n_tup_hot_upd)


@dataclass
class TableInfo:
    schema: str
    name: str
    oid: int
    kind: str
    reltuples: float
    relpages: int
    relallvisible: int
    table_bytes: int | None
    view_sql: str | None
    columns: dict[str, ColumnInfo]
    _stats: dict[str, ColumnStats] | None = field(default=None, repr=False)
    _indexes: list[ExistingIndex] | None = field(default=None, repr=False)
    _activity: TableActivity | None = field(default=None, repr=False)

    @property
    def qualified(self) -> str:
        return f"{self.schema}.{self.name}"

    @property
    def allvisible_fraction(self) -> float:
        return min(1.0, self.relallvisible / self.relpages) if self.relpages else 0.0


@dataclass(frozen=True)
class Session:
    search_path: tuple[str, ...]
    collate: str
    random_page_cost: float
    seq_page_cost: float
    cpu_tuple_cost: float
    cpu_index_tuple_cost: float
    cpu_operator_cost: float

    @property
    def c_collation(self) -> bool:
        """LIKE 'abc%' can use a plain btree only under the C collation."""
        return self.collate in ("C", "POSIX")


class Catalog:
    """Lazy, cached reads of the catalog and statistics through one connection."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self._tables: dict[tuple[str, str], TableInfo | None] = {}
        self._session: Session | None = None

    def _rows(self, name: str, params: dict[str, Any], what: str) -> list[dict[str, Any]]:
        with translated(what):
            return self.conn.execute(load_sql(name).encode(), params).fetchall()

    @property
    def session(self) -> Session:
        if self._session is None:
            (row,) = self._rows("session", {}, "reading the search path")
            self._session = Session(
                search_path=tuple(row["search_path"] or ()),
                collate=str(row["collate"]),
                random_page_cost=float(row["random_page_cost"]),
                seq_page_cost=float(row["seq_page_cost"]),
                cpu_tuple_cost=float(row["cpu_tuple_cost"]),
                cpu_index_tuple_cost=float(row["cpu_index_tuple_cost"]),
                cpu_operator_cost=float(row["cpu_operator_cost"]),
            )
        return self._session

    def table(self, schema: str | None, name: str) -> TableInfo | None:
        if schema is None:
            return None
        key = (schema, name)
        if key not in self._tables:
            rows = self._rows("relation", {"schema": schema, "name": name}, "reading the catalog")
            self._tables[key] = _table(rows[0]) if rows else None
        return self._tables[key]

    def lookup(self, schema: str, name: str) -> RelationInfo | None:
        """The query facts' catalog callable."""
        info = self.table(schema, name)
        if info is None:
            return None
        return RelationInfo(
            schema=info.schema,
            name=info.name,
            kind=info.kind,
            columns=tuple(info.columns),
            view_sql=info.view_sql,
        )

    def stats(self, info: TableInfo) -> dict[str, ColumnStats]:
        if info._stats is None:
            rows = self._rows(
                "column_stats", {"schema": info.schema, "name": info.name}, "reading pg_stats"
            )
            info._stats = {str(r["column"]): _stats(r, info.reltuples) for r in rows}
        return info._stats

    def indexes(self, info: TableInfo) -> list[ExistingIndex]:
        if info._indexes is None:
            rows = self._rows("indexes", {"oid": info.oid}, "reading the table's indexes")
            info._indexes = [parse_index(r) for r in rows]
        return info._indexes

    def activity(self, info: TableInfo) -> TableActivity | None:
        if info._activity is None:
            rows = self._rows("table_activity", {"oid": info.oid}, "reading pg_stat_user_tables")
            if not rows:
                return None
            r = rows[0]
            info._activity = TableActivity(
                n_tup_ins=int(r["n_tup_ins"]),
                n_tup_upd=int(r["n_tup_upd"]),
                n_tup_del=int(r["n_tup_del"]),
                n_tup_hot_upd=int(r["n_tup_hot_upd"]),
                n_live_tup=int(r["n_live_tup"]),
                seq_scan=int(r["seq_scan"]),
                idx_scan=int(r["idx_scan"]),
                window_s=float(r["window_s"] or 0.0),
            )
        return info._activity


def _table(row: dict[str, Any]) -> TableInfo:
    columns = {
        str(c["name"]): ColumnInfo(
            name=str(c["name"]),
            type=str(c["type"]),
            typname=str(c["typname"]),
            typcategory=str(c["typcategory"]),
            typlen=int(c["typlen"]),
            notnull=bool(c["notnull"]),
            collation=c.get("collation"),
        )
        for c in row["columns"] or []
    }
    return TableInfo(
        schema=str(row["schema"]),
        name=str(row["name"]),
        oid=int(row["oid"]),
        kind=KINDS.get(str(row["relkind"]), "other"),
        reltuples=float(row["reltuples"] or 0.0),
        relpages=int(row["relpages"] or 0),
        relallvisible=int(row["relallvisible"] or 0),
        table_bytes=int(row["table_bytes"]) if row["table_bytes"] is not None else None,
        view_sql=row["view_sql"],
        columns=columns,
    )


def _stats(row: dict[str, Any], reltuples: float) -> ColumnStats:
    nd = float(row["n_distinct"] or 0.0)
    distinct = -nd * reltuples if nd < 0 else nd
    return ColumnStats(
        null_frac=float(row["null_frac"] or 0.0),
        avg_width=int(row["avg_width"] or 0),
        distinct=max(distinct, 1.0),
        mcv=tuple(str(v) for v in row["mcv"] or ()),
        mcf=tuple(float(f) for f in row["mcf"] or ()),
        correlation=float(row["correlation"]) if row["correlation"] is not None else None,
    )
