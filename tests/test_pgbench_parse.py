"""Parsers of pgbench's output: per-transaction log lines, progress lines, the summary."""

from __future__ import annotations

import doctest
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pgtune_hx.bench.pgbench import compare, gate, parse, scripts, settings
from pgtune_hx.bench.pgbench.parse import (
    LogFormatError,
    LogRecord,
    parse_log_line,
    parse_progress_line,
    parse_summary,
    read_log_files,
)
from pgtune_hx.bench.pgbench.stats import summarize
from pgtune_hx.errors import InvalidInputFile, ServerError


@pytest.mark.parametrize("module", [parse, scripts, settings, compare, gate])
def test_doctests(module: object) -> None:
    failures, tried = doctest.testmod(module)  # type: ignore[arg-type]
    assert tried > 0
    assert failures == 0


def test_log_line_fields() -> None:
    record = parse_log_line("3 17 2164 1 1796414446 156989 2", has_retries=True)
    assert record == LogRecord(3, 17, 2164, "ok", 1, 1796414446, 156989, None, 2)
    assert record.end_time == pytest.approx(1796414446.156989)


@pytest.mark.parametrize("kind", ["failed", "serialization", "deadlock", "skipped"])
def test_log_line_outcomes(kind: str) -> None:
    record = parse_log_line(f"0 1 {kind} 0 1796414446 152994")
    assert record.outcome == kind
    assert record.latency_us is None


def test_log_line_with_schedule_lag_and_retries() -> None:
    record = parse_log_line("0 1 3224 0 1796414446 152994 88 1", has_lag=True, has_retries=True)
    assert (record.schedule_lag_us, record.retries) == (88, 1)


@pytest.mark.parametrize(
    ("line", "needle"),
    [
        ("", "expected 6 fields, found 0"),
        ("0 1 3224 0 1796414446", "expected 6 fields, found 5"),
        ("0 1 3224 0 1796414446 152994 0", "expected 6 fields, found 7"),
        ("0 1 fast 0 1796414446 152994", "time is not a non-negative integer"),
        ("0 1 -5 0 1796414446 152994", "time is not a non-negative integer"),
        ("x 1 5 0 1796414446 152994", "client_id"),
        ("0 1 5 0 1796414446 1000000", "time_us is not below 1000000"),
        ("0 1 ５ 0 1796414446 15", "time is not a non-negative integer"),
    ],
)
def test_malformed_log_lines_are_clear_errors(line: str, needle: str) -> None:
    with pytest.raises(LogFormatError, match=needle):
        parse_log_line(line)


@given(st.text(max_size=120), st.booleans(), st.booleans())
def test_any_text_parses_or_fails_clearly(line: str, has_lag: bool, has_retries: bool) -> None:
    """Property: arbitrary text never crashes the parser; errors are InvalidInputFile."""
    record: LogRecord | None = None
    error: InvalidInputFile | None = None
    try:
        record = parse_log_line(line, has_lag=has_lag, has_retries=has_retries)
    except InvalidInputFile as exc:
        error = exc
    if error is not None:
        assert "log line" in str(error)
    else:
        assert record is not None
        assert record.transaction_no >= 0
        assert 0 <= record.epoch_us < 1_000_000


_natural = st.integers(min_value=0, max_value=10**12)
_outcome = st.one_of(
    st.integers(min_value=0, max_value=10**9).map(str),
    st.sampled_from(["failed", "serialization", "deadlock", "skipped"]),
)


@given(_natural, _natural, _outcome, _natural, _natural, st.integers(0, 999_999), _natural)
def test_wellformed_lines_round_trip(
    client: int, tx: int, time_field: str, script: int, epoch: int, micros: int, retries: int
) -> None:
    line = f"{client} {tx} {time_field} {script} {epoch} {micros} {retries}"
    record = parse_log_line(line, has_retries=True)
    assert (record.client_id, record.transaction_no, record.script_no) == (client, tx, script)
    assert record.retries == retries
    if time_field.isdigit():
        assert record.latency_us == int(time_field)
    else:
        assert record.outcome == time_field


