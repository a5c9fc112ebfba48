"""The ``estimate`` verification method: index plans costed from pg_stats.

Used when neither HypoPG nor ``--allow-writes`` is available (and for GIN,
which HypoPG cannot simulate). It follows the planner's own formulas in a
simplified form, with the session's cost settings:

- selectivities from pg_stats (MCV frequencies, n_distinct, null_frac) and
  the planner's defaults where it has nothing better (1/3 for an inequality,
  0.005 for a range or an unknown equality, 0.01 for containment and
  pattern matches);
- heap pages from the Mackert-Lohman formula, random or sequential by the
  key's correlation, bitmap-style when no order is needed;
- a LIMIT over an index that gives the ORDER BY reads only the rows needed
  (divided by the selectivity of the filters the index does not bound);
- an index led by a join key is costed as the inner side of a nested loop.

The result replaces the scan of that table in the current plan. It is an
estimate, and reported as one (``verified_by: estimate``).
"""

from __future__ import annotations

import math

from pgtune_hx.advise.catalog import Catalog, ColumnStats, Session, TableInfo
from pgtune_hx.advise.model import IndexDef, KeyPart, WorkloadQuery
from pgtune_hx.analyze.plan import Plan, PlanNode
from pgtune_hx.analyze.query_model import Predicate, TableRef

BLOCK = 8192
FILLFACTOR = 0.9
DEFAULT_EQ_SEL = 0.005
DEFAULT_INEQ_SEL = 1.0 / 3.0
DEFAULT_RANGE_SEL = 0.005
DEFAULT_MATCH_SEL = 0.01
DEFAULT_LIMIT_FRACTION = 0.1  # LIMIT $n in a generic plan


def _text_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def predicate_selectivity(p: Predicate, stats: dict[str, ColumnStats]) -> float:
    """Fraction of rows a predicate keeps, as the planner would estimate it."""
    st = stats.get(p.target.column) if p.target.is_column else None
    kind = p.kind
    if kind == "containment" or (kind == "like" and not (p.like and p.like.anchored)):
        return DEFAULT_MATCH_SEL
    if kind == "like":
        return DEFAULT_RANGE_SEL
    if kind == "range":
        return DEFAULT_RANGE_SEL if p.operator == "BETWEEN" else DEFAULT_INEQ_SEL
    if st is None:
        return DEFAULT_EQ_SEL if kind in ("equality", "null") else 0.5
    if p.operator == "IS NULL":
        return st.null_frac
    if p.operator == "IS NOT NULL":
        return 1.0 - st.null_frac
    if kind != "equality":
        return 0.5
    if p.operand.kind == "const" and p.operand.value is not None:
        return st.frequency(_text_value(p.operand.value))
    if p.operand.kind == "list" and p.operand.items:
        consts = [i for i in p.operand.items if i.kind == "const" and i.value is not None]
        if len(consts) == len(p.operand.items):
            return min(1.0, sum(st.frequency(_text_value(i.value)) for i in consts))
        return min(1.0, len(p.operand.items) / st.distinct)
    return 1.0 / st.distinct


def same_predicate(a: Predicate, b: Predicate) -> bool:
    return (
        a.target.sql == b.target.sql
        and a.operator == b.operator
        and a.operand.text == b.operand.text
    )


