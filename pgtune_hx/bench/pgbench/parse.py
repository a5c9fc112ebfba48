"""Parsers of what pgbench writes: per-transaction log lines, progress lines, the summary.

Per-transaction log (``--log``), one line per transaction, space separated::

    client_id transaction_no time script_no time_epoch time_us [schedule_lag] [retries]

``time`` is the latency in microseconds, or ``failed`` / ``serialization`` /
``deadlock`` (``--failures-detailed``) for a failed transaction, or ``skipped``
(``--rate`` with ``--latency-limit``). ``schedule_lag`` is there only with
``--rate``; ``retries`` only when ``--max-tries`` is not 1. The writer knows which
options it passed, so the field count is checked exactly.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from pgtune_hx.errors import InvalidInputFile, ServerError

FAILURE_KINDS = ("failed", "serialization", "deadlock")
SKIPPED = "skipped"
_MAX_EXCERPT = 80


@dataclass(frozen=True, slots=True)
class LogRecord:
    client_id: int
    transaction_no: int
    latency_us: int | None  # None for failed and skipped transactions
    outcome: str  # "ok", one of FAILURE_KINDS, or "skipped"
    script_no: int
    epoch_s: int
    epoch_us: int
    schedule_lag_us: int | None
    retries: int

    @property
    def end_time(self) -> float:
        """Completion time of the transaction, seconds since the epoch."""
        return self.epoch_s + self.epoch_us / 1e6


class LogFormatError(InvalidInputFile):
    """A per-transaction log line that is not what pgbench writes."""


def _excerpt(line: str) -> str:
    text = line.rstrip("\n")
    return repr(text if len(text) <= _MAX_EXCERPT else text[:_MAX_EXCERPT] + "...")


def _natural(field: str, what: str, line: str) -> int:
    if not field.isascii() or not field.isdigit():
        raise LogFormatError(f"{what} is not a non-negative integer in log line {_excerpt(line)}")
    return int(field)


def parse_log_line(line: str, *, has_lag: bool = False, has_retries: bool = False) -> LogRecord:
    """One per-transaction log line; LogFormatError (never another exception) otherwise.

    >>> parse_log_line("0 1 3224 0 1796414446 152994 2", has_retries=True).retries
    2
    >>> parse_log_line("1 7 serialization 0 1796414446 1", ).outcome
    'serialization'
    """
    fields = line.split()
    expected = 6 + int(has_lag) + int(has_retries)
    if len(fields) != expected:
        raise LogFormatError(
            f"expected {expected} fields, found {len(fields)} in log line {_excerpt(line)}"
        )
    client_id = _natural(fields[0], "client_id", line)
    transaction_no = _natural(fields[1], "transaction_no", line)
    time_field = fields[2]
    latency: int | None = None
    if time_field in FAILURE_KINDS or time_field == SKIPPED:
        outcome = time_field
    else:
        latency = _natural(time_field, "time", line)
        outcome = "ok"
    script_no = _natural(fields[3], "script_no", line)
    epoch_s = _natural(fields[4], "time_epoch", line)
    epoch_us = _natural(fields[5], "time_us", line)
    if epoch_us >= 1_000_000:
        raise LogFormatError(f"time_us is not below 1000000 in log line {_excerpt(line)}")
    position = 6
    lag: int | None = None
    if has_lag:
        lag = _natural(fields[position], "schedule_lag", line)
        position += 1
    retries = _natural(fields[position], "retries", line) if has_retries else 0
    return LogRecord(
        client_id, transaction_no, latency, outcome, script_no, epoch_s, epoch_us, lag, retries
    )


def read_log_files(
    paths: Iterable[Path], *, has_lag: bool = False, has_retries: bool = False
) -> list[LogRecord]:
    """Every record of a run's log files (one per pgbench thread), in file order."""
    records: list[LogRecord] = []
    for path in paths:
        with path.open(encoding="ascii", errors="replace") as handle:
            for number, line in enumerate(handle, 1):
                if not line.strip():
                    continue
                try:
                    records.append(parse_log_line(line, has_lag=has_lag, has_retries=has_retries))
                except LogFormatError as exc:
                    raise LogFormatError(f"{path.name}:{number}: {exc.message}") from None
    return records