@given(
    st.lists(
        st.one_of(
            st.text(alphabet="0123456789 failedskp\t-x", max_size=40),
            st.just("0 1 100 0 1796414446 5"),
        ),
        max_size=6,
    )
)
def test_log_files_with_malformed_lines_name_the_line(lines: list[str]) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "pgbench_log.1"
        path.write_text("\n".join(lines) + "\n")
        records: list[LogRecord] | None = None
        error: LogFormatError | None = None
        try:
            records = read_log_files([path])
        except LogFormatError as exc:
            error = exc
    if error is not None:
        assert str(error).startswith("pgbench_log.1:")
    else:
        assert records is not None
        assert len(records) == sum(1 for ln in lines if ln.strip())


def test_summary_and_stats_of_a_log() -> None:
    records = [
        parse_log_line(f"0 {i} {1000 * (i + 1)} 0 1796414446 {100_000 * i}") for i in range(1, 10)
    ]
    records.append(parse_log_line("1 1 serialization 0 1796414446 950000"))
    stats = summarize(records, duration_s=1.0)
    assert stats.transactions == 9
    assert stats.failed == 1
    assert stats.failures["serialization"] == 1
    assert stats.latency_ms["min"] == 2.0
    assert stats.latency_ms["max"] == 10.0
    assert stats.latency_ms["p50"] == 6.0
    assert sum(stats.per_second) == 9


def test_progress_lines() -> None:
    line = "progress: 3.0 s, 1280.0 tps, lat 1.556 ms stddev 0.903, 0 failed, 0 retried, 0 retries"
    parsed = parse_progress_line(line)
    assert parsed is not None
    assert (parsed.elapsed_s, parsed.tps, parsed.failed) == (3.0, 1280.0, 0)
    # pgbench 14 and older: no failure counts
    old = parse_progress_line("progress: 5.0 s, 99.8 tps, lat 10.0 ms stddev 2.0")
    assert old is not None
    assert old.failed is None
    assert parse_progress_line("starting vacuum...end.") is None


SUMMARY_18 = """\
pgbench (18.6)
transaction type: /tmp/ser.sql
scaling factor: 1
query mode: simple
number of clients: 4
number of threads: 2
maximum number of tries: 1
duration: 2 s
number of transactions actually processed: 319
number of failed transactions: 814 (71.845%)
number of serialization failures: 814 (71.845%)
number of deadlock failures: 0 (0.000%)
latency average = 6.961 ms (including failures)
initial connection time = 45.429 ms
tps = 161.792027 (without initial connection time)
"""

SUMMARY_13 = """\
transaction type: <builtin: TPC-B (sort of)>
scaling factor: 1
query mode: simple
number of clients: 1
number of threads: 1
duration: 5 s
number of transactions actually processed: 1000
latency average = 5.000 ms
tps = 199.000000 (including connections establishing)
tps = 200.000000 (excluding connections establishing)
"""


def test_summary_of_pgbench_18() -> None:
    summary = parse_summary(SUMMARY_18)
    assert summary.tps == pytest.approx(161.792027)
    assert (summary.transactions, summary.failed, summary.serialization_failures) == (319, 814, 814)
    assert (summary.clients, summary.threads, summary.max_tries, summary.duration_s) == (4, 2, 1, 2)
    assert summary.latency_avg_ms == pytest.approx(6.961)
    assert summary.retries is None


def test_summary_of_old_pgbench_keeps_tps_without_connections() -> None:
    summary = parse_summary(SUMMARY_13)
    assert summary.tps == 200.0
    assert summary.failed is None


def test_missing_summary_is_a_clear_error() -> None:
    with pytest.raises(ServerError, match="no summary"):
        parse_summary("pgbench: error: connection to server failed\n")
