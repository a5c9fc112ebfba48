"""The rule registry, the engine, the catalogue and the rule pages."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pglast
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pgtune_hx.analyze import catalog
from pgtune_hx.analyze.common import qualified, quote_ident
from pgtune_hx.analyze.engine import Context, run
from pgtune_hx.analyze.findings import Finding, Severity
from pgtune_hx.analyze.registry import DuplicateRule, all_rules, rule, select_rules
from pgtune_hx.cli.analyze import parse_threshold
from pgtune_hx.errors import UsageError
from tests.helpers.analysis import snapshot, work
from tests.helpers.servers import TestDatabase

ROOT = Path(__file__).resolve().parents[1]


# -- registry ----------------------------------------------------------------------------


def test_a_second_rule_under_a_taken_id_is_an_error() -> None:
    def again(ctx: Context) -> Iterator[Finding]:
        """https://www.postgresql.org/docs/current/monitoring-stats.html"""
        yield from ()

    all_rules()  # the real rules are registered
    with pytest.raises(DuplicateRule, match=r"index\.unused.*registered twice"):
        rule("index.unused", severity=Severity.info, title="again")(again)


def test_rules_must_link_the_manual_and_take_keyword_thresholds() -> None:
    def no_link(ctx: Context) -> Iterator[Finding]:
        """No link here."""
        yield from ()

    def positional(ctx: Context, limit: int = 3) -> Iterator[Finding]:
        """https://www.postgresql.org/docs/current/index.html"""
        yield from ()

    with pytest.raises(ValueError, match="manual"):
        rule("index.test_no_link", severity=Severity.info, title="x")(no_link)
    with pytest.raises(TypeError, match="keyword-only"):
        rule("index.test_positional", severity=Severity.info, title="x")(positional)
    with pytest.raises(ValueError, match="bad rule id"):
        rule("Index Unused", severity=Severity.info, title="x")
    with pytest.raises(ValueError, match="bad rule id"):
        rule("storage.unused", severity=Severity.info, title="x")
    assert "index.test_no_link" not in {r.id for r in all_rules()}


def test_every_rule_has_a_page_with_its_thresholds_and_manual_link() -> None:
    rules = all_rules()
    assert len(rules) >= 30
    for r in rules:
        page = ROOT / r.doc
        assert page.exists(), f"{r.doc} missing"
        text = page.read_text()
        assert text.startswith(f"# {r.id}\n"), r.doc
        assert r.manual[0] in text, f"{r.doc} does not link {r.manual[0]}"
        for name, default in r.thresholds.items():
            row = f"| `{name}` | {catalog._value(default)} |"
            assert row in text, f"{r.doc} does not document threshold {name} = {default!r}"
        assert r.title and r.summary and r.requires, r.id


def test_catalogue_is_generated_from_the_registry() -> None:
    """docs/rules/index.md must be what `python -m pgtune_hx.analyze.catalog` writes."""
    committed = (ROOT / "docs/rules/index.md").read_text()
    assert committed == catalog.render(), "run: python -m pgtune_hx.analyze.catalog"
    for r in all_rules():
        assert f"[`{r.id}`]({r.id}.md)" in committed


def test_catalogue_check_mode(tmp_path: Path) -> None:
    target = tmp_path / "index.md"
    assert catalog.main(["--output", str(target), "--check"]) == 1
    assert catalog.main(["--output", str(target)]) == 0
    assert catalog.main(["--output", str(target), "--check"]) == 0


def test_selecting_rules_by_id_and_topic() -> None:
    assert [r.id for r in select_rules(["index.unused"])] == ["index.unused"]
    topic = [r.id for r in select_rules(["server"])]
    assert topic and all(i.startswith("server.") for i in topic)
    assert select_rules(["table.*"]) == select_rules(["table"])
    with pytest.raises(UsageError, match=r"unknown rule id 'index\.nope'"):
        select_rules(["index.nope"])


# -- findings and ordering ------------------------------------------------------------------


