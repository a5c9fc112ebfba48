"""The snapshot: what the collectors saw, at one moment, on one server.

A snapshot is a set of named sections. Each section is a table (declared
columns, JSON-safe rows) plus what went wrong collecting it: ``error`` when the
section is missing (no pg_stat_statements, no privilege), ``skipped`` for the
objects it could not measure (a table under ACCESS EXCLUSIVE). Conventions for
columns: names as in the PostgreSQL views; timestamps as ISO 8601 strings with
time zone; derived durations in seconds with an ``_s`` suffix; sizes in bytes
with a ``_bytes`` suffix. docs/snapshot.md documents every section.

On disk: gzip-compressed JSON (plain JSON is accepted on load), format tag
``pgtune_hx.snapshot`` and an integer ``format_version``; written atomically.
Version 2 stores a section's rows column-wise (``columns`` plus ``data``, one
list of values per row, in column order): a 10,000-table snapshot is less than
half the JSON of version 1 (one object per row, keys repeated) and dumps more
than twice as fast. Version 1 files still load.
"""

from __future__ import annotations

import datetime as dt
import decimal
import gzip
import ipaddress
import json
import operator
import os
import tempfile
import uuid
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pgtune_hx.errors import InvalidInputFile

if TYPE_CHECKING:
    import pandas as pd

FORMAT = "pgtune_hx.snapshot"
FORMAT_VERSION = 2


