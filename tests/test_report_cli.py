"""`pgtune-hx report` from snapshot files: writes the file, refuses bad input in one line."""

from __future__ import annotations

import gzip
import re
from pathlib import Path

from pgtune_hx.errors import InvalidInputFile, UsageError
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
