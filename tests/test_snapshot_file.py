"""Snapshot files: round trip, and corrupt or foreign files rejected clearly."""

from __future__ import annotations

import datetime as dt
import decimal
import gzip
import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pgtune_hx.collect import Section, Snapshot, load, save
from pgtune_hx.collect.model import json_safe
from pgtune_hx.errors import InvalidInputFile


def _snapshot() -> Snapshot:
    return Snapshot(
        captured_at=dt.datetime(2026, 12, 4, 12, 0, tzinfo=dt.UTC).isoformat(),
        server={"server_version_num": 180006, "database": "app"},
        capabilities={"is_superuser": True},
        host={"local": False},
        sections={
            "tables": Section(
                "tables", ["relname", "n_dead_tup"], [{"relname": "t", "n_dead_tup": 5}]
            ),
            "statements": Section("statements", error="pg_stat_statements is not installed"),
        },
    )


@pytest.mark.parametrize("name", ["snap.json.gz", "snap.json"])
def test_round_trip(tmp_path: Path, name: str) -> None:
    path = save(_snapshot(), tmp_path / name)
    loaded = load(path)
    assert loaded.to_dict() == _snapshot().to_dict()
    assert loaded.frame("tables")["n_dead_tup"].tolist() == [5]
    assert loaded.errors() == {"statements": "pg_stat_statements is not installed"}
    assert not loaded.has("statements")
    assert loaded.section("never_collected").error == "not collected"


def test_atomic_write_leaves_no_temp_files(tmp_path: Path) -> None:
    save(_snapshot(), tmp_path / "a.json.gz")
    assert [p.name for p in tmp_path.iterdir()] == ["a.json.gz"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"\x1f\x8b\x08\x00garbage", "corrupt gzip"),
        (b"\x1f\x8b\x08\x00 this is not gzip", "corrupt gzip"),  # zlib.error, not OSError
        (b"{not json", "not valid snapshot JSON"),
        (json.dumps({"hello": 1}).encode(), "not a pgtune_hx snapshot"),
        (json.dumps({"format": "pgtune_hx.snapshot", "format_version": 99}).encode(), "version 99"),
        (json.dumps({"format": "pgtune_hx.snapshot", "format_version": 1}).encode(), "malformed"),
    ],
)
def test_corrupt_or_foreign_files(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "bad.json.gz"
    path.write_bytes(content)
    with pytest.raises(InvalidInputFile, match=message):
        load(path)


def test_truncated_gzip(tmp_path: Path) -> None:
    good = save(_snapshot(), tmp_path / "s.json.gz").read_bytes()
    path = tmp_path / "cut.json.gz"
    path.write_bytes(good[: len(good) // 2])
    with pytest.raises(InvalidInputFile):
        load(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputFile, match="does not exist"):
        load(tmp_path / "nope.json.gz")


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.binary(max_size=300))
def test_arbitrary_bytes_never_crash(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "fuzz"
    for payload in (content, gzip.compress(content)):
        path.write_bytes(payload)
        with pytest.raises(InvalidInputFile):
            load(path)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3)
    ),
    max_leaves=10,
)


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(json_values)
def test_arbitrary_json_is_rejected_or_loaded(tmp_path: Path, value: object) -> None:
    path = tmp_path / "fuzz.json"
    path.write_text(
        json.dumps(
            {
                "format": "pgtune_hx.snapshot",
                "format_version": 1,
                "sections": value,
                "captured_at": "2026-01-01T00:00:00+00:00",
                "server": {},
            }
        )
    )
    try:
        snap = load(path)
    except InvalidInputFile:
        return
    assert isinstance(snap.sections, dict)


def test_json_safe_values() -> None:
    assert json_safe(decimal.Decimal("3")) == 3
    assert json_safe(decimal.Decimal("2.5")) == 2.5
    assert json_safe(dt.timedelta(seconds=90)) == 90.0
    assert json_safe(float("nan")) is None
    assert json_safe({"a": [dt.date(2026, 1, 2)]}) == {"a": ["2026-01-02"]}


def test_version_1_files_still_load(tmp_path: Path) -> None:
    """Version 1 stored rows as objects; version 2 stores them column-wise."""
    v1 = {
        "format": "pgtune_hx.snapshot",
        "format_version": 1,
        "captured_at": "2026-01-01T00:00:00+00:00",
        "server": {},
        "sections": {"tables": {"columns": ["relname"], "rows": [{"relname": "t"}]}},
    }
    path = tmp_path / "v1.json"
    path.write_text(json.dumps(v1))
    assert load(path).rows("tables") == [{"relname": "t"}]
    written = json.loads(save(load(path), tmp_path / "v2.json").read_text())
    assert written["format_version"] == 2
    assert written["sections"]["tables"]["data"] == [["t"]]


def test_ragged_column_data_is_rejected(tmp_path: Path) -> None:
    bad = {
        "format": "pgtune_hx.snapshot",
        "format_version": 2,
        "captured_at": "2026-01-01T00:00:00+00:00",
        "server": {},
        "sections": {"tables": {"columns": ["a", "b"], "data": [[1, 2], [3]]}},
    }
    path = tmp_path / "ragged.json"
    path.write_text(json.dumps(bad))
    with pytest.raises(InvalidInputFile, match="malformed row"):
        load(path)
