"""Index candidates from query facts (docs/advisor.md, "Candidate rules").

For each relation occurrence of each statement:

- btree keys in equality, range, order order: equality columns first (most
  selective first), then one range column, or the ORDER BY keys (DESC/NULLS
  only where a backward scan cannot give the order), or a join key (the inner
  side of a nested loop looks rows up by it);
- INCLUDE columns so the statement can be answered by an index-only scan;
- partial indexes for constant predicates (``deleted_at IS NULL``, a rare
  ``status`` value from pg_stats), low-cardinality constants moved from the
  keys into the WHERE;
- expression keys (``lower(email)``, ``data ->> 'k'``, ``date_trunc(...)``);
- GIN: ``jsonb_path_ops`` for jsonb containment (``jsonb_ops`` when ``?``
  operators are used too), ``gin_trgm_ops`` for unanchored LIKE/ILIKE when
  pg_trgm is installed, the default opclass for array overlap/containment;
- OR: one index per branch, as a bundle (a BitmapOr needs all of them).

Rejected before any verification: tables too small to matter, candidates an
existing index covers, btree keys made only of low-cardinality columns.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from pgtune_hx.advise.catalog import Catalog, ColumnStats, TableInfo
from pgtune_hx.advise.estimate import predicate_selectivity
from pgtune_hx.advise.existing import covers
from pgtune_hx.advise.model import IndexDef, KeyPart, Rejection, WorkloadQuery
from pgtune_hx.analyze.query_model import ColumnExpr, Predicate, SortKey, TableRef, quote_ident

JSONB_PATH_OPS = frozenset({"@>", "@?", "@@"})
JSONB_OPS = JSONB_PATH_OPS | {"?", "?|", "?&"}
ARRAY_OPS = frozenset({"&&", "@>", "<@"})


@dataclass(frozen=True)
class CandidateRules:
    """Thresholds of candidate generation (keyword defaults, see docs/advisor.md)."""

    min_table_rows: float = 10_000
    low_cardinality: float = 10
    rare_fraction: float = 0.05
    max_include_columns: int = 6
    max_include_width: int = 96
    max_per_table_occurrence: int = 16


@dataclass(frozen=True)
class Candidate:
    """What the selection adds or not as a whole: usually one index, an OR bundle more."""

    indexes: tuple[IndexDef, ...]
    origins: frozenset[str] = field(default=frozenset())

    @property
    def table(self) -> tuple[str, str]:
        first = self.indexes[0]
        return first.schema, first.table

    @property
    def identity(self) -> tuple[object, ...]:
        return tuple(i.identity for i in self.indexes)

    @property
    def label(self) -> str:
        return " + ".join(i.describe() for i in self.indexes)


@dataclass
class _Occurrence:
    query: WorkloadQuery
    ref: TableRef
    info: TableInfo
    stats: dict[str, ColumnStats]


def generate(
    queries: Iterable[WorkloadQuery],
    catalog: Catalog,
    *,
    rules: CandidateRules = CandidateRules(),
    trigram: bool = False,
) -> tuple[list[Candidate], list[Rejection]]:
    """Candidates for a workload, deduplicated, with the rejections made on the way."""
    found: dict[tuple[object, ...], Candidate] = {}
    rejected: dict[tuple[str, str], Rejection] = {}
    for query in queries:
        for ref in query.facts.tables:
            info = catalog.table(ref.schema, ref.name)
            if info is None or info.kind not in ("table", "matview", "partitioned"):
                continue
            if not _interesting(query, ref):
                continue
            if info.reltuples < rules.min_table_rows:
                key = (info.qualified, "small-table")
                rejected.setdefault(
                    key,
                    Rejection(
                        info.qualified,
                        f"{info.reltuples:,.0f} rows: too small for an index to matter "
                        f"(< {rules.min_table_rows:,.0f})",
                        "small-table",
                    ),
                )
                continue
            occ = _Occurrence(query, ref, info, catalog.stats(info))
            existing = catalog.indexes(info)
            bundles, common = _bundles(occ, catalog, rules, trigram)
            if common is not None:
                rejected.setdefault((common.subject, common.code), common)
            for bundle in bundles:
                kept = []
                for index in bundle:
                    covering = next((e for e in existing if covers(e, index)), None)
                    if covering is not None:
                        key = (index.describe(), "covered")
                        rejected.setdefault(
                            key,
                            Rejection(
                                index.describe(),
                                f"an existing index covers it: {covering.name}",
                                "covered",
                            ),
                        )
                    else:
                        kept.append(index)
                if not kept:
                    continue
                reason = _low_cardinality(kept, occ.stats, rules)
                if reason:
                    key = (kept[0].describe(), "low-cardinality")
                    rejected.setdefault(
                        key, Rejection(kept[0].describe(), reason, "low-cardinality")
                    )
                    continue
                candidate = Candidate(tuple(kept), frozenset({query.id}))
                old = found.get(candidate.identity)
                if old is not None:
                    candidate = Candidate(old.indexes, old.origins | candidate.origins)
                found[candidate.identity] = candidate
    return list(found.values()), list(rejected.values())


def _interesting(query: WorkloadQuery, ref: TableRef) -> bool:
    facts = query.facts
    if facts.predicates_on(ref) or facts.joins_on(ref):
        return True
    block = facts.block(ref.scope)
    return bool(block and block.order_by and all(k.table == ref for k in block.order_by))


def _low_cardinality(
    indexes: list[IndexDef], stats: dict[str, ColumnStats], rules: CandidateRules
) -> str | None:
    for index in indexes:
        if index.method != "btree" or index.where is not None:
            continue
        distinct = 1.0
        for key in index.keys:
            st = stats.get(key.column)
            if key.is_expression or st is None:
                return None
            distinct *= st.distinct
        if distinct <= rules.low_cardinality:
            cols = ", ".join(k.column for k in index.keys)
            return (
                f"{cols} has only {distinct:.0f} distinct values: an index on it helps only "
                "as a partial index for a rare value"
            )
    return None


# -- building the candidates of one occurrence -----------------------------


def _key(target: ColumnExpr, opclass: str | None = None) -> KeyPart:
    return KeyPart(target.column, None if target.is_column else target.sql, opclass=opclass)


def _selectivity(p: Predicate, occ: _Occurrence) -> float:
    return predicate_selectivity(p, occ.stats)


def _where_sql(preds: list[Predicate]) -> str:
    parts = []
    for p in sorted(preds, key=lambda p: p.target.sql):
        target = p.target.sql if not p.target.is_column else quote_ident(p.target.column)
        if p.operator in ("IS NULL", "IS NOT NULL"):
            parts.append(f"{target} {p.operator}")
        elif p.operator == "IN" and p.operand.kind == "list":
            values = ", ".join(i.text or "NULL" for i in p.operand.items)
            parts.append(f"{target} IN ({values})")
        else:
            parts.append(f"{target} {p.operator} {p.operand.text}")
    return " AND ".join(parts)


def _order_keys(occ: _Occurrence) -> list[KeyPart]:
    block = occ.query.facts.block(occ.ref.scope)
    if block is None or not block.order_by:
        return []
    keys: list[SortKey] = list(block.order_by)
    if not all(k.table == occ.ref and k.target is not None for k in keys):
        return []
    # a backward scan reverses both direction and nulls order: start ascending
    flip = keys[0].descending
    out = []
    for k in keys:
        assert k.target is not None
        desc = k.descending != flip
        nulls_first = k.effective_nulls_first != flip
        out.append(
            KeyPart(
                k.target.column,
                None if k.target.is_column else k.target.sql,
                desc,
                None if nulls_first == desc else nulls_first,
            )
        )
    return out


def _dedupe(keys: list[KeyPart]) -> tuple[KeyPart, ...]:
    seen: set[str] = set()
    out = []
    for k in keys:
        if k.identity not in seen:
            seen.add(k.identity)
            out.append(k)
    return tuple(out)


def _bundles(
    occ: _Occurrence, catalog: Catalog, rules: CandidateRules, trigram: bool
) -> tuple[list[tuple[IndexDef, ...]], Rejection | None]:
    """The candidates of one relation occurrence, and the rejection of a
    constant on a few distinct values that is too common even for a partial index."""
    facts, ref, info = occ.query.facts, occ.ref, occ.info
    columns = info.columns
    preds = [
        p
        for p in facts.predicates_on(ref)
        if p.clause in ("where", "on")
        and not p.negated
        and p.target.column in columns
        and p.operand.is_comparable
    ]
    plain = [p for p in preds if not p.in_or]
    c_collation = catalog.session.c_collation

    eq: list[Predicate] = []
    partial: list[Predicate] = []
    for p in plain:
        if p.kind not in ("equality", "null") and p.operator != "IS NOT NULL":
            continue
        st = occ.stats.get(p.target.column)
        low = st is not None and p.target.is_column and st.distinct <= rules.low_cardinality
        if p.is_constant and (low or p.operator in ("IS NULL", "IS NOT NULL")):
            partial.append(p)  # a constant on a handful of values: a WHERE, not a key
        elif p.operator != "IS NOT NULL":
            eq.append(p)
    eq.sort(key=lambda p: _selectivity(p, occ))
    eq_keys = [_key(p.target) for p in eq]

    ranges: list[KeyPart] = []
    for p in plain:
        if p.kind == "range":
            ranges.append(_key(p.target))
        elif p.operator == "LIKE" and p.like is not None and p.like.anchored:
            col = columns[p.target.column]
            if not col.is_text:
                continue
            if c_collation or col.collation == "C":
                ranges.append(_key(p.target))
            else:
                ops = "varchar_pattern_ops" if col.typname == "varchar" else "text_pattern_ops"
                ranges.append(_key(p.target, ops))
    ranges = list(_dedupe(ranges))[:2]
    order = _order_keys(occ)
    joins = [
        side
        for j in facts.joins_on(ref)
        if j.operator == "=" and (side := j.side(ref)) is not None and side.column in columns
    ]

    variants: list[tuple[tuple[KeyPart, ...], tuple[str, ...]]] = []
    if eq_keys:
        variants.append((_dedupe(eq_keys), ("equality",)))
    for r in ranges:
        variants.append((_dedupe([*eq_keys, r]), ("equality", "range") if eq_keys else ("range",)))
    if order:
        variants.append(
            (_dedupe([*eq_keys, *order]), ("equality", "order") if eq_keys else ("order",))
        )
    for j in joins:
        variants.append((_dedupe([_key(j)]), ("join",)))
        if eq_keys:
            variants.append((_dedupe([*eq_keys, _key(j)]), ("equality", "join")))

    out: list[tuple[IndexDef, ...]] = []

    def add(
        keys: tuple[KeyPart, ...],
        kinds: tuple[str, ...],
        where: str | None,
        include: tuple[str, ...] = (),
    ) -> None:
        if keys:
            preds = tuple(partial) if where is not None else ()
            out.append(
                (IndexDef(info.schema, info.name, keys, include, where, "btree", kinds, preds),)
            )

    where = _where_sql(partial) if partial else None
    rare = bool(partial) and _combined(partial, occ) <= rules.rare_fraction
    for keys, kinds in variants:
        add(keys, kinds, None)
        if where is not None:
            add(keys, (*kinds, "partial"), where)
    common = None
    if where is not None and not variants:
        if rare:
            add((_key(partial[0].target),), ("partial",), where)
        else:
            share = _combined(partial, occ)
            common = Rejection(
                f"{info.qualified} WHERE {where}",
                f"{where} matches {share:.0%} of the rows, on a column with a handful of "
                "distinct values: neither an index nor a partial index would help",
                "low-cardinality",
            )

    include_cols = _covering(occ, rules)
    if include_cols is not None:
        # a column only tested by the partial predicate need not be stored (9.6+)
        in_where = {p.target.column for p in partial}
        for keys, kinds in variants:
            stored = {k.column for k in keys if not k.is_expression}
            for with_where in [False, True] if where is not None else [False]:
                skip = stored | (in_where if with_where else set())
                extra = tuple(c for c in include_cols if c not in skip)
                if extra and len(extra) <= rules.max_include_columns:
                    kind = (*kinds, "covering", "partial") if with_where else (*kinds, "covering")
                    add(keys, kind, where if with_where else None, extra)

    out.extend(_gin(occ, plain, trigram))
    bundle = _or_bundle(occ, [p for p in preds if p.in_or], trigram)
    if bundle:
        out.append(bundle)
    seen: set[tuple[object, ...]] = set()
    unique = []
    for b in out:
        ident = tuple(i.identity for i in b)
        if ident not in seen:
            seen.add(ident)
            unique.append(b)
    return unique[: rules.max_per_table_occurrence], common


def _combined(preds: list[Predicate], occ: _Occurrence) -> float:
    sel = 1.0
    for p in preds:
        sel *= _selectivity(p, occ)
    return sel


def _covering(occ: _Occurrence, rules: CandidateRules) -> tuple[str, ...] | None:
    """Columns to INCLUDE for an index-only scan, None when it cannot pay."""
    used = occ.query.facts.columns_of(occ.ref)
    if used is None or not used:
        return None
    used = frozenset(c for c in used if c in occ.info.columns)
    if len(used) > rules.max_include_columns + 3:
        return None
    width = sum(occ.stats[c].avg_width if c in occ.stats else 8 for c in used)
    if width > rules.max_include_width:
        return None
    return tuple(sorted(used))


def _gin(occ: _Occurrence, plain: list[Predicate], trigram: bool) -> list[tuple[IndexDef, ...]]:
    info = occ.info
    by_target: dict[ColumnExpr, set[str]] = {}
    trgm: list[ColumnExpr] = []
    for p in plain:
        col = info.columns[p.target.column]
        if (
            p.operator in JSONB_OPS
            and col.is_jsonb
            and (p.target.is_column or p.target.kind == "json_field")
        ) or (p.operator in ARRAY_OPS and col.is_array and p.target.is_column):
            by_target.setdefault(p.target, set()).add(p.operator)
        elif (
            trigram
            and p.kind == "like"
            and col.is_text
            and p.like is not None
            and (p.operator == "ILIKE" or not p.like.anchored)
        ):
            trgm.append(p.target)
    out: list[tuple[IndexDef, ...]] = []
    for target, ops in by_target.items():
        if info.columns[target.column].is_jsonb:
            opclass = "jsonb_path_ops" if ops <= JSONB_PATH_OPS else None
            kinds: tuple[str, ...] = ("jsonb",)
        else:
            opclass, kinds = None, ("array",)
        out.append(
            (IndexDef(info.schema, info.name, (_key(target, opclass),), (), None, "gin", kinds),)
        )
    for target in dict.fromkeys(trgm):
        out.append(
            (
                IndexDef(
                    info.schema,
                    info.name,
                    (_key(target, "gin_trgm_ops"),),
                    (),
                    None,
                    "gin",
                    ("trigram",),
                ),
            )
        )
    return out


def _or_bundle(occ: _Occurrence, in_or: list[Predicate], trigram: bool) -> tuple[IndexDef, ...]:
    """One single-key index per OR branch on this relation: a BitmapOr needs each."""
    info = occ.info
    indexes: dict[tuple[object, ...], IndexDef] = {}
    for p in in_or:
        col = info.columns[p.target.column]
        if p.kind in ("equality", "range", "null"):
            idx = IndexDef(info.schema, info.name, (_key(p.target),), (), None, "btree", ("or",))
        elif (
            p.kind == "like"
            and trigram
            and col.is_text
            and p.like is not None
            and not p.like.anchored
        ):
            idx = IndexDef(
                info.schema,
                info.name,
                (_key(p.target, "gin_trgm_ops"),),
                (),
                None,
                "gin",
                ("or", "trigram"),
            )
        elif p.operator in JSONB_OPS and col.is_jsonb:
            opclass = "jsonb_path_ops" if p.operator in JSONB_PATH_OPS else None
            idx = IndexDef(
                info.schema, info.name, (_key(p.target, opclass),), (), None, "gin", ("or", "jsonb")
            )
        else:
            return ()  # a branch no index serves: the BitmapOr cannot be built
        indexes[idx.identity] = idx
    return tuple(indexes.values())[:4]
