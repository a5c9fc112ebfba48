"""The --dataset option: ``synthetic``, ``glove-50``, ``hdf5:FILE`` or
``table:SCHEMA.TABLE.COLUMN`` (identifiers may be double-quoted, with ``""``
for a quote inside, so names holding dots or capitals work)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from pgtune_hx.errors import UsageError

FORMS = "synthetic, glove-50, hdf5:FILE or table:SCHEMA.TABLE.COLUMN"


class Source(StrEnum):
    synthetic = "synthetic"
    glove = "glove-50"
    hdf5 = "hdf5"
    table = "table"


@dataclass(frozen=True)
class DatasetSpec:
    source: Source
    path: str | None = None
    schema: str | None = None
    table: str | None = None
    column: str | None = None

    def __str__(self) -> str:
        if self.source is Source.hdf5:
            return f"hdf5:{self.path}"
        if self.source is Source.table:
            parts = (self.schema or "", self.table or "", self.column or "")
            return "table:" + ".".join(quote_ident(p) for p in parts)
        return self.source.value


def quote_ident(name: str) -> str:
    """Quote only when needed, as PostgreSQL prints identifiers.

    >>> quote_ident("items"), quote_ident("My.Items")
    ('items', '"My.Items"')
    """
    plain = name and (name[0].isalpha() or name[0] == "_") and name.isascii()
    if plain and all(ch.islower() or ch.isdigit() or ch in "_$" for ch in name):
        return name
    return '"' + name.replace('"', '""') + '"'


def split_identifiers(text: str) -> list[str]:
    """'public."My.T".col' -> ['public', 'My.T', 'col']; unquoted parts fold to
    lower case as PostgreSQL folds them.

    >>> split_identifiers('public."My.T".Col')
    ['public', 'My.T', 'col']
    """
    parts: list[str] = []
    i, n = 0, len(text)
    while True:
        if i < n and text[i] == '"':
            j, name = i + 1, []
            while True:
                if j >= n:
                    raise UsageError(f"unterminated quoted identifier in {text!r}")
                if text[j] == '"':
                    if j + 1 < n and text[j + 1] == '"':
                        name.append('"')
                        j += 2
                        continue
                    break
                name.append(text[j])
                j += 1
            part, i = "".join(name), j + 1
        else:
            j = text.find(".", i)
            j = n if j < 0 else j
            raw = text[i:j]
            if '"' in raw:
                raise UsageError(f"stray quote in identifier list {text!r}")
            part, i = fold_ascii(raw.strip()), j
        if not part:
            raise UsageError(f"empty identifier in {text!r}")
        parts.append(part)
        if i >= n:
            return parts
        if text[i] != ".":
            raise UsageError(f"expected '.' after identifier in {text!r}")
        i += 1


def fold_ascii(name: str) -> str:
    """PostgreSQL folds unquoted names to lower case, ASCII letters only."""
    return "".join(ch.lower() if "A" <= ch <= "Z" else ch for ch in name)


def parse_dataset(text: str) -> DatasetSpec:
    """Parse --dataset; anything else is a UsageError naming the valid forms."""
    value = text.strip()
    lowered = value.lower()
    if lowered == Source.synthetic.value:
        return DatasetSpec(Source.synthetic)
    if lowered == Source.glove.value:
        return DatasetSpec(Source.glove)
    kind, sep, rest = value.partition(":")
    if sep and kind.lower() == Source.hdf5.value:
        if not rest:
            raise UsageError("--dataset hdf5: needs a file name, e.g. hdf5:glove-25-angular.hdf5")
        return DatasetSpec(Source.hdf5, path=rest)
    if sep and kind.lower() == Source.table.value:
        parts = split_identifiers(rest)
        if len(parts) != 3:
            raise UsageError(
                f"--dataset table: expects SCHEMA.TABLE.COLUMN, got {len(parts)} part(s): {rest!r}"
            )
        return DatasetSpec(Source.table, schema=parts[0], table=parts[1], column=parts[2])
    raise UsageError(f"unknown dataset {text!r}: expected {FORMS}")
