"""Workload-level selection: greedy benefit per byte (docs/advisor.md, "Selection").

Benefit of a candidate given the indexes already chosen is the execution time
it saves over the workload: for every statement whose what-if plan uses it,
``weight_ms x (cost_now - cost_with) / cost_without_any``. Its write penalty
is what every insert and non-HOT update of the table would pay to maintain
it, over the same window; if it indexes a column the workload's UPDATEs set
while they are HOT today, those updates stop being HOT (every index of the
table then pays) and the gain has to be ``decisive`` times the penalty. The
candidate with the best net benefit per byte is taken, until the count or
size cap; candidates that no longer serve any statement at the end go.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from pgtune_hx.advise.candidates import Candidate
from pgtune_hx.advise.catalog import Catalog
from pgtune_hx.advise.model import QueryGain, Rejection, WorkloadQuery
from pgtune_hx.advise.whatif import Created, PlanCost, WhatIf
from pgtune_hx.errors import PgtuneError


@dataclass(frozen=True)
class SelectionRules:
    """Thresholds of the selection (keyword defaults, see docs/advisor.md)."""

    max_indexes: int = 10
    max_total_bytes: int | None = None  # None: the size of the tables involved (>= 64 MiB)
    min_improvement: float = 0.2  # some statement's plan must get 20% cheaper...
    min_base_gain: float = 0.05  # ...by at least 5% of its cost without any new index
    btree_row_ms: float = 0.01  # maintaining one btree entry per written row
    gin_row_ms: float = 0.05  # GIN entries cost more (several per row, pending list)
    decisive: float = 10.0  # gain/penalty needed when an index ends HOT updates


@dataclass
class Picked:
    candidate: Candidate
    created: list[Created]
    gain_ms: float
    penalty_ms: float
    notes: list[str] = field(default_factory=list)


@dataclass
class Selection:
    picked: list[Picked]
    base: dict[str, PlanCost]
    final: dict[str, PlanCost]
    gains: dict[str, list[QueryGain]]  # candidate label -> statements it speeds up
    rejected: list[Rejection]
    notes: list[str]


Progress = Callable[[str], None]


def _affected(candidate: Candidate, queries: list[WorkloadQuery]) -> list[WorkloadQuery]:
    key = candidate.table
    return [q for q in queries if any(t.key == key for t in q.facts.tables)]


def _hot_columns(table: tuple[str, str], queries: list[WorkloadQuery]) -> dict[str, float]:
    """Columns the workload's UPDATEs set on ``table``, with the rows they updated."""
    out: dict[str, float] = {}
    for q in queries:
        for use in q.facts.updated_columns:
            if use.table.key == table:
                rows = float(q.calls or 1)
                out[use.column] = out.get(use.column, 0.0) + rows
    return out


