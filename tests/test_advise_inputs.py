"""Property tests of the advisor's parsers of outside input: workload files and sizes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pgtune_hx.advise.workload import _json_entries, _sql_entries
from pgtune_hx.cli.advise import parse_size
from pgtune_hx.errors import InvalidInputFile, UsageError

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
PATH = Path("workload.json")

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=15,
)


@SETTINGS
@given(json_values)
def test_any_json_is_entries_or_a_clear_error(value: Any) -> None:
    try:
        entries = _json_entries(json.dumps(value), PATH)
    except InvalidInputFile as exc:
        message = str(exc)
    else:
        message = ""
    if message:
        assert message.startswith("workload.json")
        return
    for entry in entries:
        assert isinstance(entry["query"], str)
        assert entry.get("weight_ms", 1.0) >= 0


@SETTINGS
@given(
    st.lists(
        st.tuples(
            st.one_of(st.none(), st.floats(min_value=0, max_value=1e9, allow_nan=False)),
            st.sampled_from(["select 1 from t where a = $1", "update t set b = 2", "vacuum"]),
        ),
        min_size=1,
        max_size=6,
    )
)
def test_sql_files_keep_their_weights(items: list[tuple[float | None, str]]) -> None:
    text = "".join(
        (f"-- weight: {w!r}\n" if w is not None else "") + f"{sql};\n" for w, sql in items
    )
    entries = _sql_entries(text, Path("w.sql"))
    assert [e["sql"] for e in entries] == [sql for _, sql in items]
    assert [e["weight_ms"] for e in entries] == [1.0 if w is None else w for w, _ in items]


@SETTINGS
@given(st.text(max_size=40))
def test_sql_file_text_never_crashes(text: str) -> None:
    try:
        entries = _sql_entries(text, Path("w.sql"))
    except InvalidInputFile:
        return
    assert all(isinstance(e["weight_ms"], float) for e in entries)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("512MB", 512 * 1024**2),
        ("2 GiB", 2 * 1024**3),
        ("1g", 1024**3),
        ("1000", 1000),
        ("8kB", 8192),
    ],
)
def test_sizes(text: str, expected: int) -> None:
    assert parse_size(text) == expected


@SETTINGS
@given(st.text(max_size=12))
def test_any_size_text_is_a_size_or_a_usage_error(text: str) -> None:
    try:
        size: int | None = parse_size(text)
    except UsageError as exc:
        size, message = None, str(exc)
    if size is None:
        assert "not a size" in message
    else:
        assert size >= 0
