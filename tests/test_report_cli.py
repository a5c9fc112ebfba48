"""`pgtune-hx report` from snapshot files: writes the file, refuses bad input in one line."""

from __future__ import annotations

import gzip
import re
from pathlib import Path

from pgtune_hx.errors import InvalidInputFile, UsageError
from tests.helpers.servers import TestDatabase
from tests.helpers.stats import flush
from tests.test_cli_errors import assert_one_line_error, cli
from tests.test_report_golden import GOLDEN

BEFORE = GOLDEN / "pg18" / "before.json.gz"
AFTER = GOLDEN / "pg18" / "after.json.gz"


def test_two_snapshots_make_a_report_with_a_comparison(tmp_path: Path) -> None:
    out = tmp_path / "sub" / "r.html"
    # order on the command line does not matter: the older one is the baseline
    result = cli("report", "--snapshot", str(AFTER), "--snapshot", str(BEFORE), "-o", str(out))
    assert result.returncode == 0, result.stderr
    html = out.read_text()
    assert f"wrote {out}" in " ".join(result.stdout.split())
    assert 'id="comparison"' in html
    assert_self_contained(html)


def assert_self_contained(html: str) -> None:
    """Nothing to fetch: every link is an in-page anchor, no stylesheet or image is loaded."""
    links = re.findall(r'\s(?:href|src|xlink:href)="([^"]*)"', html)
    assert links
    assert all(link.startswith("#") for link in links), [x for x in links if x[:1] != "#"]
    for loader in ("<link", "<img", "<iframe", "@import", "url(http"):
        assert loader not in html


def test_anonymized_report_has_no_table_names(tmp_path: Path) -> None:
    out = tmp_path / "a.html"
    result = cli("report", "-s", str(BEFORE), "-s", str(AFTER), "-o", str(out), "--anonymize")
    assert result.returncode == 0, result.stderr
    html = out.read_text()
    assert "Anonymized" in html
    for name in ("orders", "customers", "orders_customer_idx"):
        assert name not in html


def test_dsn_and_snapshot_together_is_a_usage_error(tmp_path: Path) -> None:
    result = cli("report", "--dsn", "dbname=x", "-s", str(AFTER), "-o", str(tmp_path / "x.html"))
    assert_one_line_error(result, UsageError.exit_code, "not both")


def test_three_snapshots_is_a_usage_error(tmp_path: Path) -> None:
    args = ["-s", str(BEFORE), "-s", str(AFTER), "-s", str(AFTER)]
    result = cli("report", *args, "-o", str(tmp_path / "x.html"))
    assert_one_line_error(result, UsageError.exit_code, "at most two")


def test_snapshots_of_different_servers_are_refused(tmp_path: Path) -> None:
    pg15 = GOLDEN / "pg15" / "after.json.gz"
    result = cli("report", "-s", str(pg15), "-s", str(AFTER), "-o", str(tmp_path / "x.html"))
    assert_one_line_error(result, UsageError.exit_code, "different")
    assert not (tmp_path / "x.html").exists()


def test_corrupt_snapshot_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json.gz"
    bad.write_bytes(gzip.compress(b'{"format": "something else"}'))
    result = cli("report", "-s", str(bad), "-o", str(tmp_path / "x.html"))
    assert_one_line_error(result, InvalidInputFile.exit_code, "not a pgtune_hx snapshot")


def test_live_report_of_a_real_database(db: TestDatabase, tmp_path: Path) -> None:
    """--dsn: a snapshot now, the analyzer, plans, advisor and tuner on it; read-only."""
    with db.admin() as conn:
        conn.execute("create table t (id int primary key, v int)")
        conn.execute("insert into t select g, g % 7 from generate_series(1, 20000) g")
        for _ in range(5):
            conn.execute("select count(*) from t where v = %s", [3])
        flush(conn)
    out = tmp_path / "live.html"
    result = cli("--dsn", db.dsn, "report", "-o", str(out))
    assert result.returncode == 0, result.stderr
    html = out.read_text()
    assert "select count(*) from t where v = $1" in html
    assert f"PostgreSQL {db.major}" in html
    with db.admin() as conn:
        indexes = conn.execute("select count(*) as n from pg_indexes where tablename = 't'")
        row = indexes.fetchone()
    assert row is not None and row["n"] == 1  # the advisor only advised: the pkey alone
