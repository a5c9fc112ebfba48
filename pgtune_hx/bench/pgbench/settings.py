"""Settings files for A/B runs: parse, validate against pg_settings, apply, restore.

Two formats are read:

- conf.d: ``name = value`` lines (``=`` optional, as in postgresql.conf), ``#``
  comments, values quoted with single quotes when they hold spaces;
- the tuner's JSON: an object with a ``settings`` list, or a bare list, of
  objects with at least ``name`` and ``recommended``.

Every name and value is checked against the live server's pg_settings (name,
context, type, enum values, units, range) before anything runs. Values are
applied with ALTER SYSTEM and put back afterwards exactly as they were in
postgresql.auto.conf: names that were not there are RESET, names that were
get their old value again.
"""

from __future__ import annotations

import difflib
import json
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from psycopg import sql

from pgtune_hx.db import Guard, connect, translated
from pgtune_hx.db.connect import Connection
from pgtune_hx.errors import InvalidInputFile, ServerError

DEFAULT = "default"  # a CONFIG argument meaning: the server's settings as they are

MEMORY_UNITS = {"B": 1, "kB": 1024, "MB": 1024**2, "GB": 1024**3, "TB": 1024**4}
TIME_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "min": 60_000.0, "h": 3_600_000.0}
TIME_UNITS_MS["d"] = 86_400_000.0
BOOL_WORDS = ("true", "false", "yes", "no")
BOOL_TRUE = ("t", "tr", "tru", "true", "y", "ye", "yes", "on", "1")

# Settings whose value is a list: ALTER SYSTEM needs one literal per element.
LIST_SETTINGS = frozenset(
    {
        "search_path", "shared_preload_libraries", "session_preload_libraries",
        "local_preload_libraries", "temp_tablespaces", "log_destination", "datestyle",
        "listen_addresses", "unix_socket_directories", "debug_io_direct",
        "wal_consistency_checking", "restrict_nonsystem_relation_kind",
        "oauth_validator_libraries",
    }
)  # fmt: skip

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_$]*(?:\.[A-Za-z_][A-Za-z0-9_$]*)?")
_NUMBER = re.compile(r"^\s*([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)\s*([A-Za-z]+)?\s*$")
_BASE_UNIT = re.compile(r"^(\d*)\s*(B|kB|MB|GB|TB|us|ms|s|min|h|d)$")


@dataclass(frozen=True)
class SettingsFile:
    """One CONFIG argument: where it came from and its settings, names lowercased."""

    source: str
    settings: dict[str, str] = field(default_factory=dict)

    @property
    def is_default(self) -> bool:
        return not self.settings

    def to_dict(self) -> dict[str, object]:
        return {"source": self.source, "settings": dict(self.settings)}


# -- reading files -----------------------------------------------------------------


def load_settings(spec: str) -> SettingsFile:
    """'default', a conf.d file or a tuner JSON file; InvalidInputFile when unreadable."""
    if spec == DEFAULT:
        return SettingsFile(DEFAULT)
    path = Path(spec).expanduser()
    if not path.is_file():
        raise InvalidInputFile(f"settings file {path} does not exist (or use 'default')")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise InvalidInputFile(f"settings file {path} is not UTF-8 text") from None
    except OSError as exc:
        raise InvalidInputFile(f"settings file {path} cannot be read: {exc.strerror}") from None
    if text.lstrip().startswith(("{", "[")):
        settings = parse_tuner_json(text, str(path))
    else:
        settings = parse_conf(text, str(path))
    return SettingsFile(str(path), settings)


def _unquote(value: str, where: str) -> tuple[str, str]:
    """A quoted value and what follows it: 'it''s' and 'a\\'b' are both allowed."""
    out: list[str] = []
    index = 1
    while index < len(value):
        char = value[index]
        if char == "\\" and index + 1 < len(value):
            out.append(value[index + 1])
            index += 2
            continue
        if char == "'":
            if value[index + 1 : index + 2] == "'":
                out.append("'")
                index += 2
                continue
            return "".join(out), value[index + 1 :]
        out.append(char)
        index += 1
    raise InvalidInputFile(f"{where}: unterminated quoted value")


