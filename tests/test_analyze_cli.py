"""`pgtune-hx analyze`: formats, the JSON schema, --fail-on, errors, live and file input."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from pgtune_hx.collect.model import save
from pgtune_hx.errors import InvalidInputFile, ThresholdExceeded, UsageError
from tests.helpers.analysis import snapshot, work
from tests.helpers.servers import TestDatabase
from tests.test_cli_errors import cli

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = json.loads((ROOT / "docs/findings-schema.json").read_text())


def _problem_snapshot(db: TestDatabase, path: Path) -> Path:
    work(
        db.dsn,
        "create table t (id int primary key, a int, note text) with (autovacuum_enabled = off)",
        "insert into t select g, g % 10, 'n' || g from generate_series(1, 4000) g",
        "create index t_a on t (a)",
        "create index t_a_again on t (a)",
        "update t set note = note || '!'",
    )
    return save(snapshot(db.dsn), path)


def _json(result: Any) -> dict[str, Any]:
    assert result.returncode == 0, result.stderr
    data: dict[str, Any] = json.loads(result.stdout)
    jsonschema.validate(data, SCHEMA, format_checker=jsonschema.FormatChecker())
    return data


def test_json_output_validates_against_the_documented_schema(
    db: TestDatabase, tmp_path: Path
) -> None:
    path = _problem_snapshot(db, tmp_path / "s.json.gz")
    data = _json(cli("analyze", "--snapshot", str(path), "--format", "json"))
    rules = {f["rule_id"] for f in data["findings"]}
    assert {"index.duplicate", "table.stale_stats", "table.autovacuum_lag"} <= rules
    assert data["summary"]["total"] == len(data["findings"])
    assert data["snapshot"]["database"] == db.name
    assert data["since"] is None and data["interval_s"] is None
    duplicate = next(f for f in data["findings"] if f["rule_id"] == "index.duplicate")
    assert duplicate["fix"] == "DROP INDEX CONCURRENTLY public.t_a_again;"
    assert duplicate["evidence"]["duplicate_of"] == "public.t_a"


def test_interval_between_two_files(db: TestDatabase, tmp_path: Path) -> None:
    work(db.dsn, "create table t (id int)", "insert into t select generate_series(1, 5000)")
    first = save(snapshot(db.dsn), tmp_path / "a.json.gz")
    work(db.dsn, *["select count(*) from t"] * 6)
    second = save(snapshot(db.dsn), tmp_path / "b.json.gz")
    data = _json(
        cli(
            "analyze",
            "--snapshot",
            str(second),
            "--since",
            str(first),
            "--format",
            "json",
            "--rule",
            "table.seq_scan_heavy",
            "--threshold",
            "min_table_bytes=0",
            "--threshold",
            "table.seq_scan_heavy:min_seq_scans=5",
        )
    )
    assert data["since"]["captured_at"] < data["snapshot"]["captured_at"]
    assert data["interval_s"] > 0
    assert data["rules_run"] == ["table.seq_scan_heavy"]
    [finding] = data["findings"]
    assert finding["evidence"]["seq_scan"] == 6
    assert finding["evidence"]["interval_s"] == round(data["interval_s"], 1)


def test_live_interval(db: TestDatabase) -> None:
    work(db.dsn, "create table t (id int)")
    data = _json(cli("analyze", "--dsn", db.dsn, "--interval", "0.5", "--format", "json"))
    assert data["since"] is not None
    assert data["interval_s"] >= 0.5


def test_fail_on_sets_the_exit_code(db: TestDatabase, tmp_path: Path) -> None:
    path = _problem_snapshot(db, tmp_path / "s.json.gz")
    failing = cli("analyze", "--snapshot", str(path), "--fail-on", "warning", "--format", "json")
    assert failing.returncode == ThresholdExceeded.exit_code == 1
    assert json.loads(failing.stdout)["summary"]["warning"] >= 1  # the report is still printed
    assert failing.stderr.strip().startswith("error: ")
    assert "at or above warning" in failing.stderr
    passing = cli("analyze", "--snapshot", str(path), "--fail-on", "critical")
    assert passing.returncode == 0, passing.stderr


def test_text_and_markdown_show_evidence_and_fix(db: TestDatabase, tmp_path: Path) -> None:
    path = _problem_snapshot(db, tmp_path / "s.json.gz")
    text = cli("analyze", "--snapshot", str(path), "--rule", "index.duplicate")
    assert text.returncode == 0, text.stderr
    assert "index.duplicate" in text.stdout
    assert "DROP INDEX CONCURRENTLY public.t_a_again;" in text.stdout
    assert "duplicate_of" in text.stdout
    markdown = cli("analyze", "--snapshot", str(path), "--format", "markdown", "--rule", "index")
    assert markdown.returncode == 0, markdown.stderr
    assert markdown.stdout.startswith("# pgtune-hx analysis")
    assert "### WARNING: Index duplicates another index on the same table" in markdown.stdout
    assert "```sql\nDROP INDEX CONCURRENTLY public.t_a_again;\n```" in markdown.stdout
    assert "| duplicate_of | public.t_a |" in markdown.stdout


@pytest.mark.parametrize(
    ("args", "code", "needle"),
    [
        (["--snapshot", "{file}", "--dsn", "x"], UsageError.exit_code, "not both"),
        (["--since", "{file}"], UsageError.exit_code, "--since needs --snapshot"),
        (["--snapshot", "{file}", "--interval", "5"], UsageError.exit_code, "--interval"),
        (["--snapshot", "{file}", "--rule", "index.nope"], UsageError.exit_code, "unknown rule"),
        (["--snapshot", "{file}", "--threshold", "x"], UsageError.exit_code, "NAME=VALUE"),
        (["--snapshot", "{file}", "--threshold", "nope=1"], UsageError.exit_code, "unknown"),
        (["--snapshot", "{missing}"], InvalidInputFile.exit_code, "does not exist"),
        (["--snapshot", "{garbage}"], InvalidInputFile.exit_code, "not valid snapshot JSON"),
    ],
)
def test_bad_input_is_one_line_and_an_exit_code(
    db: TestDatabase, tmp_path: Path, args: list[str], code: int, needle: str
) -> None:
    path = save(snapshot(db.dsn), tmp_path / "s.json.gz")
    garbage = tmp_path / "garbage.json"
    garbage.write_text("{not json")
    paths = {"file": str(path), "missing": str(tmp_path / "nope.gz"), "garbage": str(garbage)}
    result = cli("analyze", *[a.format(**paths) for a in args])
    assert result.returncode == code, result.stderr
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and needle in lines[0], result.stderr
    assert "Traceback" not in result.stderr


def test_live_text_report_on_a_workload(db: TestDatabase) -> None:
    work(
        db.dsn,
        "create table t (id int primary key, a int) with (autovacuum_enabled = off)",
        "insert into t select g, g from generate_series(1, 3000) g",
        "create index t_a on t (a)",
        "create index t_a2 on t (a)",
    )
    result = cli("analyze", "--dsn", db.dsn, "--rule", "index", "--rule", "table")
    assert result.returncode == 0, result.stderr
    assert "WARNING index.duplicate  public.t_a2" in result.stdout
    assert "DROP INDEX CONCURRENTLY public.t_a2;" in result.stdout
    assert "table.stale_stats" in result.stdout and "ANALYZE (VERBOSE) public.t;" in result.stdout
    assert "never_analyzed" in result.stdout
