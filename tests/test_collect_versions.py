"""The SQL version table: every file is found, documented, and chosen by version."""

from __future__ import annotations

import doctest
import re
from importlib import resources

import pytest

from pgtune_hx.collect import diff, indexdef, statements, versions
from pgtune_hx.collect.snapshot import COLLECTORS
from pgtune_hx.errors import MissingCapability


def test_every_file_opens_with_what_changed() -> None:
    files = [
        f for f in resources.files("pgtune_hx.collect.sql").iterdir() if f.name.endswith(".sql")
    ]
    assert len(files) > 40
    for file in files:
        name = re.sub(r"_\d{6}\.sql$", "", file.name)
        first = file.read_text().splitlines()[0]
        assert first.startswith(f"-- {name}, "), file.name


@pytest.mark.parametrize(
    ("name", "version", "expected"),
    [
        ("statements", 130000, "statements_130000.sql"),
        ("statements", 160004, "statements_150000.sql"),
        ("statements", 170000, "statements_170000.sql"),
        ("checkpointer", 160009, "checkpointer_130000.sql"),
        ("checkpointer", 170002, "checkpointer_170000.sql"),
        ("tables", 150018, "tables_130000.sql"),
        ("tables", 180006, "tables_180000.sql"),
        ("wal", 170000, "wal_140000.sql"),
        ("wal", 190000, "wal_180000.sql"),
        ("replication_slots", 160000, "replication_slots_160000.sql"),
    ],
)
def test_pick(name: str, version: int, expected: str) -> None:
    assert versions.pick_file(name, version) == expected


def test_too_old_is_a_missing_capability() -> None:
    with pytest.raises(MissingCapability, match="io needs PostgreSQL 16\\+, server is 15"):
        versions.pick("io", 150018)
    with pytest.raises(MissingCapability, match="13\\+"):
        versions.pick("tables", 120000)


def test_supported_versions_are_covered() -> None:
    """Every collector SQL exists for 13 (or says which version it needs)."""
    table = versions.version_table()
    late = {"io": 160000, "statements_info": 140000}
    for name, entries in table.items():
        assert entries[0][0] == late.get(name, 130000), name
    assert len(COLLECTORS) >= 16


@pytest.mark.parametrize("module", [versions, statements, indexdef, diff])
def test_doctests(module: object) -> None:
    result = doctest.testmod(module)  # type: ignore[arg-type]
    assert result.failed == 0
    assert result.attempted > 0
