"""`pgtune-hx demo` end to end on the embedded PG 18 at a small size: the demo
database is built, worked, diagnosed and dropped, and the report it writes has
every section populated and works in a real browser.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from pgtune_hx.embedded import EmbeddedServer
from tests.helpers.browser import Browser, chromium_path
from tests.helpers.report_outline import outline
from tests.test_report_cli import assert_self_contained

ARTIFACTS = Path(__file__).parent / "artifacts"
SECTIONS = (
    "summary",
    "demo",
    "findings",
    "statements",
    "tables",
    "indexes",
    "locks",
    "settings",
    "comparison",
    "notes",
)


@pytest.fixture(scope="module")
def demo_run(
    pg18_server: EmbeddedServer, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, str]:
    out = tmp_path_factory.mktemp("demo") / "demo.html"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pgtune_hx",
            "--data-dir",
            str(pg18_server.base_dir),
            "demo",
            "--rows",
            "60000",
            "--operations",
            "400",
            "--apply",
            "-o",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
        env={**os.environ, "COLUMNS": "160"},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return out, result.stdout


def test_demo_writes_a_populated_report(
    demo_run: tuple[Path, str], pg18_server: EmbeddedServer
) -> None:
    path, stdout = demo_run
    html = path.read_text()
    shape = outline(html)
    for section in SECTIONS:
        assert f"section {section} (open)" in shape, section
    counts = {
        m.group(1): int(m.group(2)) for m in re.finditer(r"table (\S+)-t: .* \((\d+) rows\)", shape)
    }
    assert counts["tables-all"] >= 9  # the demo's nine tables (and nothing else)
    assert counts["statements-by-total"] > 0
    assert counts["indexes-all"] >= 12
    assert counts["indexes-flagged"] >= 2  # the planted duplicates
    assert counts["locks-blocking"] >= 2  # the waiter and its root blocker
    assert counts["locks-sessions"] >= 2
    assert counts["settings-current"] > 0
    assert counts["comparison-database"] > 0
    assert counts["demo-workload"] >= 10
    # --apply: the advisor's indexes were built and the same plan ran again
    assert counts["indexes-suggested"] >= 1
    assert counts["demo-applied"] == counts["indexes-suggested"]
    assert (
        "demo-workload-t: statement | calls | mean before | p95 before | total before | "
        "mean after | p95 after | total after | speed-up" in shape
    )
    for planted in (
        "f-index-duplicate-workflow-executions-workflow-id-idx",
        "f-index-duplicate-gateway-ix-virtual-keys-team",
        "f-table-stale-stats-sessions-web-sessions",
        "f-server-lock-waits-pid-",
    ):
        assert planted in html, planted
    assert_self_contained(html)
    # the summary names the report, and the demo database is gone again
    assert str(path) in " ".join(stdout.split())
    with psycopg.connect(pg18_server.dsn(), autocommit=True) as conn:
        left = conn.execute("select 1 from pg_database where datname = 'pgtune_demo'").fetchall()
    assert left == []


@pytest.mark.skipif(chromium_path() is None, reason="chromium is not installed")
def test_demo_report_in_chromium(demo_run: tuple[Path, str]) -> None:
    path, _ = demo_run
    with Browser.launch() as browser:
        browser.open(path.as_uri())
        assert browser.evaluate("document.body.classList.contains('js')")
        # sorting: the tables table by total size, largest first, then smallest first
        cells = "Array.from(document.querySelectorAll('#tables-all-t tbody tr td:nth-child(2)'))"
        sizes = f"{cells}.map(td => parseFloat(td.dataset.sort))"
        header = "document.querySelectorAll('#tables-all-t thead th button')[1]"
        browser.evaluate(f"{header}.click()")
        descending = browser.evaluate(sizes)
        assert descending == sorted(descending, reverse=True) and len(descending) >= 9
        assert browser.evaluate(f"{header}.parentElement.getAttribute('aria-sort')") == (
            "descending"
        )
        browser.evaluate(f"{header}.click()")
        assert browser.evaluate(sizes) == sorted(descending)
        # filtering: only matching rows stay visible, with a count
        browser.evaluate(
            "(() => { const i = document.querySelector('input[data-table=\"tables-all-t\"]');"
            " i.value = 'usage_logs'; i.dispatchEvent(new Event('input')); })()"
        )
        visible = browser.evaluate(
            "Array.from(document.querySelectorAll('#tables-all-t tbody tr'))"
            ".filter(tr => !tr.hidden).map(tr => tr.cells[0].textContent.trim())"
        )
        assert visible == ["gateway.usage_logs"]
        count = "document.querySelector('#tables-all .filter-count').textContent"
        assert browser.evaluate(count).startswith("1 of ")
        # sections collapse
        browser.evaluate("document.querySelector('#tables > details > summary').click()")
        assert browser.evaluate("document.querySelector('#tables > details').open") is False
        errors = browser.console_errors()
        assert errors == []
        shot = browser.screenshot(ARTIFACTS / "demo-report.png")
    assert shot.stat().st_size > 10_000