def estimate_size(index: IndexDef, info: TableInfo | None, catalog: Catalog) -> int:
    """Bytes of an index from reltuples and pg_stats average widths.

    btree: leaf tuples of 8 bytes header + MAXALIGN(data) + 4 bytes line
    pointer, pages 90% full, +1% inner pages, +1 metapage. GIN: about the
    width of the indexed data (a rough figure, enough to rank candidates).
    """
    if info is None:
        return 0
    stats = catalog.stats(info)
    rows = info.reltuples
    for p in index.partial:
        rows *= predicate_selectivity(p, stats)
    widths = []
    for key in index.keys:
        st = stats.get(key.column)
        widths.append(st.avg_width if st and not key.is_expression else 16)
    widths += [stats[c].avg_width if c in stats else 8 for c in index.include]
    data = sum(widths)
    if index.method == "gin":
        return int(max(BLOCK * 2, rows * max(data, 8)))
    tuple_bytes = 8 + 8 * math.ceil(data / 8) + 4
    per_page = max(1, int((BLOCK * FILLFACTOR - 24) // tuple_bytes))
    pages = math.ceil(rows / per_page) * 1.01 + 1
    return int(pages * BLOCK)


def _pages_fetched(rows: float, pages: float) -> float:
    """Mackert-Lohman: distinct heap pages touched fetching ``rows`` rows."""
    if pages <= 0:
        return 0.0
    return min(pages, 2 * pages * rows / (2 * pages + rows))


def _heap_cost(rows: float, info: TableInfo, corr: float, s: Session, *, ordered: bool) -> float:
    pages = _pages_fetched(rows, float(info.relpages))
    if pages < 1:
        return 0.0
    per_row_pages = max(1.0, rows * info.relpages / max(info.reltuples, 1.0))
    max_io = pages * s.random_page_cost
    min_io = min(pages, per_row_pages) * s.seq_page_cost
    index_scan = max_io + corr * corr * (min_io - max_io)
    if ordered:
        return index_scan
    per_page = (
        s.random_page_cost
        - (s.random_page_cost - s.seq_page_cost) * math.sqrt(pages / max(info.relpages, 1))
        if pages >= 2
        else s.random_page_cost
    )
    return min(index_scan, pages * per_page)


def _index_cost(index: IndexDef, info: TableInfo, rows: float, catalog: Catalog) -> float:
    s = catalog.session
    pages = estimate_size(index, info, catalog) / BLOCK
    entries = max(info.reltuples, 1.0)
    leaf = max(1.0, pages * rows / entries)
    descent = s.random_page_cost * max(1.0, math.log(max(entries, 2.0), 256))
    cost = descent + leaf * s.random_page_cost + rows * s.cpu_index_tuple_cost
    if index.method == "gin":
        cost += rows * s.cpu_operator_cost * 4  # rechecks of the matched rows
    return cost


def _key_preds(key: KeyPart, preds: list[Predicate]) -> list[Predicate]:
    return [
        p
        for p in preds
        if p.target.column == key.column
        and (key.expression is None) == p.target.is_column
        and (key.expression is None or key.expression == p.target.sql)
    ]


def _bounds(
    index: IndexDef, preds: list[Predicate], stats: dict[str, ColumnStats]
) -> tuple[float, list[Predicate], int]:
    """Selectivity of the predicates the index bounds, them, and how many
    leading keys are bound by equalities."""
    sel = 1.0
    used: list[Predicate] = []
    equal_prefix = 0
    for key in index.keys:
        matching = _key_preds(key, preds)
        if index.method == "gin":
            found = [p for p in matching if p.kind in ("containment", "like")]
            for p in found:
                sel *= predicate_selectivity(p, stats)
            used += found
            break
        eq = [p for p in matching if p.kind in ("equality", "null")]
        if eq:
            sel *= predicate_selectivity(eq[0], stats)
            used.append(eq[0])
            equal_prefix += 1
            continue
        rng = [p for p in matching if p.kind in ("range", "like")]
        if rng and (key.opclass is None or key.opclass.endswith("pattern_ops")):
            sel *= predicate_selectivity(rng[0], stats)
            used.append(rng[0])
        break
    return sel, used, equal_prefix


def _serves_order(index: IndexDef, query: WorkloadQuery, ref: TableRef, skip: int) -> bool:
    block = query.facts.block(ref.scope)
    if block is None or not block.order_by or index.method != "btree":
        return False
    if not all(k.table == ref and k.target is not None for k in block.order_by):
        return False
    keys = index.keys[skip:]
    if len(keys) < len(block.order_by):
        return False
    flips = set()
    for want, have in zip(block.order_by, keys, strict=False):
        assert want.target is not None
        if (
            want.target.column != have.column
            or (want.target.sql if not want.target.is_column else None) != have.expression
        ):
            return False
        have_nulls = have.descending if have.nulls_first is None else have.nulls_first
        if (have.descending, have_nulls) == (want.descending, want.effective_nulls_first):
            flips.add(False)
        elif (have.descending, have_nulls) == (not want.descending, not want.effective_nulls_first):
            flips.add(True)
        else:
            return False
    return len(flips) == 1


def _scan_for(plan: Plan, index: IndexDef, ref: TableRef) -> PlanNode | None:
    scans = [
        n
        for n in plan.nodes()
        if n.relation == index.table
        and n.schema in (None, index.schema)
        and n.node_type.endswith("Scan")
    ]
    if not scans:
        return None
    aliased = [n for n in scans if n.alias == ref.alias]
    return max(aliased or scans, key=lambda n: n.total_cost)


def _parent_hash_cost(plan: Plan, scan: PlanNode) -> float:
    for node in plan.nodes():
        if node.node_type == "Hash" and scan in node.children:
            return node.exclusive_cost
    return 0.0


def _replace(plan: Plan, old: float, new: float) -> float | None:
    saved = old - new
    if saved <= 0:
        return None
    return max(new, plan.total_cost - saved)


def estimate_cost(
    query: WorkloadQuery, group: tuple[IndexDef, ...], plan: Plan, catalog: Catalog
) -> float | None:
    """The plan's total cost with the group's index(es) in place; None if unusable."""
    first = group[0]
    info = catalog.table(first.schema, first.table)
    if info is None:
        return None
    best: float | None = None
    for ref in query.facts.tables:
        if ref.key != (first.schema, first.table):
            continue
        scan = _scan_for(plan, first, ref)
        if scan is None:
            continue
        if len(group) > 1:
            cost = _or_cost(query, ref, group, plan, scan, info, catalog)
        else:
            cost = _single_cost(query, ref, first, plan, scan, info, catalog)
        if cost is not None and (best is None or cost < best):
            best = cost
    return best


def _or_cost(
    query: WorkloadQuery,
    ref: TableRef,
    group: tuple[IndexDef, ...],
    plan: Plan,
    scan: PlanNode,
    info: TableInfo,
    catalog: Catalog,
) -> float | None:
    """A BitmapOr over one index per OR branch."""
    s = catalog.session
    stats = catalog.stats(info)
    preds = [p for p in query.facts.predicates_on(ref) if not p.negated]
    branches = [p for p in preds if p.in_or]
    if not branches:
        return None
    sel = 0.0
    cost = 0.0
    for p in branches:
        member = next((i for i in group if _key_preds(i.keys[0], [p])), None)
        if member is None:
            return None
        part = predicate_selectivity(p, stats)
        sel += part
        cost += _index_cost(member, info, info.reltuples * part, catalog)
    rows = info.reltuples * min(1.0, sel)
    cost += _heap_cost(rows, info, 0.0, s, ordered=False)
    cost += rows * (s.cpu_tuple_cost + s.cpu_operator_cost * len(preds))
    return _replace(plan, scan.total_cost, cost)


def _single_cost(
    query: WorkloadQuery,
    ref: TableRef,
    index: IndexDef,
    plan: Plan,
    scan: PlanNode,
    info: TableInfo,
    catalog: Catalog,
) -> float | None:
    s = catalog.session
    stats = catalog.stats(info)
    facts = query.facts
    plain = [p for p in facts.predicates_on(ref) if not p.negated and not p.in_or]
    implied = [p for p in plain if any(same_predicate(p, w) for w in index.partial)]
    if len(implied) < len(index.partial):
        return None  # the statement does not imply the partial predicate
    partial_fraction = 1.0
    for p in index.partial:
        partial_fraction *= predicate_selectivity(p, stats)
    open_preds = [p for p in plain if p not in implied]
    bound_sel, bound, equal_prefix = _bounds(index, open_preds, stats)
    ordered = _serves_order(index, query, ref, equal_prefix)
    if not bound and not ordered and not index.partial:
        return _join_cost(query, ref, index, plan, scan, info, catalog)
    remaining = [p for p in open_preds if p not in bound]
    rest_sel = 1.0
    for p in remaining:
        rest_sel *= predicate_selectivity(p, stats)
    visited = max(1.0, info.reltuples * partial_fraction * bound_sel)
    returned = visited * rest_sel
    fraction = 1.0
    block = facts.block(ref.scope)
    if ordered and block is not None and block.limit is not None:
        if block.limit.count is not None:
            fraction = min(1.0, block.limit.count / max(returned, 1.0))
        elif block.limit.param is not None:
            fraction = DEFAULT_LIMIT_FRACTION
    visited *= fraction
    corr = stats[index.keys[0].column].correlation if index.keys[0].column in stats else None
    needed = facts.columns_of(ref)
    stored = set(index.columns) | {p.target.column for p in implied}
    covering = index.method == "btree" and needed is not None and set(needed) <= stored
    heap = _heap_cost(visited, info, corr or 0.0, s, ordered=ordered)
    if covering:
        heap *= 1.0 - info.allvisible_fraction
    cost = (
        _index_cost(index, info, visited, catalog)
        + heap
        + visited * (s.cpu_tuple_cost + s.cpu_operator_cost * len(remaining))
    )
    old = scan.total_cost
    if ordered:
        old += sum(
            n.exclusive_cost for n in plan.nodes() if n.node_type in ("Sort", "Incremental Sort")
        )
    return _replace(plan, old, cost)


def _join_cost(
    query: WorkloadQuery,
    ref: TableRef,
    index: IndexDef,
    plan: Plan,
    scan: PlanNode,
    info: TableInfo,
    catalog: Catalog,
) -> float | None:
    """The index as the inner side of a nested loop on a join key."""
    key = index.keys[0]
    if index.method != "btree" or key.is_expression:
        return None
    others = [
        (j.right, j.right_column) if j.left == ref else (j.left, j.left_column)
        for j in query.facts.joins_on(ref)
        if j.operator == "=" and (j.side(ref) or key).column == key.column
    ]
    if not others:
        return None
    outer_rows = 0.0
    distinct = 1.0
    st = catalog.stats(info).get(key.column)
    if st is not None:
        distinct = st.distinct
    for other, column in others:
        for node in plan.nodes():
            if node.relation == other.name and node.alias in (None, other.alias):
                outer_rows = max(outer_rows, node.plan_rows * (node.loops or 1))
        other_info = catalog.table(other.schema, other.name)
        other_st = catalog.stats(other_info).get(column.column) if other_info else None
        if other_st is not None:
            distinct = max(distinct, other_st.distinct)  # eqjoinsel: 1 / max(nd1, nd2)
    if outer_rows <= 0:
        return None
    s = catalog.session
    per_loop = info.reltuples / distinct if st else info.reltuples * DEFAULT_EQ_SEL
    # as the planner does for repeated scans (loop_count): pages are counted
    # once over all loops (Mackert-Lohman), the rest is CPU per loop
    rows = outer_rows * per_loop
    index_pages = estimate_size(index, info, catalog) / BLOCK
    leaf_per_loop = max(1.0, index_pages * per_loop / max(info.reltuples, 1.0))
    pages = _pages_fetched(rows, float(info.relpages)) + _pages_fetched(
        outer_rows * leaf_per_loop, index_pages
    )
    cost = pages * s.random_page_cost + outer_rows * (
        per_loop * (s.cpu_index_tuple_cost + s.cpu_tuple_cost)
        + s.cpu_operator_cost * math.log2(max(info.reltuples, 2.0))
    )
    return _replace(plan, scan.total_cost + _parent_hash_cost(plan, scan), cost)