def json_safe(value: Any) -> Any:
    """Turn database values into JSON values; the snapshot stores only these."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if value == value and value not in (float("inf"), float("-inf")) else None
    if isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, ipaddress.IPv4Address | ipaddress.IPv6Address):
        return str(value)
    if isinstance(value, ipaddress.IPv4Network | ipaddress.IPv6Network):
        return str(value)
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, bytes | memoryview):
        return bytes(value).hex()
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [json_safe(v) for v in value]
    return str(value)


class Section:
    """One table of a snapshot: declared columns, JSON-safe rows, and what went wrong.

    Rows are held either as dicts (``rows``) or, as collected or loaded, as value
    lists in column order (``data``); ``rows`` turns the lists into dicts on first
    use. A 20,000-row section that is only saved or turned into a DataFrame never
    builds a dict per row."""

    def __init__(
        self,
        name: str,
        columns: list[str] | None = None,
        rows: list[dict[str, Any]] | None = None,
        error: str | None = None,
        skipped: list[str] | None = None,
        elapsed_ms: float = 0.0,
        *,
        data: Sequence[Sequence[Any]] | None = None,
    ) -> None:
        self.name = name
        self.columns = list(columns or [])
        self._rows: list[dict[str, Any]] | None = rows if rows is not None else None
        self._data: Sequence[Sequence[Any]] | None = data if rows is None else None
        if self._rows is None and self._data is None:
            self._rows = []
        self.error = error
        self.skipped = list(skipped or [])
        self.elapsed_ms = elapsed_ms

    @property
    def rows(self) -> list[dict[str, Any]]:
        if self._rows is None:
            columns = self.columns
            self._rows = [dict(zip(columns, values, strict=True)) for values in self._data or ()]
            self._data = None  # from now on the dicts are the rows (they may be changed)
        return self._rows

    @rows.setter
    def rows(self, value: list[dict[str, Any]]) -> None:
        self._rows, self._data = list(value), None

    def data_rows(self) -> Sequence[Sequence[Any]]:
        """The rows as value lists in column order (no dict is built)."""
        if self._rows is None:
            return self._data or []
        values = operator.itemgetter(*self.columns) if len(self.columns) > 1 else None
        if values is None:
            return [[row.get(c) for c in self.columns] for row in self._rows]
        return [values(row) for row in self._rows]

    @property
    def row_count(self) -> int:
        return len(self._rows) if self._rows is not None else len(self._data or ())

    @property
    def ok(self) -> bool:
        return self.error is None

    def frame(self) -> pd.DataFrame:
        import pandas as pd

        if self._rows is None:
            return pd.DataFrame(list(self._data or ()), columns=self.columns)
        return pd.DataFrame(self.rows, columns=self.columns or None)

    def all_columns(self) -> list[str]:
        """The declared columns, plus any key a row has beyond them."""
        columns = list(self.columns)
        if self._rows:
            known = set(columns)
            columns += [k for k in self._rows[0] if k not in known]
        return columns

    def to_dict(self) -> dict[str, Any]:
        columns = self.all_columns()
        data: list[list[Any]]
        if self._rows is None:
            data = [v if isinstance(v, list) else list(v) for v in self._data or ()]
        elif len(columns) > 1:
            # itemgetter pulls a row's values in C; a row lacking a column falls back
            values = operator.itemgetter(*columns)
            try:
                data = [list(values(row)) for row in self._rows]
            except KeyError:
                data = [[row.get(c) for c in columns] for row in self._rows]
        else:
            data = [[row.get(c) for c in columns] for row in self._rows]
        return {
            "columns": columns,
            "data": data,
            "error": self.error,
            "skipped": self.skipped,
            "elapsed_ms": round(self.elapsed_ms, 3),
        }

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Section):
            return NotImplemented
        return self.name == other.name and self.to_dict() == other.to_dict()

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        state = f"error={self.error!r}" if self.error else f"{self.row_count} rows"
        return f"Section({self.name!r}, {len(self.columns)} columns, {state})"

    @classmethod
    def from_dict(cls, name: str, raw: Any, source: str) -> Section:
        """A section of a version 2 (``data``) or version 1 (``rows``) file."""
        if not isinstance(raw, dict):
            raise InvalidInputFile(f"{source}: section {name!r} is malformed")
        columns = raw.get("columns", [])
        if not isinstance(columns, list):
            raise InvalidInputFile(f"{source}: section {name!r} is malformed")
        columns = [str(c) for c in columns]
        if "data" in raw:
            data = raw["data"]
            if not isinstance(data, list) or any(
                not isinstance(r, list) or len(r) != len(columns) for r in data
            ):
                raise InvalidInputFile(f"{source}: section {name!r} has a malformed row")
            return cls(
                name,
                columns,
                data=data,
                error=raw.get("error"),
                skipped=[str(s) for s in raw.get("skipped", [])],
                elapsed_ms=float(raw.get("elapsed_ms", 0.0)),
            )
        rows = raw.get("rows", [])
        if not isinstance(rows, list):
            raise InvalidInputFile(f"{source}: section {name!r} is malformed")
        if any(not isinstance(r, dict) for r in rows):
            raise InvalidInputFile(f"{source}: section {name!r} has a malformed row")
        return cls(
            name=name,
            columns=columns,
            rows=rows,
            error=raw.get("error"),
            skipped=[str(s) for s in raw.get("skipped", [])],
            elapsed_ms=float(raw.get("elapsed_ms", 0.0)),
        )


@dataclass
class Snapshot:
    captured_at: str
    server: dict[str, Any]
    capabilities: dict[str, Any]
    host: dict[str, Any]
    sections: dict[str, Section] = field(default_factory=dict)
    elapsed_ms: float = 0.0
    tool_version: str = ""

    def section(self, name: str) -> Section:
        """The named section; an empty one with an error when it was not collected."""
        found = self.sections.get(name)
        if found is None:
            return Section(name, error="not collected")
        return found

    def rows(self, name: str) -> list[dict[str, Any]]:
        return self.section(name).rows

    def frame(self, name: str) -> pd.DataFrame:
        return self.section(name).frame()

    def has(self, name: str) -> bool:
        found = self.sections.get(name)
        return found is not None and found.ok

    @property
    def captured(self) -> dt.datetime:
        return dt.datetime.fromisoformat(self.captured_at)

    @property
    def server_version_num(self) -> int:
        return int(self.server.get("server_version_num") or 0)

    def errors(self) -> dict[str, str]:
        return {n: s.error for n, s in self.sections.items() if s.error}

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "tool_version": self.tool_version,
            "captured_at": self.captured_at,
            "elapsed_ms": round(self.elapsed_ms, 3),
            "server": self.server,
            "capabilities": self.capabilities,
            "host": self.host,
            "sections": {name: s.to_dict() for name, s in self.sections.items()},
        }

    @classmethod
    def from_dict(cls, data: Any, source: str = "snapshot") -> Snapshot:
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise InvalidInputFile(f"{source} is not a pgtune_hx snapshot")
        version = data.get("format_version")
        if not isinstance(version, int) or version > FORMAT_VERSION or version < 1:
            raise InvalidInputFile(
                f"{source} has snapshot format version {version!r}; this pgtune_hx reads "
                f"1..{FORMAT_VERSION}"
            )
        try:
            sections = {
                str(name): Section.from_dict(str(name), raw, source)
                for name, raw in dict(data["sections"]).items()
            }
            snapshot = cls(
                captured_at=str(data["captured_at"]),
                server=dict(data["server"]),
                capabilities=dict(data.get("capabilities") or {}),
                host=dict(data.get("host") or {}),
                sections=sections,
                elapsed_ms=float(data.get("elapsed_ms", 0.0)),
                tool_version=str(data.get("tool_version", "")),
            )
            snapshot.captured  # noqa: B018 - validates the timestamp
        except InvalidInputFile:
            raise
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidInputFile(f"{source} is malformed: {type(exc).__name__}: {exc}") from None
        return snapshot


def save(snapshot: Snapshot, path: Path, *, compress: bool | None = None) -> Path:
    """Write atomically: a temporary file in the same directory, then rename.
    Compressed unless the name ends in .json (or ``compress`` says otherwise)."""
    path = Path(path)
    if compress is None:
        compress = not path.name.endswith(".json")
    payload = json.dumps(snapshot.to_dict(), separators=(",", ":"), ensure_ascii=False).encode()
    if compress:
        # level 1: a 10,000-table snapshot compresses ~20x in a fraction of level 6's time
        payload = gzip.compress(payload, compresslevel=1, mtime=0)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    return path


def load(path: Path) -> Snapshot:
    """Read and validate a snapshot file; anything else is an InvalidInputFile."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise InvalidInputFile(f"snapshot file {path} does not exist") from None
    except OSError as exc:
        raise InvalidInputFile(f"cannot read snapshot file {path}: {exc.strerror}") from None
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as exc:  # BadGzipFile is an OSError
            raise InvalidInputFile(f"{path} is a corrupt gzip file: {exc}") from None
    try:
        data = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidInputFile(f"{path} is not valid snapshot JSON: {exc}") from None
    return Snapshot.from_dict(data, source=str(path))