def parse_conf(text: str, source: str) -> dict[str, str]:
    """postgresql.conf syntax; the last line for a name wins, as in PostgreSQL.

    >>> parse_conf("work_mem = '64MB'  # sorts\\nrandom_page_cost 1.1\\n", "x.conf")
    {'work_mem': '64MB', 'random_page_cost': '1.1'}
    """
    settings: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), 1):
        where = f"{source}:{number}"
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        match = _NAME.match(line)
        if match is None:
            raise InvalidInputFile(f"{where}: expected 'name = value', got {line[:60]!r}")
        name = match.group(0).lower()
        rest = line[match.end() :].lstrip()
        if rest.startswith("="):
            rest = rest[1:].lstrip()
        if name in ("include", "include_if_exists", "include_dir"):
            raise InvalidInputFile(f"{where}: {name} is not supported in a settings file")
        if rest.startswith("'"):
            value, after = _unquote(rest, where)
        else:
            token = re.match(r"[^\s#]*", rest)
            value = token.group(0) if token else ""
            after = rest[len(value) :]
            if not value:
                raise InvalidInputFile(f"{where}: {name} has no value")
        after = after.strip()
        if after and not after.startswith("#"):
            raise InvalidInputFile(f"{where}: unexpected text after the value of {name}")
        settings.pop(name, None)  # keep the order of the winning line
        settings[name] = value
    return settings


def _json_value(value: Any, where: str) -> str:
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, int | float) and not (isinstance(value, float) and math.isnan(value)):
        return str(value)
    if isinstance(value, str) and value.strip():
        return value.strip()
    raise InvalidInputFile(f"{where}: 'recommended' must be a string, number or boolean")