def test_finding_contract() -> None:
    finding = Finding(
        rule_id="index.unused",
        severity=Severity.warning,
        title="t",
        object="public.i",
        evidence={"idx_scan": 0},
        fix="DROP INDEX CONCURRENTLY public.i;",
        fix_kind="sql",
        impact=8192.0,
        confidence="high",
        doc="docs/rules/index.unused.md",
    )
    data = finding.to_dict()
    assert data["severity"] == "warning"
    assert list(data) == [
        "rule_id",
        "severity",
        "title",
        "object",
        "evidence",
        "fix",
        "fix_kind",
        "impact",
        "confidence",
        "doc",
    ]
    assert Finding.from_dict(data) == finding
    assert Severity.info < Severity.warning < Severity.critical
    assert str(Severity.critical) == "critical"
    with pytest.raises(ValueError, match="fix_kind"):
        Finding("index.unused", Severity.info, "t", None, fix_kind="shell")
    with pytest.raises(UsageError, match="unknown severity"):
        Severity.parse("fatal")


def _problems(db: TestDatabase) -> None:
    work(
        db.dsn,
        "create table t (id int primary key, a int, note text) with (autovacuum_enabled = off)",
        "insert into t select g, g % 10, 'n' || g from generate_series(1, 4000) g",
        "create index t_a on t (a)",
        "create index t_a_again on t (a)",
        "update t set note = note || '!'",
        "create sequence s as integer",
        "select setval('s', 2100000000)",
    )


def test_findings_are_sorted_by_severity_then_impact(db: TestDatabase) -> None:
    _problems(db)
    analysis = run(snapshot(db.dsn), min_size_bytes=0, min_dead_tuples=100)
    findings = analysis.findings
    assert len({f.severity for f in findings}) == 3  # critical, warning and info present
    keys = [(-int(f.severity), -f.impact) for f in findings]
    assert keys == sorted(keys)
    assert findings[0].rule_id == "table.sequence_near_max"
    unused = [f for f in findings if f.rule_id == "index.unused"]
    assert unused == sorted(unused, key=lambda f: -f.impact)
    assert analysis.counts()["critical"] == 1


def test_threshold_overrides(db: TestDatabase) -> None:
    _problems(db)
    snap = snapshot(db.dsn)
    index_rules = ["index.unused", "index.duplicate"]
    everywhere = run(snap, rules=index_rules, min_size_bytes=0).findings
    assert {f.rule_id for f in everywhere} == {"index.unused", "index.duplicate"}
    # a plain name applies to every rule that has the threshold
    assert run(snap, rules=index_rules, min_size_bytes=10**9).findings == []
    # "rule:name" applies to that rule only
    per_rule: dict[str, Any] = {
        "index.unused:min_size_bytes": 0,
        "index.duplicate:min_size_bytes": 10**9,
    }
    assert {f.rule_id for f in run(snap, rules=index_rules, **per_rule).findings} == {
        "index.unused"
    }
    with pytest.raises(UsageError, match="unknown threshold 'min_size'"):
        run(snap, min_size=0)
    wrong: dict[str, Any] = {"index.unused:min_calls": 1}
    with pytest.raises(UsageError, match=r"unknown threshold 'index\.unused:min_calls'"):
        run(snap, **wrong)


def test_rules_whose_section_is_missing_are_reported_as_not_run(db: TestDatabase) -> None:
    snap = snapshot(db.dsn)
    del snap.sections["sequences"]
    analysis = run(snap)
    assert "table.sequence_near_max" not in analysis.rules_run
    assert analysis.rules_skipped["table.sequence_near_max"] == "sequences: not collected"


def test_interval_across_a_stats_reset_compares_nothing(db: TestDatabase) -> None:
    work(db.dsn, "create table t (id int)", "insert into t select generate_series(1, 3000)")
    before = snapshot(db.dsn)
    work(db.dsn, "select pg_stat_reset()")
    work(db.dsn, *["select count(*) from t"] * 6)
    after = snapshot(db.dsn)
    analysis = run(
        after, before, rules=["table.seq_scan_heavy"], min_table_bytes=0, min_seq_scans=5
    )
    assert analysis.findings == []  # never a delta across the reset
    assert any("reset" in note for note in analysis.notes)
    # without the interval, the counters since the reset are there
    assert run(after, rules=["table.seq_scan_heavy"], min_table_bytes=0, min_seq_scans=5).findings