class Selector:
    def __init__(
        self,
        whatif: WhatIf,
        catalog: Catalog,
        queries: list[WorkloadQuery],
        rules: SelectionRules,
        progress: Progress | None = None,
    ) -> None:
        self.whatif = whatif
        self.catalog = catalog
        self.queries = [
            q for q in queries if q.facts.kind in ("select", "update", "delete", "insert")
        ]
        self.all_queries = queries
        self.rules = rules
        self.progress = progress or (lambda _msg: None)
        self.rejected: list[Rejection] = []
        self.notes: list[str] = []
        windows = [q.window_s for q in queries if q.window_s]
        self.window_s = max(windows) if windows else None

    # -- costs -----------------------------------------------------------

    def _costs(self, queries: list[WorkloadQuery]) -> dict[str, PlanCost]:
        return {q.id: self.whatif.plan_cost(q) for q in queries}

    def _penalty(self, candidate: Candidate) -> tuple[float, float, list[str]]:
        """(penalty in ms over the window, extra ms if HOT updates are lost, notes)."""
        if self.window_s is None:
            return 0.0, 0.0, []
        info = self.catalog.table(*candidate.table)
        activity = self.catalog.activity(info) if info else None
        if info is None or activity is None or activity.window_s <= 0:
            return 0.0, 0.0, []
        per_row = sum(
            self.rules.gin_row_ms if i.method == "gin" else self.rules.btree_row_ms
            for i in candidate.indexes
        )
        writes_per_s = activity.per_second(activity.index_writes)
        penalty = writes_per_s * per_row * self.window_s
        notes = []
        hot_cols = _hot_columns(candidate.table, self.all_queries)
        touched = {c for i in candidate.indexes for c in i.columns} & set(hot_cols)
        hot_extra = 0.0
        if touched and activity.n_tup_hot_upd > 0:
            existing = len(self.catalog.indexes(info)) + len(candidate.indexes)
            hot_per_s = activity.per_second(activity.n_tup_hot_upd)
            hot_extra = hot_per_s * existing * self.rules.btree_row_ms * self.window_s
            notes.append(
                f"indexes {', '.join(sorted(touched))}, set by UPDATEs that are HOT today "
                f"({activity.n_tup_hot_upd:,} HOT updates): they would stop being HOT"
            )
        return penalty, hot_extra, notes

    # -- greedy ------------------------------------------------------------

    def _plannable(self) -> dict[str, PlanCost]:
        """Base costs; statements the server cannot plan (generically) leave the workload."""
        base: dict[str, PlanCost] = {}
        kept = []
        for q in self.queries:
            try:
                base[q.id] = self.whatif.plan_cost(q)
            except PgtuneError as exc:
                self.notes.append(f"{q.id}: left out, it cannot be planned: {exc}")
                continue
            kept.append(q)
        self.queries = kept
        return base

    def run(self, candidates: list[Candidate]) -> Selection:
        base = self._plannable()
        current = dict(base)
        picked: list[Picked] = []
        total_bytes = 0.0
        cap = self._size_cap(candidates)
        pool = list(candidates)
        cache: dict[
            tuple[object, ...],
            tuple[float, float, list[Created], dict[str, PlanCost], list[str]] | None,
        ] = {}
        dirty_queries: set[str] = {q.id for q in self.queries}
        count = 0
        while pool and count < self.rules.max_indexes:
            best = None
            best_score = 0.0
            for cand in pool:
                affected = _affected(cand, self.queries)
                if cand.identity not in cache or any(q.id in dirty_queries for q in affected):
                    cache[cand.identity] = self._evaluate(cand, affected, base, current)
                result = cache[cand.identity]
                if result is None:
                    continue
                net, size, created, _, _ = result
                score = net / max(size, 1)
                if score > best_score:
                    best, best_score = cand, score
            dirty_queries = set()
            if best is None:
                break
            net, size, _, _, notes = cache[best.identity]  # type: ignore[misc]
            if count + len(best.indexes) > self.rules.max_indexes:
                self._reject(best, f"over the cap of {self.rules.max_indexes} indexes", "count-cap")
                pool.remove(best)
                continue
            if cap is not None and total_bytes + size > cap:
                self._reject(
                    best,
                    f"would pass the size cap ({_mb(total_bytes + size)} > {_mb(cap)})",
                    "size-cap",
                )
                pool.remove(best)
                continue
            created = self.whatif.push(best.indexes)  # kept: never popped
            affected = _affected(best, self.queries)
            now = self._costs(affected)
            gain = self._gain(best, created, affected, base, current, now)[0]
            penalty, hot_extra, _ = self._penalty(best)
            current.update(now)
            picked.append(Picked(best, created, gain, penalty + hot_extra, notes))
            total_bytes += size
            count += len(best.indexes)
            pool.remove(best)
            dirty_queries = {q.id for q in affected}
            self.progress(f"picked {best.label}")
        for cand in pool:
            if cache.get(cand.identity) is not None and count >= self.rules.max_indexes:
                self._reject(cand, f"over the cap of {self.rules.max_indexes} indexes", "count-cap")
        final = self._costs(self.queries)
        picked, gains = self._prune(picked, base, final)
        self._attribute(picked, gains)
        chosen = {p.candidate.label for p in picked}
        latest: dict[tuple[str, str], Rejection] = {}
        for r in self.rejected:
            if r.subject not in chosen:
                latest[(r.subject, r.code)] = r
        return Selection(picked, base, final, gains, list(latest.values()), self.notes)

    def _attribute(self, picked: list[Picked], gains: dict[str, list[QueryGain]]) -> None:
        """Each statement's final saving, shared by the indexes its final plan uses."""
        users: dict[str, int] = {}
        for p in picked:
            for g in gains.get(p.candidate.label, []):
                users[g.query_id] = users.get(g.query_id, 0) + 1
        for p in picked:
            total = 0.0
            for g in gains.get(p.candidate.label, []):
                if g.cost_before > 0:
                    saved = g.weight_ms * (g.cost_before - g.cost_after) / g.cost_before
                    total += saved / users[g.query_id]
            p.gain_ms = total

    def _size_cap(self, candidates: list[Candidate]) -> int | None:
        if self.rules.max_total_bytes is not None:
            return self.rules.max_total_bytes
        tables = {c.table for c in candidates}
        sizes = []
        for t in tables:
            info = self.catalog.table(*t)
            if info and info.table_bytes:
                sizes.append(info.table_bytes)
        return max(sum(sizes), 64 * 1024 * 1024) if sizes else None

    def _evaluate(
        self,
        cand: Candidate,
        affected: list[WorkloadQuery],
        base: dict[str, PlanCost],
        current: dict[str, PlanCost],
    ) -> tuple[float, float, list[Created], dict[str, PlanCost], list[str]] | None:
        created = self.whatif.push(cand.indexes)
        try:
            failed = [c for c in created if c.error]
            if failed:
                self._reject(cand, f"cannot be built: {failed[0].error}", "failed")
                return None
            now = self._costs(affected)
        finally:
            self.whatif.pop()
        gain, best_ratio = self._gain(cand, created, affected, base, current, now)
        size = sum(c.size_bytes for c in created)
        if best_ratio < self.rules.min_improvement:
            if best_ratio > 0:
                why = (
                    f"makes no statement {self.rules.min_improvement:.0%} cheaper by at least "
                    f"{self.rules.min_base_gain:.0%} of its original cost (best {best_ratio:.0%})"
                )
            else:
                why = "no statement's plan uses it or gets cheaper"
            self._reject(cand, why, "no-gain")
            return None
        penalty, hot_extra, notes = self._penalty(cand)
        if hot_extra > 0 and gain < self.rules.decisive * (penalty + hot_extra):
            self._reject(
                cand,
                f"{notes[0]}; the gain ({gain:,.0f} ms) is not {self.rules.decisive:.0f}x "
                f"the write cost ({penalty + hot_extra:,.0f} ms)",
                "hot-updates",
            )
            return None
        net = gain - penalty - hot_extra
        if net <= 0:
            self._reject(
                cand,
                f"writes would cost more ({penalty:,.0f} ms) than it saves ({gain:,.0f} ms)",
                "write-cost",
            )
            return None
        return net, float(size), created, now, notes

    def _gain(
        self,
        cand: Candidate,
        created: list[Created],
        affected: list[WorkloadQuery],
        base: dict[str, PlanCost],
        current: dict[str, PlanCost],
        now: dict[str, PlanCost],
    ) -> tuple[float, float]:
        names = {c.name for c in created if c.name}
        gain = 0.0
        best_ratio = 0.0
        for q in affected:
            after = now[q.id]
            if not (after.used & names):
                continue
            before = current[q.id].total
            if before <= 0 or after.total >= before:
                continue
            reference = base[q.id].total or before
            if (before - after.total) / reference >= self.rules.min_base_gain:
                # a big relative step on a plan already cheap is not worth an index
                best_ratio = max(best_ratio, (before - after.total) / before)
            gain += q.weight_ms * (before - after.total) / reference
        return gain, best_ratio

    def _prune(
        self, picked: list[Picked], base: dict[str, PlanCost], final: dict[str, PlanCost]
    ) -> tuple[list[Picked], dict[str, list[QueryGain]]]:
        """Drop picks that no final plan uses (a later pick superseded them)."""
        gains: dict[str, list[QueryGain]] = {}
        kept = []
        by_id = {q.id: q for q in self.queries}
        for p in picked:
            names = {c.name for c in p.created if c.name}
            served = [
                QueryGain(qid, by_id[qid].sql, base[qid].total, cost.total, by_id[qid].weight_ms)
                for qid, cost in final.items()
                if cost.used & names and cost.total < base[qid].total
            ]
            if not served:
                self._reject(
                    p.candidate, "superseded by a later pick: no final plan uses it", "superseded"
                )
                continue
            kept.append(p)
            gains[p.candidate.label] = served
        return kept, gains

    def _reject(self, cand: Candidate, reason: str, code: str) -> None:
        self.rejected.append(Rejection(cand.label, reason, code))


def _mb(n: float) -> str:
    return f"{n / 1024 / 1024:,.1f} MiB"
