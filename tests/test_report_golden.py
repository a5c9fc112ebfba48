"""Reports are deterministic: the same snapshots give the same file, and its
structure matches the golden outline committed under tests/golden/report/.

The inputs are real snapshots of PG 18 and PG 15 (a small shop database with a
real workload, bloat, an unused and a duplicate index, an idle transaction and
a lock wait) with the analyzer's findings on them, saved as files. Regenerate
inputs and outlines after a deliberate change with

    PGTUNE_HX_UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/test_report_golden.py
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from pgtune_hx.assess import assess
from pgtune_hx.collect.model import load, save
from pgtune_hx.collect.snapshot import collect_snapshot
from pgtune_hx.db import connect
from pgtune_hx.report.inputs import ReportInputs
from pgtune_hx.report.render import render
from tests.helpers.locks import BlockedStatement, LockHolder
from tests.helpers.report_outline import outline
from tests.helpers.servers import TestDatabase
from tests.helpers.stats import flush

GOLDEN = Path(__file__).parent / "golden" / "report"
UPDATE = os.environ.get("PGTUNE_HX_UPDATE_GOLDEN") == "1"
VERSIONS = ("pg18", "pg15")


def fixture_inputs(version: str, *, anonymized: bool = False) -> ReportInputs:
    folder = GOLDEN / version
    assessment: dict[str, Any] = json.loads((folder / "assessment.json").read_text())
    return ReportInputs(
        snapshot=load(folder / "after.json.gz"),
        since=load(folder / "before.json.gz"),
        findings=assessment["findings"],
        suggestions=assessment["suggestions"],
        plan_findings=assessment["plan_findings"],
        tuning=assessment["tuning"],
        advice_notes=assessment.get("advice_notes") or [],
        missing=assessment["missing"],
        sources=["before.json.gz", "after.json.gz"],
        anonymized=anonymized,
    )


def _shop(db: TestDatabase) -> None:
    with db.admin() as conn:
        conn.execute(
            "create table customers (id int primary key, email text not null, region text)"
        )
        conn.execute(
            "create table orders (id bigint primary key, customer_id int not null, "
            "status text not null, total numeric(10,2), created_at timestamptz not null) "
            "with (autovacuum_enabled = false)"
        )
        conn.execute("create index orders_status_idx on orders (status)")
        conn.execute("create index orders_customer_idx on orders (customer_id)")
        conn.execute("create index orders_customer_idx2 on orders (customer_id)")
        conn.execute(
            "insert into customers select g, 'c' || g || '@example.com', "
            "(array['eu','us','apac'])[1 + g % 3] from generate_series(1, 2000) g"
        )
        conn.execute(
            "insert into orders select g, 1 + g % 2000, (array['new','paid','shipped'])[1 + g % 3],"
            " g % 500, now() - g * interval '1 minute' from generate_series(1, 20000) g"
        )
        conn.execute("analyze")
        conn.execute("update orders set total = total + 1 where id % 4 = 0")
        flush(conn)


def _workload(db: TestDatabase, rounds: int) -> None:
    with db.admin() as conn:
        conn.execute("set work_mem = '64kB'")
        for i in range(rounds):
            conn.execute("select * from orders where customer_id = %s", [i % 2000 + 1])
            conn.execute(
                "select count(*) from orders where created_at > now() - interval '1 day' "
                "and total > %s",
                [i % 50],
            )
            conn.execute("select id from orders order by total desc, created_at limit 5000")
            conn.execute("select email from customers where region = %s", ["eu"])
        flush(conn)


@pytest.mark.skipif(not UPDATE, reason="regenerates the fixtures: PGTUNE_HX_UPDATE_GOLDEN=1")
def test_regenerate_fixtures(db: TestDatabase) -> None:
    _shop(db)
    with connect(db.dsn) as conn:
        before = collect_snapshot(conn)
    _workload(db, 30)
    with (
        LockHolder(db.dsn, "begin", "update customers set region = region where id = 1"),
        BlockedStatement(db.dsn, "update customers set region = 'x' where id = 1") as waiter,
    ):
        waiter.wait_until_blocked()
        with connect(db.dsn) as conn:
            after = collect_snapshot(conn)
    folder = GOLDEN / f"pg{db.major}"
    folder.mkdir(parents=True, exist_ok=True)
    save(before, folder / "before.json.gz")
    save(after, folder / "after.json.gz")
    with connect(db.dsn) as conn:
        assessment = assess(after, before, conn).to_dict()
    (folder / "assessment.json").write_text(json.dumps(assessment, indent=1, sort_keys=True))


@pytest.mark.parametrize("version", VERSIONS)
def test_structure_matches_golden(version: str) -> None:
    if not (GOLDEN / version / "after.json.gz").exists():
        pytest.fail(
            f"missing fixture {GOLDEN / version}; regenerate with PGTUNE_HX_UPDATE_GOLDEN=1"
        )
    shape = outline(render(fixture_inputs(version)))
    golden = GOLDEN / f"{version}.outline.txt"
    if UPDATE:
        golden.write_text(shape)
    assert shape == golden.read_text()
    # every section of the issue is there and holds something
    for section in (
        "summary",
        "findings",
        "statements",
        "tables",
        "indexes",
        "locks",
        "settings",
        "comparison",
        "notes",
    ):
        assert f"section {section} (open)" in shape


def _digest_in_subprocess(version: str, seed: str) -> str:
    code = (
        "import hashlib, sys\n"
        "from tests.test_report_golden import fixture_inputs\n"
        "from pgtune_hx.report.render import render\n"
        f"print(hashlib.sha256(render(fixture_inputs({version!r})).encode()).hexdigest())\n"
    )
    env = {**os.environ, "PYTHONHASHSEED": seed}
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    )
    return result.stdout.strip()


def test_same_snapshots_give_the_same_bytes() -> None:
    html = render(fixture_inputs("pg18"))
    assert html == render(fixture_inputs("pg18"))
    # another process with another hash seed: no set or dict order leaks into the file
    digest = hashlib.sha256(html.encode()).hexdigest()
    assert _digest_in_subprocess("pg18", "12345") == digest
