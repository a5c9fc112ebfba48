"""Workload scripts: pgbench's builtins and custom script files, checked before any run.

pgbench has no dry run, so a custom script is checked here in three steps:
the file exists, is readable text and not empty; its meta-commands parse
(``\\set`` expressions, ``\\if`` nesting, ``\\sleep`` units, variables that are
used but never set); its SQL parses (pglast, with each ``:variable`` replaced
by a parameter). The runner then probes it with ``pgbench -t 1`` once the
workload's tables exist, still before the first measured run.

A script ``NAME.sql`` with a sibling ``NAME.setup.sql`` has setup SQL: the
runner applies it once, before the runs, when the script is chosen.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path

import pglast

from pgtune_hx.errors import InvalidInputFile, InvalidSQL, UsageError

BUILTINS: dict[str, str] = {
    "tpcb": "tpcb-like",
    "tpcb-like": "tpcb-like",
    "select-only": "select-only",
    "simple-update": "simple-update",
}
SETUP_SUFFIX = ".setup.sql"

# meta-command -> first pgbench major version that has it
META_COMMANDS: dict[str, int] = {
    "set": 0,
    "setshell": 0,
    "shell": 0,
    "sleep": 0,
    "if": 11,
    "elif": 11,
    "else": 11,
    "endif": 11,
    "gset": 12,
    "aset": 14,
    "startpipeline": 14,
    "endpipeline": 14,
    "syncpipeline": 17,
}
EXPRESSION_FUNCTIONS = frozenset(
    {
        "abs", "debug", "double", "exp", "greatest", "hash", "hash_fnv1a", "hash_murmur2",
        "int", "least", "ln", "mod", "permute", "pi", "pow", "power", "random",
        "random_exponential", "random_gaussian", "random_zipfian", "sqrt",
    }
)  # fmt: skip
EXPRESSION_KEYWORDS = frozenset(
    {"and", "or", "not", "is", "null", "true", "false", "case", "when", "then", "else", "end"}
)
AUTOMATIC_VARIABLES = frozenset({"client_id", "default_seed", "random_seed", "scale"})

_VARIABLE = re.compile(r"(?<![:\w]):([A-Za-z_][A-Za-z0-9_]*)")
_NAME = re.compile(r"[A-Za-z0-9_]+")
_WORD_CALL = re.compile(r"\b([A-Za-z_][A-Za-z0-9_]*)\s*\(")
_SLEEP_UNITS = ("us", "ms", "s")


@dataclass(frozen=True)
class ScriptSpec:
    """One -b or -f argument of pgbench: a builtin or a file, with its weight."""

    name: str
    weight: int = 1
    path: Path | None = None

    @property
    def builtin(self) -> bool:
        return self.path is None

    @property
    def setup(self) -> Path | None:
        if self.path is None:
            return None
        candidate = self.path.with_name(self.path.name.removesuffix(".sql") + SETUP_SUFFIX)
        return candidate if candidate.exists() else None

    def pgbench_args(self) -> list[str]:
        if self.path is None:
            return ["-b", f"{self.name}@{self.weight}"]
        return ["-f", f"{self.path}@{self.weight}"]

    def describe(self) -> dict[str, object]:
        """Identity of the workload for a results file: names and content hashes."""
        info: dict[str, object] = {"name": self.name, "builtin": self.builtin}
        info["weight"] = self.weight
        if self.path is not None:
            info["path"] = str(self.path)
            info["sha256"] = _sha256(self.path)
            setup = self.setup
            info["setup"] = str(setup) if setup else None
            info["setup_sha256"] = _sha256(setup) if setup else None
        return info


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def split_weight(text: str) -> tuple[str, int]:
    """'file.sql@3' -> ('file.sql', 3); no suffix means weight 1.

    >>> split_weight("gateway.sql@3")
    ('gateway.sql', 3)
    >>> split_weight("a@b.sql")
    ('a@b.sql', 1)
    """
    base, sep, suffix = text.rpartition("@")
    if not sep or not base:
        return text, 1
    if not suffix.isascii() or not suffix.isdigit():
        if re.fullmatch(r"-?[\d.]+", suffix):
            raise UsageError(f"weight in {text!r} must be a non-negative integer")
        return text, 1
    return base, int(suffix)


def builtin_spec(text: str) -> ScriptSpec:
    name, weight = split_weight(text)
    canonical = BUILTINS.get(name)
    if canonical is None:
        known = ", ".join(sorted(k for k in BUILTINS if k != "tpcb-like"))
        raise UsageError(f"unknown builtin script {name!r} (known: {known})")
    return ScriptSpec(canonical, weight)


def file_spec(text: str) -> ScriptSpec:
    """A custom script argument FILE[@weight], validated (see module docs)."""
    name, weight = split_weight(text)
    path = Path(name).expanduser()
    check_script_file(path)
    spec = ScriptSpec(path.name, weight, path.absolute())
    if spec.setup is not None:
        check_setup_file(spec.setup)
    return spec


def check_weights(specs: list[ScriptSpec]) -> None:
    if specs and sum(s.weight for s in specs) == 0:
        raise UsageError("all script weights are 0: at least one must be positive")


# -- checking a script file -------------------------------------------------------


@dataclass
class ScriptCheck:
    """What a script uses, found while checking it."""

    meta_commands: set[str] = field(default_factory=set)
    defined: set[str] = field(default_factory=set)
    used: dict[str, int] = field(default_factory=dict)  # variable -> first line
    dynamic_names: bool = False  # \gset / \aset define names we cannot know

    def min_pgbench_major(self) -> int:
        return max((META_COMMANDS[c] for c in self.meta_commands), default=0)


def _read_text(path: Path, what: str) -> str:
    if not path.exists():
        raise InvalidInputFile(f"{what} {path} does not exist")
    if not path.is_file():
        raise InvalidInputFile(f"{what} {path} is not a file")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise InvalidInputFile(f"{what} {path} is not UTF-8 text") from None
    except OSError as exc:
        raise InvalidInputFile(f"{what} {path} cannot be read: {exc.strerror}") from None
    if not _strip_comments(text).strip():
        raise InvalidInputFile(f"{what} {path} is empty (no command in it)")
    return text


def _strip_comments(text: str) -> str:
    return "\n".join(ln for ln in text.splitlines() if not ln.lstrip().startswith("--"))


def _logical_lines(text: str) -> list[tuple[int, str]]:
    """Lines with their numbers; a meta-command line ending in a backslash continues."""
    result: list[tuple[int, str]] = []
    lines = text.splitlines()
    index = 0
    while index < len(lines):
        number, line = index + 1, lines[index]
        if line.lstrip().startswith("\\"):
            while line.endswith("\\") and index + 1 < len(lines):
                index += 1
                line = line[:-1] + " " + lines[index]
        result.append((number, line))
        index += 1
    return result


def check_script_file(path: Path, *, pgbench_major: int | None = None) -> ScriptCheck:
    """Raise InvalidInputFile / InvalidSQL with file:line for anything pgbench would reject."""
    text = _read_text(path, "script")
    return check_script_text(text, str(path), pgbench_major=pgbench_major)


def check_script_text(text: str, source: str, *, pgbench_major: int | None = None) -> ScriptCheck:
    check = ScriptCheck()
    sql_lines: list[str] = []
    if_stack: list[tuple[int, bool]] = []  # (line of \if, seen \else)
    has_sql = False
    for number, line in _logical_lines(text):
        stripped = line.strip()
        sql_part, meta = stripped, ""
        if stripped.startswith("\\"):
            sql_part, meta = "", stripped[1:]
        else:
            found = re.search(r"\\([ag]set)\b(.*)$", stripped)
            if found and not stripped.startswith("--"):
                sql_part = stripped[: found.start()] + ";"
                meta = found.group(1) + found.group(2)
        if sql_part and not sql_part.startswith("--"):
            has_sql = has_sql or bool(sql_part.strip(" ;"))
        sql_lines.append(sql_part)
        if meta:
            _check_meta(meta, number, source, check, if_stack, has_sql)
    if if_stack:
        raise InvalidInputFile(f"{source}:{if_stack[-1][0]}: \\if without \\endif")
    if not has_sql and not check.meta_commands:
        raise InvalidInputFile(f"{source} is empty (no command in it)")
    masked = mask_literals("\n".join(sql_lines))
    for match in _VARIABLE.finditer(masked):
        check.used.setdefault(match.group(1), masked.count("\n", 0, match.start()) + 1)
    _check_variables(check, source)
    counter = iter(range(1, 1_000_000))
    _check_sql(_VARIABLE.sub(lambda _m: f"${next(counter)}", masked), source)
    if pgbench_major is not None:
        _check_versions(check, source, pgbench_major)
    return check


def _check_meta(
    meta: str,
    number: int,
    source: str,
    check: ScriptCheck,
    if_stack: list[tuple[int, bool]],
    has_sql: bool,
) -> None:
    where = f"{source}:{number}"
    parts = meta.split()
    command = parts[0].lower() if parts else ""
    args = parts[1:]
    if command not in META_COMMANDS:
        known = ", ".join("\\" + c for c in META_COMMANDS)
        raise InvalidInputFile(f"{where}: unknown meta-command \\{command} (known: {known})")
    check.meta_commands.add(command)
    rest = meta[len(parts[0]) :].strip()
    if command == "set":
        if len(args) < 2 or not _NAME.fullmatch(args[0]):
            raise InvalidInputFile(f"{where}: \\set needs a variable name and an expression")
        _check_expression(rest[len(args[0]) :].strip(), where, number, check)
        check.defined.add(args[0])
    elif command == "setshell":
        if len(args) < 2 or not _NAME.fullmatch(args[0]):
            raise InvalidInputFile(f"{where}: \\setshell needs a variable name and a command")
        check.defined.add(args[0])
    elif command == "shell":
        if not args:
            raise InvalidInputFile(f"{where}: \\shell needs a command")
    elif command == "sleep":
        _check_sleep(args, where, number, check)
    elif command in ("if", "elif"):
        if not rest:
            raise InvalidInputFile(f"{where}: \\{command} needs a condition")
        _check_expression(rest, where, number, check)
        if command == "if":
            if_stack.append((number, False))
        elif not if_stack or if_stack[-1][1]:
            raise InvalidInputFile(f"{where}: \\elif without a matching \\if (or after \\else)")
    elif command == "else":
        if not if_stack or if_stack[-1][1]:
            raise InvalidInputFile(f"{where}: \\else without a matching \\if")
        if_stack[-1] = (if_stack[-1][0], True)
    elif command == "endif":
        if not if_stack:
            raise InvalidInputFile(f"{where}: \\endif without a matching \\if")
        if_stack.pop()
    elif command in ("gset", "aset"):
        if not has_sql:
            raise InvalidInputFile(f"{where}: \\{command} must end a query")
        check.dynamic_names = True


def _check_sleep(args: list[str], where: str, number: int, check: ScriptCheck) -> None:
    if not args or len(args) > 2:
        raise InvalidInputFile(f"{where}: \\sleep needs a duration, e.g. \\sleep 10 ms")
    amount = args[0]
    if amount.startswith(":") and _NAME.fullmatch(amount[1:]):
        check.used.setdefault(amount[1:], number)
    elif not amount.isdigit():
        raise InvalidInputFile(f"{where}: \\sleep duration {amount!r} is not an integer")
    if len(args) == 2 and args[1] not in _SLEEP_UNITS:
        raise InvalidInputFile(f"{where}: \\sleep unit {args[1]!r} is not one of us, ms, s")


def _check_expression(expr: str, where: str, number: int, check: ScriptCheck) -> None:
    if not expr:
        raise InvalidInputFile(f"{where}: missing expression")
    depth = 0
    for char in expr:
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth < 0:
            break
    if depth != 0:
        raise InvalidInputFile(f"{where}: unbalanced parentheses in {expr!r}")
    for name in _WORD_CALL.findall(expr):
        lowered = name.lower()
        if lowered not in EXPRESSION_FUNCTIONS and lowered not in EXPRESSION_KEYWORDS:
            raise InvalidInputFile(f"{where}: unknown function {name}() in {expr!r}")
    for name in re.findall(r":([A-Za-z0-9_]+)", expr):
        check.used.setdefault(name, number)


def _check_variables(check: ScriptCheck, source: str) -> None:
    if check.dynamic_names:
        return
    known = check.defined | AUTOMATIC_VARIABLES
    for name, number in sorted(check.used.items(), key=lambda item: item[1]):
        if name not in known:
            raise InvalidInputFile(
                f"{source}:{number}: variable :{name} is used but never set (\\set {name} ...)"
            )


def mask_literals(sql_text: str) -> str:
    r"""Blank the inside of quoted strings and comments, keeping length and newlines,
    so that a ':' in '{"a":true}' is not taken for a variable.

    >>> mask_literals("select ':x', 1 -- :y\nfrom t")
    "select '  ', 1      \nfrom t"
    """
    out = list(sql_text)
    index, length = 0, len(sql_text)

    def blank(start: int, end: int) -> None:
        for i in range(start, min(end, length)):
            if out[i] != "\n":
                out[i] = " "

    while index < length:
        char = sql_text[index]
        if char == "'":
            end = index + 1
            while end < length:
                if sql_text[end] == "'":
                    if end + 1 < length and sql_text[end + 1] == "'":
                        end += 2
                        continue
                    break
                end += 1
            blank(index + 1, end)
            index = end + 1
        elif sql_text.startswith("--", index):
            end = sql_text.find("\n", index)
            end = length if end < 0 else end
            blank(index, end)
            index = end
        elif sql_text.startswith("/*", index):
            end = sql_text.find("*/", index + 2)
            end = length if end < 0 else end + 2
            blank(index, end)
            index = end
        elif char == "$":
            tag = re.match(r"\$([A-Za-z_][A-Za-z0-9_]*)?\$", sql_text[index:])
            if tag is None:
                index += 1
                continue
            close = sql_text.find(tag.group(0), index + len(tag.group(0)))
            end = length if close < 0 else close
            blank(index + len(tag.group(0)), end)
            index = end + len(tag.group(0))
        else:
            index += 1
    return "".join(out)


def _check_sql(sql_text: str, source: str) -> None:
    if not sql_text.strip(" ;\n"):
        return
    try:
        pglast.parse_sql(sql_text)
    except pglast.parser.ParseError as exc:
        message = str(exc.args[0]) if exc.args else "syntax error"
        index = exc.args[1] if len(exc.args) > 1 and isinstance(exc.args[1], int) else None
        line = sql_text[:index].count("\n") + 1 if index is not None else None
        where = f"{source}:{line}" if line is not None else source
        raise InvalidSQL(f"{where}: {message}") from None


def _check_versions(check: ScriptCheck, source: str, pgbench_major: int) -> None:
    for command in sorted(check.meta_commands):
        needed = META_COMMANDS[command]
        if needed > pgbench_major:
            raise InvalidInputFile(
                f"{source}: \\{command} needs pgbench {needed} or newer, this one is "
                f"{pgbench_major}"
            )


def check_setup_file(path: Path) -> None:
    """Setup SQL is plain SQL for the server: it must parse."""
    text = _read_text(path, "setup file")
    _check_sql(text, str(path))
