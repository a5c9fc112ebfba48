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
"""

from __future__ import annotations

import datetime as dt
import decimal
import gzip
import ipaddress
import json
import os
import tempfile
import uuid
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pgtune_hx.errors import InvalidInputFile

if TYPE_CHECKING:
    import pandas as pd

FORMAT = "pgtune_hx.snapshot"
FORMAT_VERSION = 1


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


@dataclass
class Section:
    name: str
    columns: list[str] = field(default_factory=list)
    rows: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None
    skipped: list[str] = field(default_factory=list)
    elapsed_ms: float = 0.0

    @property
    def ok(self) -> bool:
        return self.error is None

    def frame(self) -> pd.DataFrame:
        import pandas as pd

        return pd.DataFrame(self.rows, columns=self.columns or None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "columns": self.columns,
            "rows": self.rows,
            "error": self.error,
            "skipped": self.skipped,
            "elapsed_ms": round(self.elapsed_ms, 3),
        }


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
            sections = {}
            for name, raw in dict(data["sections"]).items():
                if not isinstance(raw, dict) or not isinstance(raw.get("rows", []), list):
                    raise InvalidInputFile(f"{source}: section {name!r} is malformed")
                rows = raw.get("rows", [])
                if any(not isinstance(r, dict) for r in rows):
                    raise InvalidInputFile(f"{source}: section {name!r} has a malformed row")
                sections[str(name)] = Section(
                    name=str(name),
                    columns=[str(c) for c in raw.get("columns", [])],
                    rows=rows,
                    error=raw.get("error"),
                    skipped=[str(s) for s in raw.get("skipped", [])],
                    elapsed_ms=float(raw.get("elapsed_ms", 0.0)),
                )
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
    payload = json.dumps(snapshot.to_dict(), separators=(",", ":")).encode()
    if compress:
        payload = gzip.compress(payload, compresslevel=6, mtime=0)
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