# -- progress lines (-P) -----------------------------------------------------------

_PROGRESS = re.compile(
    r"^progress: (?P<elapsed>[\d.]+) s, (?P<tps>[\d.]+) tps, lat (?P<lat>[\d.]+) ms"
    r"(?: stddev (?P<stddev>[\d.]+|NaN))?(?:, (?P<failed>\d+) failed)?"
)


@dataclass(frozen=True)
class ProgressLine:
    elapsed_s: float
    tps: float
    latency_ms: float
    failed: int | None


def parse_progress_line(line: str) -> ProgressLine | None:
    """A `-P` line, or None for any other stderr line.

    >>> parse_progress_line("progress: 2.0 s, 1260.9 tps, lat 1.577 ms stddev 0.729, 3 failed")
    ProgressLine(elapsed_s=2.0, tps=1260.9, latency_ms=1.577, failed=3)
    """
    match = _PROGRESS.match(line.strip())
    if match is None:
        return None
    failed = match.group("failed")
    return ProgressLine(
        float(match.group("elapsed")),
        float(match.group("tps")),
        float(match.group("lat")),
        int(failed) if failed is not None else None,
    )


# -- the summary on stdout ------------------------------------------------------------

_INT_FIELDS = {
    "scaling factor": "scaling_factor",
    "number of clients": "clients",
    "number of threads": "threads",
    "maximum number of tries": "max_tries",
    "number of transactions actually processed": "transactions",
    "number of failed transactions": "failed",
    "number of serialization failures": "serialization_failures",
    "number of deadlock failures": "deadlock_failures",
    "number of transactions retried": "retried",
    "total number of retries": "retries",
    "number of transactions skipped": "skipped",
}
_MS_FIELDS = {
    "latency average": "latency_avg_ms",
    "latency stddev": "latency_stddev_ms",
    "initial connection time": "initial_connection_ms",
}
_LINE = re.compile(r"^(?P<key>[a-z ]+?)\s*[:=]\s*(?P<value>.+)$")
_TPS = re.compile(r"^tps = (?P<tps>[\d.]+) \((?P<how>[^)]*)\)")


@dataclass(frozen=True)
class Summary:
    """What pgbench printed at the end of a run (fields absent in older versions are None)."""

    tps: float
    transactions: int
    transaction_type: str | None = None
    query_mode: str | None = None
    scaling_factor: int | None = None
    clients: int | None = None
    threads: int | None = None
    max_tries: int | None = None
    duration_s: int | None = None
    failed: int | None = None
    serialization_failures: int | None = None
    deadlock_failures: int | None = None
    retried: int | None = None
    retries: int | None = None
    skipped: int | None = None
    latency_avg_ms: float | None = None
    latency_stddev_ms: float | None = None
    initial_connection_ms: float | None = None

    def to_dict(self) -> dict[str, object]:
        return dict(self.__dict__)


def _leading_number(value: str) -> str:
    match = re.match(r"[\d.]+", value.strip())
    return match.group(0) if match else ""


def parse_summary(text: str) -> Summary:
    """pgbench's end-of-run report (stdout); ServerError when there is none."""
    values: dict[str, object] = {}
    tps: float | None = None
    for raw in text.splitlines():
        line = raw.strip()
        tps_match = _TPS.match(line)
        if tps_match:
            # PG <= 13 printed two lines; keep the one without connection time
            if tps is None or "excluding" in tps_match.group("how"):
                tps = float(tps_match.group("tps"))
            continue
        match = _LINE.match(line)
        if match is None:
            continue
        key, value = match.group("key"), match.group("value").strip()
        number = _leading_number(value)
        if key in _INT_FIELDS and number.isdigit():
            values[_INT_FIELDS[key]] = int(number)
        elif key in _MS_FIELDS and number and number != ".":
            values[_MS_FIELDS[key]] = float(number)
        elif key == "duration" and number.isdigit():
            values["duration_s"] = int(number)
        elif key == "transaction type":
            values["transaction_type"] = value
        elif key == "query mode":
            values["query_mode"] = value
    if tps is None or "transactions" not in values:
        raise ServerError("pgbench printed no summary (no tps line); see its errors above")
    return Summary(tps=tps, **values)  # type: ignore[arg-type]