def parse_tuner_json(text: str, source: str) -> dict[str, str]:
    """{"settings": [{"name": ..., "recommended": ...}, ...]} or the bare list."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidInputFile(
            f"{source}:{exc.lineno}: not valid JSON ({exc.msg})", hint="or use conf.d format"
        ) from None
    items = data.get("settings") if isinstance(data, dict) else data
    if not isinstance(items, list):
        raise InvalidInputFile(
            f"{source}: expected a JSON object with a 'settings' list, or a list of settings"
        )
    settings: dict[str, str] = {}
    for index, item in enumerate(items):
        where = f"{source}: settings[{index}]"
        if not isinstance(item, dict) or "name" not in item or "recommended" not in item:
            raise InvalidInputFile(f"{where}: needs 'name' and 'recommended'")
        name = item["name"]
        if not isinstance(name, str) or not _NAME.fullmatch(name):
            raise InvalidInputFile(f"{where}: {name!r} is not a setting name")
        settings[name.lower()] = _json_value(item["recommended"], where)
    return settings


# -- validating against pg_settings -------------------------------------------------


@dataclass(frozen=True)
class PgSetting:
    name: str
    setting: str
    unit: str | None
    vartype: str
    context: str
    min_val: str | None
    max_val: str | None
    enumvals: tuple[str, ...]


def fetch_catalog(conn: Connection) -> dict[str, PgSetting]:
    with translated("reading pg_settings"):
        rows = conn.execute(
            "select name, setting, unit, vartype, context, min_val, max_val,"
            " coalesce(enumvals, '{}') as enumvals from pg_settings"
        ).fetchall()
    return {
        row["name"].lower(): PgSetting(
            row["name"],
            row["setting"],
            row["unit"],
            row["vartype"],
            row["context"],
            row["min_val"],
            row["max_val"],
            tuple(row["enumvals"]),
        )
        for row in rows
    }


def _unit_scale(unit: str) -> tuple[str, float]:
    """'8kB' -> ('memory', 8192); 'min' -> ('time', 60000) in bytes or ms."""
    match = _BASE_UNIT.match(unit)
    if match is None:
        raise ValueError(f"unknown unit {unit!r}")
    count = int(match.group(1) or 1)
    name = match.group(2)
    if name in MEMORY_UNITS:
        return "memory", count * MEMORY_UNITS[name]
    return "time", count * TIME_UNITS_MS[name]


def to_base_units(value: str, setting: PgSetting) -> float:
    """The number pg_settings.setting would show for ``value``; ValueError if invalid.

    >>> shared = PgSetting("shared_buffers", "16384", "8kB", "integer", "postmaster",
    ...                    "16", "1073741823", ())
    >>> to_base_units("6GB", shared)
    786432.0
    """
    match = _NUMBER.match(value)
    if match is None:
        raise ValueError("not a number")
    number = float(match.group(1))
    unit = match.group(2)
    if unit is not None:
        if not setting.unit:
            raise ValueError(f"{setting.name} takes no unit")
        kind, base = _unit_scale(setting.unit)
        table = MEMORY_UNITS if kind == "memory" else TIME_UNITS_MS
        if unit not in table:
            valid = ", ".join(table)
            raise ValueError(f"unit {unit!r} is not valid here (valid units: {valid})")
        number = number * table[unit] / base
    if setting.vartype == "integer":
        number = float(round(number))
    return number


def _is_bool(value: str) -> bool:
    word = value.strip().lower()
    if word in ("on", "of", "off", "1", "0"):
        return True
    return bool(word) and any(w.startswith(word) for w in BOOL_WORDS)


def _canonical_bool(value: str) -> str:
    return "on" if value.strip().lower() in BOOL_TRUE else "off"


def check_value(value: str, setting: PgSetting) -> str | None:
    """None when the server would accept ``value``, else why not."""
    if setting.context == "internal":
        return "is fixed when PostgreSQL is built or initialized; it cannot be set"
    if setting.vartype == "bool":
        return None if _is_bool(value) else "expects on or off"
    if setting.vartype == "enum":
        options = {v.lower() for v in setting.enumvals}
        lowered = value.strip().lower()
        if lowered in options or ({"on", "off"} <= options and _is_bool(lowered)):
            return None
        return f"expects one of {', '.join(setting.enumvals)}"
    if setting.vartype in ("integer", "real"):
        try:
            number = to_base_units(value, setting)
        except ValueError as exc:
            return f"expects a number{' with unit' if setting.unit else ''}: {exc}"
        low = float(setting.min_val) if setting.min_val is not None else -math.inf
        high = float(setting.max_val) if setting.max_val is not None else math.inf
        if not low <= number <= high:
            unit = f" (in units of {setting.unit})" if setting.unit else ""
            return f"is out of range {setting.min_val}..{setting.max_val}{unit}"
        return None
    return None  # string: anything goes


def validate(config: SettingsFile, catalog: Mapping[str, PgSetting]) -> None:
    """Every problem of the file at once, in one InvalidInputFile."""
    problems: list[str] = []
    for name, value in config.settings.items():
        setting = catalog.get(name)
        if setting is None:
            close = difflib.get_close_matches(name, list(catalog), n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            problems.append(f"unknown setting {name}{hint}")
            continue
        reason = check_value(value, setting)
        if reason:
            problems.append(f"{name} = {value!r} {reason}")
    if problems:
        raise InvalidInputFile(f"settings file {config.source}: " + "; ".join(problems))


def in_force(value: str, setting: PgSetting, live: str) -> bool:
    """Whether pg_settings.setting ``live`` is what ``value`` asked for."""
    if setting.vartype == "bool":
        return _canonical_bool(value) == live.lower()
    if setting.vartype == "enum":
        lowered = value.strip().lower()
        if lowered not in {v.lower() for v in setting.enumvals} and _is_bool(lowered):
            lowered = _canonical_bool(lowered)
        return lowered == live.lower()
    if setting.vartype in ("integer", "real"):
        wanted = to_base_units(value, setting)
        if wanted == -1 and setting.min_val == "-1":
            return True  # -1 means "computed by the server"
        return math.isclose(wanted, float(live), rel_tol=1e-6, abs_tol=1e-9)
    loose = re.sub(r"[\s\"']", "", value).lower()
    return loose == re.sub(r"[\s\"']", "", live).lower()


# -- applying with ALTER SYSTEM -------------------------------------------------------


def _list_elements(value: str) -> list[str]:
    parts = [p.strip().strip('"') for p in value.split(",")]
    return [p for p in parts if p] or [""]


def _alter_set(name: str, value: str) -> sql.Composed:
    ident = sql.Identifier(*name.split("."))
    elements = _list_elements(value) if name in LIST_SETTINGS else [value]
    literals = sql.SQL(", ").join(sql.Literal(v) for v in elements)
    return sql.SQL("alter system set {} = {}").format(ident, literals)


def _alter_reset(name: str) -> sql.Composed:
    return sql.SQL("alter system reset {}").format(sql.Identifier(*name.split(".")))


class SystemSettings:
    """ALTER SYSTEM on a fixed set of names, always put back as found.

    ``capture()`` records postgresql.auto.conf's lines for those names; ``apply``
    sets the given values and returns the other managed names to their captured
    state; ``restore()`` returns all of them. Changes take effect after a reload
    or (postmaster settings) a restart, which the caller does.
    """

    def __init__(self, dsn: str, names: Iterable[str]) -> None:
        self.dsn = dsn
        self.names = sorted({n.lower() for n in names})
        self.prior: dict[str, str] | None = None
        self.touched: set[str] = set()

    def _connect(self) -> Connection:
        return connect(self.dsn, Guard(read_only=False, statement_timeout_ms=60_000))

    def capture(self) -> dict[str, str]:
        with self._connect() as conn, translated("reading postgresql.auto.conf settings"):
            rows = conn.execute(
                "select lower(name) as name, setting from pg_file_settings"
                " where sourcefile like '%%postgresql.auto.conf' and lower(name) = any(%s)"
                " order by seqno",
                (self.names,),
            ).fetchall()
        self.prior = {row["name"]: row["setting"] for row in rows}
        return dict(self.prior)

    def apply(self, settings: Mapping[str, str]) -> None:
        if self.prior is None:
            raise ServerError("SystemSettings.apply before capture")
        statements: list[tuple[str, sql.Composed]] = []
        for name in self.names:
            if name in settings:
                statements.append((name, _alter_set(name, settings[name])))
            elif name in self.prior:
                statements.append((name, _alter_set(name, self.prior[name])))
            else:
                statements.append((name, _alter_reset(name)))
        self._execute(statements, "applying settings with ALTER SYSTEM")

    def restore(self) -> None:
        """Put every touched name back; safe to call more than once."""
        if self.prior is None or not self.touched:
            return
        statements = [
            (name, _alter_set(name, self.prior[name]) if name in self.prior else _alter_reset(name))
            for name in sorted(self.touched)
        ]
        self._execute(statements, "restoring settings with ALTER SYSTEM")
        self.touched.clear()

    def restore_offline(self, auto_conf: Path) -> None:
        """Put the names back by rewriting postgresql.auto.conf of a stopped server.

        For the embedded server only, when a configuration kept it from starting
        (ALTER SYSTEM needs a running server). Other lines are kept as they are.
        """
        if self.prior is None:
            return
        managed = set(self.names)
        try:
            lines = auto_conf.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            lines = []
        kept = []
        for line in lines:
            match = _NAME.match(line.strip())
            if match is None or match.group(0).lower() not in managed:
                kept.append(line)
        for name in self.names:
            if name in self.prior:
                quoted = self.prior[name].replace("'", "''")
                kept.append(f"{name} = '{quoted}'")
        auto_conf.write_text("\n".join(kept) + "\n", encoding="utf-8")
        self.touched.clear()

    def _execute(self, statements: list[tuple[str, sql.Composed]], what: str) -> None:
        with self._connect() as conn:
            for name, statement in statements:
                self.touched.add(name)
                with translated(f"{what} ({name})"):
                    conn.execute(statement)
            with translated("reloading the configuration"):
                conn.execute("select pg_reload_conf()")