def test_snapshots_in_the_wrong_order(db: TestDatabase) -> None:
    first = snapshot(db.dsn)
    second = snapshot(db.dsn)
    with pytest.raises(UsageError, match="not newer"):
        run(first, second)


# -- pure helpers -------------------------------------------------------------------------


names = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\x00"),
    min_size=1,
    max_size=30,
).filter(lambda n: len(n.encode()) <= 63)  # longer names are truncated to NAMEDATALEN - 1


@given(names)
def test_quoted_identifiers_parse_back_to_the_same_name(name: str) -> None:
    stmt: Any = pglast.parse_sql(f"select * from {qualified('s', name)}")[0].stmt
    relation = stmt.fromClause[0]
    assert relation.schemaname == "s"
    assert relation.relname == name


def test_quote_ident_leaves_plain_names_alone() -> None:
    assert quote_ident("orders_2024") == "orders_2024"
    assert quote_ident("Orders") == '"Orders"'
    assert quote_ident("select") == '"select"'
    assert quote_ident("name") == "name"  # unreserved keyword


@given(st.integers(min_value=0, max_value=10**12), st.sampled_from(["B", "kB", "MB", "GB"]))
def test_threshold_sizes(value: int, unit: str) -> None:
    factor = {"B": 1, "kB": 1024, "MB": 1024**2, "GB": 1024**3}[unit]
    assert parse_threshold(f"min_size_bytes={value}{unit}") == ("min_size_bytes", value * factor)


@given(st.text(max_size=20))
def test_threshold_parser_never_crashes(text: str) -> None:
    try:
        name, value = parse_threshold(text)
    except UsageError:
        return
    assert name and isinstance(value, int | float | bool)


ZERO_THRESHOLDS: dict[str, Any] = {
    "min_size_bytes": 0,
    "min_stats_age_days": 0,
    "min_table_bytes": 0,
    "min_seq_scans": 0,
    "min_seq_share": 0.0,
    "min_dead_tuples": 0,
    "max_dead_ratio": 0.0,
    "min_tuples": 0,
    "min_rows": 0,
    "min_updates": 0,
    "min_hot_ratio": 1.1,
    "min_bloat_bytes": 0,
    "min_bloat_ratio": 0.0,
    "min_share": 0.0,
    "min_total_ms": 0.0,
    "min_blocks": 0,
    "min_temp_bytes": 0,
    "min_table_writes": 0,
    "min_writes_per_scan": 0.0,
    "min_calls": 0,
    "min_mean_ms": 0.0,
    "min_idle": 0,
    "min_idle_fraction": 0.0,
    "warning_fraction": 0.0,
    "min_requested": 0,
    "min_writes": 0,
    "max_backend_share": 0.0,
    "min_reads": 0,
    "max_xact_age_s": 0.0,
    "max_idle_s": 0.0,
}


def test_thresholds_at_zero_report_everything_without_failing(db: TestDatabase) -> None:
    """Every rule runs with its thresholds at the extreme (empty tables, zero
    counters, zero scans): no division by zero, every finding well-formed."""
    _problems(db)
    work(db.dsn, "create table empty (id int)", "create index empty_id on empty (id)")
    later = snapshot(db.dsn)
    for since in (None, snapshot(db.dsn)):
        analysis = run(later if since is None else snapshot(db.dsn), since, **ZERO_THRESHOLDS)
        assert not analysis.rules_skipped or set(analysis.rules_skipped) <= {
            "server.archiver_failing"
        }
        assert analysis.findings
        for finding in analysis.findings:
            assert finding.doc == f"docs/rules/{finding.rule_id}.md"
            assert finding.fix and finding.fix_kind in ("sql", "config", "action")
