"""`pgtune-hx snapshot` and `pgtune-hx diff` as a user runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from pgtune_hx.collect import load
from pgtune_hx.errors import InvalidInputFile, UsageError
from tests.helpers.servers import TestDatabase


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "pgtune_hx", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


def test_snapshot_then_diff(db18: TestDatabase, tmp_path: Path) -> None:
    db18.execute("create table items (id int primary key, name text)")
    first, second = tmp_path / "a.json.gz", tmp_path / "b.json.gz"
    taken = cli("--dsn", db18.dsn, "snapshot", "-o", str(first))
    assert taken.returncode == 0, taken.stderr
    for name in ("tables", "indexes", "statements", "blocking", "sequences"):
        assert name in taken.stdout
    assert "PostgreSQL 18" in taken.stdout
    assert load(first).has("tables")

    db18.execute("insert into items select g, 'n' || g from generate_series(1, 300) g")
    for _ in range(5):
        db18.execute("select name from items where id = 42")
    as_json = cli("--dsn", db18.dsn, "snapshot", "-o", str(second), "--format", "json")
    assert as_json.returncode == 0, as_json.stderr
    summary = json.loads(as_json.stdout)
    assert summary["file"] == str(second)
    assert summary["sections"]["tables"]["rows"] == 1
    assert summary["sections"]["tables"]["error"] is None

    text = cli("diff", str(first), str(second), "--top", "5")
    assert text.returncode == 0, text.stderr
    assert "top statements by execution time" in text.stdout
    assert "public.items" in text.stdout
    assert "commit/s" in text.stdout

    machine = cli("diff", str(first), str(second), "--format", "json")
    assert machine.returncode == 0, machine.stderr
    data = json.loads(machine.stdout)
    assert data["format"] == "pgtune_hx.diff" and data["format_version"] == 1
    assert data["interval_s"] > 0
    items = next(r for r in data["tables"]["rows"] if r["relname"] == "items")
    assert items["n_tup_ins"] == 300


def test_sections_option(db18: TestDatabase, tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    result = cli("--dsn", db18.dsn, "snapshot", "-o", str(path), "--sections", "settings,wal")
    assert result.returncode == 0, result.stderr
    assert set(load(path).sections) == {"settings", "wal"}
    json.loads(path.read_text())  # .json means plain JSON
    bad = cli("--dsn", db18.dsn, "snapshot", "-o", str(path), "--sections", "nope")
    assert bad.returncode == UsageError.exit_code
    assert "unknown section(s) nope" in bad.stderr


def _one_line_error(result: subprocess.CompletedProcess[str], code: int) -> str:
    assert result.returncode == code, result.stderr
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]


def test_corrupt_and_foreign_snapshot_files(tmp_path: Path) -> None:
    corrupt = tmp_path / "corrupt.json.gz"
    corrupt.write_bytes(b"\x1f\x8b\x08\x00 this is not gzip")
    foreign = tmp_path / "foreign.json"
    foreign.write_text(json.dumps({"hello": "world"}))
    line = _one_line_error(cli("diff", str(corrupt), str(foreign)), InvalidInputFile.exit_code)
    assert "corrupt gzip" in line
    line = _one_line_error(cli("diff", str(foreign), str(foreign)), InvalidInputFile.exit_code)
    assert "not a pgtune_hx snapshot" in line
    missing = _one_line_error(
        cli("diff", str(tmp_path / "nope.json.gz"), str(foreign)), InvalidInputFile.exit_code
    )
    assert "does not exist" in missing


def test_diff_in_the_wrong_order(db18: TestDatabase, tmp_path: Path) -> None:
    first, second = tmp_path / "1.json", tmp_path / "2.json"
    for path in (first, second):
        assert (
            cli("--dsn", db18.dsn, "snapshot", "-o", str(path), "--sections", "wal").returncode == 0
        )
    line = _one_line_error(cli("diff", str(second), str(first)), UsageError.exit_code)
    assert "give the older snapshot first" in line
