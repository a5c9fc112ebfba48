"""The index advisor end to end: candidates, what-if verification, selection."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from pgtune_hx.advise.candidates import CandidateRules, generate
from pgtune_hx.advise.catalog import Catalog, load_sql
from pgtune_hx.advise.model import Advice, Suggestion
from pgtune_hx.advise.select import SelectionRules, Selector
from pgtune_hx.advise.whatif import WhatIf
from pgtune_hx.advise.workload import Workload
from pgtune_hx.db import Connection, probe, translated


@dataclass(frozen=True)
class Methods:
    hypopg: bool
    allow_writes: bool
    trigram: bool
    notes: tuple[str, ...] = ()


def methods_for(conn: Connection, *, allow_writes: bool) -> Methods:
    """Which verification methods this session can use, with a note on what is missing."""
    caps = probe(conn)
    notes = []
    hypopg = caps.has_hypopg()
    if not hypopg:
        if "hypopg" in caps.available:
            notes.append(
                "HypoPG is available but not installed: CREATE EXTENSION hypopg to "
                "verify suggestions with what-if plans"
            )
        if not allow_writes:
            notes.append(
                "without HypoPG or --allow-writes, suggestions are pg_stats estimates "
                "(verified_by: estimate)"
            )
    trigram = caps.has_extension("pg_trgm")
    if not trigram and "pg_trgm" in caps.available:
        notes.append(
            "pg_trgm is available but not installed: no trigram index for "
            "unanchored LIKE (CREATE EXTENSION pg_trgm)"
        )
    return Methods(hypopg, allow_writes, trigram, tuple(notes))


def advise(
    conn: Connection,
    catalog: Catalog,
    workload: Workload,
    methods: Methods,
    *,
    candidate_rules: CandidateRules | None = None,
    selection_rules: SelectionRules | None = None,
    progress: Callable[[str], None] | None = None,
) -> Advice:
    report = progress or (lambda _msg: None)
    candidate_rules = candidate_rules or CandidateRules()
    selection_rules = selection_rules or SelectionRules()
    queries = workload.queries
    report(f"generating candidates for {len(queries)} statements")
    candidates, rejected = generate(
        queries, catalog, rules=candidate_rules, trigram=methods.trigram
    )
    report(f"verifying {len(candidates)} candidates")
    whatif = WhatIf(conn, catalog, hypopg=methods.hypopg, allow_writes=methods.allow_writes)
    try:
        selector = Selector(whatif, catalog, queries, selection_rules, report)
        selection = selector.run(candidates)
    finally:
        whatif.close()
    taken: set[tuple[str, str]] = set()
    suggestions = []
    for pick in selection.picked:
        gains = tuple(selection.gains.get(pick.candidate.label, ()))
        share = 1.0 / len(pick.created)
        partners = [c.index.describe() for c in pick.created]
        for created in pick.created:
            index = created.index
            name = _free_name(catalog, index.schema, index.default_name(), taken)
            notes = list(pick.notes)
            if len(partners) > 1:
                others = [p for p in partners if p != index.describe()]
                notes.append("for an OR: the plan combines it with " + "; ".join(others))
            suggestions.append(
                Suggestion(
                    index=index,
                    name=name,
                    create_sql=index.create_sql(name) + ";",
                    verified_by=created.method,
                    size_bytes=created.size_bytes,
                    benefit_ms=pick.gain_ms * share,
                    write_penalty_ms=pick.penalty_ms * share,
                    queries=gains,
                    notes=tuple(notes),
                )
            )
    notes = list(methods.notes) + _summary(workload.skipped) + selection.notes
    if not any(q.window_s for q in queries):
        notes.append("the workload has no time window: write costs were not weighed")
    return Advice(
        suggestions=tuple(suggestions),
        rejected=tuple(rejected + selection.rejected),
        queries=tuple(queries),
        method=whatif.main_method,
        notes=tuple(notes),
    )


def _free_name(catalog: Catalog, schema: str, name: str, taken: set[tuple[str, str]]) -> str:
    """``name``, or ``<stem>2_idx``, ``<stem>3_idx``... when the schema already has it."""
    stem = name.removesuffix("_idx")
    candidate = name
    n = 1
    while True:
        if (schema, candidate) not in taken:
            with translated("checking index names"):
                row = catalog.conn.execute(
                    load_sql("name_taken").encode(), {"schema": schema, "name": candidate}
                ).fetchone()
            if not (row and row["taken"]):
                taken.add((schema, candidate))
                return candidate
        n += 1
        suffix = f"{n}_idx"
        candidate = stem[: 63 - len(suffix)] + suffix


def _summary(skipped: list[str]) -> list[str]:
    """'12 statements skipped: 7 an EXPLAIN, 5 reads only system catalogs' and the
    statements that did not parse (those the user may want to see)."""
    reasons: dict[str, int] = {}
    failures = []
    for line in skipped:
        _, _, why = line.partition(": ")
        if why.startswith("invalid SQL"):
            failures.append(line)
        else:
            reasons[why] = reasons.get(why, 0) + 1
    out = []
    if reasons:
        parts = ", ".join(f"{n} {why}" for why, n in sorted(reasons.items(), key=lambda x: -x[1]))
        out.append(f"{sum(reasons.values())} statement(s) skipped: {parts}")
    return out + failures[:10]
