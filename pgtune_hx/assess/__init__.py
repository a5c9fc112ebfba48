"""Everything the toolkit concludes from snapshots, in one call, for the report
and the demo: the analyzer's findings, plan findings of the top statements, the
index advisor's suggestions and the tuner's recommendation.

Each producer that cannot run (no live connection for plans, a remote server
without hardware flags for the tuner) leaves its result ``None`` and a reason in
``missing``; the others still run. Results are kept as the producers'
documented dictionaries (``to_dict()``), which is what the report and
``--format json`` consume.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pgtune_hx.advise import workload as advisor_workload
from pgtune_hx.advise.advisor import advise, methods_for
from pgtune_hx.advise.catalog import Catalog
from pgtune_hx.advise.model import Advice
from pgtune_hx.analyze.engine import analyze
from pgtune_hx.analyze.explain import explain
from pgtune_hx.analyze.plan_findings import plan_findings
from pgtune_hx.collect.diff import diff
from pgtune_hx.collect.model import Snapshot
from pgtune_hx.collect.versions import is_own_query
from pgtune_hx.db import Connection
from pgtune_hx.errors import PgtuneError
from pgtune_hx.tune import Request, from_snapshot

# statements whose generic plans are examined, by total execution time
PLANNED_STATEMENTS = 10


@dataclass
class Assessment:
    findings: list[dict[str, Any]] | None = None
    suggestions: list[dict[str, Any]] | None = None
    # queryid -> plan findings of that statement's generic plan
    plan_findings: dict[str, list[dict[str, Any]]] | None = None
    tuning: dict[str, Any] | None = None
    missing: dict[str, str] = field(default_factory=dict)
    # the advisor's own result (for --apply), not part of the JSON
    advice: Advice | None = None
    advice_notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "findings": self.findings,
            "suggestions": self.suggestions,
            "plan_findings": self.plan_findings,
            "tuning": self.tuning,
            "missing": self.missing,
            "advice_notes": self.advice_notes,
        }


def assess(
    snapshot: Snapshot,
    since: Snapshot | None = None,
    conn: Connection | None = None,
    thresholds: dict[str, Any] | None = None,
    *,
    allow_writes: bool = False,
) -> Assessment:
    """Run the analyzer (always), and the other producers where they can run.

    ``conn`` is a guarded, read-only connection to the database the snapshot was
    taken from; without it the parts that need the live server are skipped.
    ``thresholds`` override the analyzer's rule thresholds (see docs/rules/).
    ``allow_writes`` lets the index advisor verify candidates by building them in
    transactions that are rolled back (only for a writable ``conn``; see advise).
    """
    result = Assessment()
    result.findings = [f.to_dict() for f in analyze(snapshot, since, **(thresholds or {}))]
    if conn is None:
        result.missing["plans"] = "plans need a live connection (--dsn)"
        result.missing["advisor"] = "the index advisor needs a live connection (--dsn)"
    else:
        result.plan_findings = top_statement_plans(conn, snapshot, since, result.missing)
        try:
            catalog = Catalog(conn)
            workload = advisor_workload.from_statements(conn, catalog)
            unplannable = _drop_unplannable(conn, workload)
            advice = advise(conn, catalog, workload, methods_for(conn, allow_writes=allow_writes))
        except PgtuneError as exc:
            result.missing["advisor"] = str(exc)
        else:
            result.advice = advice
            result.suggestions = [s.to_dict() for s in advice.suggestions]
            result.advice_notes = [f"verification: {advice.method}", *advice.notes, *unplannable]
    try:
        result.tuning = from_snapshot(snapshot, Request()).to_dict()
    except PgtuneError as exc:
        result.missing["tuner"] = str(exc)
    return result


def _drop_unplannable(conn: Connection, workload: advisor_workload.Workload) -> list[str]:
    """Leave out statements the server cannot plan from their normalized text (say,
    ``interval $1`` that pg_stat_statements made of ``interval '1 day'``), so that
    one of them does not stop the advice for all the others."""
    kept, notes = [], []
    for query in workload.queries:
        try:
            explain(conn, query.sql)
        except PgtuneError as exc:
            notes.append(f"left out {query.id}: the server cannot plan its text ({exc})")
        else:
            kept.append(query)
    workload.queries = kept
    return notes


def top_statements(snapshot: Snapshot, since: Snapshot | None, limit: int) -> list[dict[str, Any]]:
    """The snapshot database's top-level statements with the most execution time
    (in the interval when there are two snapshots)."""
    rows = snapshot.rows("statements")
    if since is not None:
        interval = diff(since, snapshot, top=1_000_000).statements
        if interval.valid:
            rows = interval.rows
    database = snapshot.server.get("database")
    mine = [
        r
        for r in rows
        if r.get("datname") == database
        and r.get("toplevel", True) is not False
        and not is_own_query(r.get("query"))
    ]
    mine.sort(key=lambda r: (-(r.get("total_exec_time") or 0.0), str(r.get("queryid"))))
    return mine[:limit]


def top_statement_plans(
    conn: Connection, snapshot: Snapshot, since: Snapshot | None, missing: dict[str, str]
) -> dict[str, list[dict[str, Any]]]:
    """Generic plans (EXPLAIN without ANALYZE: nothing runs) of the top statements
    and what analyze.plan_findings sees in them, by queryid."""
    found: dict[str, list[dict[str, Any]]] = {}
    failed: list[str] = []
    for row in top_statements(snapshot, since, PLANNED_STATEMENTS):
        try:
            explained = explain(conn, str(row.get("query") or ""))
        except PgtuneError as exc:
            # utility statements have no plan; anything else is worth a note
            if "can be explained" not in str(exc):
                failed.append(f"queryid {row.get('queryid')}: {exc}")
            continue
        findings = [
            {**f.to_dict(), "method": explained.method} for f in plan_findings(explained.plan)
        ]
        found[str(row.get("queryid"))] = findings
    if failed:
        missing["plans"] = "some statements could not be planned: " + "; ".join(failed[:3])
    return found
