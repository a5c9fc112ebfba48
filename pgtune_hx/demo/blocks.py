"""Named blocks of SQL in the demo's package .sql files.

A block starts at a line ``-- step: label`` (or ``-- query: name``) and runs to the
next one. A trailing ``[tag]`` on the marker line limits the block to servers with
that capability (``[vector]``) or without it (``[no-vector]``). Statements inside a
block are split with pglast's scanner, so semicolons in strings are safe.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources

from pglast import parser

_MARKER = re.compile(r"^--\s*(step|query):\s*(.+?)\s*(?:\[([\w-]+)\])?\s*$")


@dataclass(frozen=True)
class Block:
    kind: str  # "step" or "query"
    name: str
    sql: str
    tag: str | None = None

    def statements(self) -> list[str]:
        """The block's statements, comments kept, trailing semicolons dropped."""
        return [s.strip() for s in parser.split(self.sql, with_parser=False) if s.strip()]

    def applies(self, capabilities: set[str]) -> bool:
        if self.tag is None:
            return True
        if self.tag.startswith("no-"):
            return self.tag[3:] not in capabilities
        return self.tag in capabilities


def parse_blocks(text: str) -> list[Block]:
    """Split a file into blocks; text before the first marker is the file's header.

    >>> [b.name for b in parse_blocks("-- header\\n-- step: a\\nselect 1;\\n-- step: b [x]\\n")]
    ['a', 'b']
    """
    blocks: list[Block] = []
    current: tuple[str, str, str | None] | None = None
    lines: list[str] = []

    def close() -> None:
        if current is not None:
            kind, name, tag = current
            blocks.append(Block(kind, name, "\n".join(lines).strip(), tag))

    for line in text.splitlines():
        match = _MARKER.match(line)
        if match:
            close()
            current = (match.group(1), match.group(2), match.group(3))
            lines = []
        elif current is not None:
            lines.append(line)
    close()
    names = [b.name for b in blocks]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ValueError(f"duplicate block names: {', '.join(duplicates)}")
    return blocks


def load_blocks(filename: str) -> list[Block]:
    text = resources.files("pgtune_hx.demo").joinpath("sql", filename).read_text()
    return parse_blocks(text)
