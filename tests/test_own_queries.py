"""The snapshot's own queries are marked, and never reported as the user's workload.

pg_stat_statements keeps a comment inside a statement's text; the collectors put
one after each query's first word. Findings, the tuner's evidence and the
report leave marked statements out.
"""

from __future__ import annotations

from typing import Any

from pgtune_hx.collect.versions import OWN_QUERY_MARKER, is_own_query, pick, version_table
from tests.helpers.analysis import run_rule, snapshot, work
from tests.helpers.servers import TestDatabase

# thresholds every statement with a call passes
EVERYTHING: dict[str, dict[str, Any]] = {
    "workload.top_total_time": {"top": 1000, "min_share": 0.0, "min_total_ms": 0.0},
    "workload.slow_mean_time": {"top": 1000, "min_mean_ms": 0.0, "min_calls": 1},
    "workload.top_io": {"top": 1000, "min_share": 0.0, "min_blocks": 0},
}


def test_every_collector_query_carries_the_marker() -> None:
    for name, versions in version_table().items():
        for version, _ in versions:
            text = pick(name, version)
            assert OWN_QUERY_MARKER in text, name
            # after the first word: pg_stat_statements drops leading comments
            first_line = next(
                line for line in text.splitlines() if line.strip() and not line.startswith("--")
            )
            assert OWN_QUERY_MARKER in first_line, name


def test_own_queries_are_seen_but_never_found(db: TestDatabase) -> None:
    work(db.dsn, "select count(*) from generate_series(1, 1000)")
    before = snapshot(db.dsn)
    work(db.dsn, "select count(*) from generate_series(1, 1000)")
    after = snapshot(db.dsn)
    ours = [
        r
        for r in after.rows("statements")
        if r.get("datname") == db.name and is_own_query(r.get("query"))
    ]
    # the first snapshot's queries ran in this database and kept their marker
    assert len(ours) >= 10
    assert any("pg_stat_statements" in str(r["query"]) for r in ours)
    found_any = False
    for rule_id, thresholds in EVERYTHING.items():
        found = run_rule(after, rule_id, before, **thresholds)
        found_any = found_any or any(f.evidence.get("datname") == db.name for f in found)
        assert not [f for f in found if is_own_query(f.evidence.get("query"))], rule_id
    # the test's own statement still counts: the filter is not dropping everything
    assert found_any


def test_snapshot_reads_statements_without_temporary_files(db: TestDatabase) -> None:
    # over 4MB of statement texts (600 of about 9kB each: few entries, so the
    # session's other tests do not lose theirs to pg_stat_statements.max): more than
    # pg_stat_statements() holds in the default work_mem before writing a temp file
    work(db.dsn, *(f"select {', '.join(['1'] * n)}" for n in range(1000, 1600)))
    before = snapshot(db.dsn)
    after = snapshot(db.dsn)
    ours = [
        r
        for r in after.rows("statements")
        if r.get("datname") == db.name and is_own_query(r.get("query"))
    ]
    assert ours
    # the same catalog query has the same queryid in every database: match the
    # entry, not only the id (other tests' databases have their own counters)
    earlier = {_entry(r): r for r in before.rows("statements")}
    for row in ours:
        spilled = int(row["temp_blks_written"] or 0)
        prior = earlier.get(_entry(row))
        # an entry evicted and made again in between counts from zero
        kept = prior is not None and int(row["calls"]) >= int(prior["calls"])
        was = int(prior["temp_blks_written"] or 0) if kept and prior else 0
        assert spilled - was == 0, row["query"][:80]


def _entry(row: dict[str, Any]) -> tuple[object, ...]:
    """What identifies a pg_stat_statements entry."""
    return (row.get("datname"), row.get("userid"), row.get("queryid"), row.get("toplevel"))
