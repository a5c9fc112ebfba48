"""Sizes as people type them: accepted forms, round trips, and clear rejections."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pgtune_hx.errors import UsageError
from pgtune_hx.tune.sizes import GB, KB, MB, TB, format_ms, format_size, parse_size

UNITS = {
    "": 1,
    "B": 1,
    "kB": KB,
    "KB": KB,
    "k": KB,
    "KiB": KB,
    "MB": MB,
    "M": MB,
    "MiB": MB,
    "mb": MB,
    "GB": GB,
    "G": GB,
    "GiB": GB,
    "gb": GB,
    "TB": TB,
    "TiB": TB,
    "T": TB,
}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("64GB", 64 * GB),
        ("64 GiB", 64 * GB),
        ("65536MB", 64 * GB),
        ("0.5TB", 512 * GB),
        ("512kB", 512 * KB),
        ("4096", 4096),
        ("  8gb ", 8 * GB),
        ("1.5GB", 1536 * MB),
        (".5GB", 512 * MB),
    ],
)
def test_forms_people_type(text: str, expected: int) -> None:
    assert parse_size(text) == expected


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("", "is not a size"),
        ("GB", "is not a size"),
        ("-1GB", "is not a size"),
        ("64XB", "unknown unit"),
        ("64 G B", "is not a size"),
        ("64GBB", "unknown unit"),
        ("1e3GB", "is not a size"),
        ("1.5B", "whole number of bytes"),
        ("0", "larger than zero"),
        ("0GB", "larger than zero"),
        ("nan", "is not a size"),
        ("inf", "is not a size"),
        ("99999999999TB", "too large"),
        ("1,5GB", "is not a size"),
    ],
)
def test_nonsense_is_a_usage_error(text: str, needle: str) -> None:
    with pytest.raises(UsageError) as info:
        parse_size(text, "--memory")
    assert needle in str(info.value)
    assert str(info.value).startswith("--memory")


@given(st.integers(min_value=1, max_value=2**20), st.sampled_from(sorted(UNITS)), st.booleans())
def test_every_unit_spelling(number: int, unit: str, space: bool) -> None:
    text = f"{number}{' ' if space else ''}{unit}"
    assert parse_size(text) == number * UNITS[unit]


@given(st.integers(min_value=1, max_value=2**40))
def test_format_round_trips(kilobytes: int) -> None:
    value = kilobytes * KB
    text = format_size(value)
    assert parse_size(text) == value
    assert text[-2:] in ("kB", "MB", "GB", "TB")


@given(st.text(max_size=20))
def test_any_text_parses_or_fails_cleanly(text: str) -> None:
    error: UsageError | None = None
    value = 0
    try:
        value = parse_size(text)
    except UsageError as exc:
        error = exc
    if error is not None:
        assert "\n" not in str(error)
    else:
        assert isinstance(value, int) and value > 0


@given(st.integers(min_value=1, max_value=10**9))
def test_durations_format_exactly(ms: int) -> None:
    text = format_ms(ms)
    factor = {"d": 86_400_000, "h": 3_600_000, "min": 60_000, "s": 1000, "ms": 1}
    for unit, scale in sorted(factor.items(), key=lambda kv: -len(kv[0])):
        if text.endswith(unit) and text[: -len(unit)].isdigit():
            assert int(text[: -len(unit)]) * scale == ms
            return
    raise AssertionError(text)
