"""The statements to advise for: pg_stat_statements, a file, or one query.

- pg_stat_statements: this database's top-level statements by total
  execution time; the weight of each is its ``total_exec_time`` over the time
  since pg_stat_statements was reset, so it compares with table write rates.
- A ``.sql`` file: statements separated by semicolons, each optionally
  preceded by a ``-- weight: <ms>`` comment (default 1).
- A ``.json`` file: ``[{"query": ..., "weight_ms": ...}]`` or
  ``{"window_s": 3600, "queries": [{"query": ..., "calls": 10, "mean_ms": 2.5}]}``.

Statements that do not parse (pg_stat_statements truncates long texts),
utility statements, EXPLAINs and catalog-only statements are skipped, with a
note.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pglast import parser as pg_parser

from pgtune_hx.advise.catalog import Catalog, load_sql
from pgtune_hx.analyze.query import extract_facts, extract_many
from pgtune_hx.analyze.query_model import QueryFacts
from pgtune_hx.analyze.sql_text import fast_parsing
from pgtune_hx.db import Connection, probe, translated
from pgtune_hx.errors import InvalidInputFile, PgtuneError, UsageError

WEIGHT_COMMENT = re.compile(r"--\s*weight\s*:\s*([0-9.eE+-]+)")
LEADING_COMMENTS = re.compile(r"\A(\s*(--[^\n]*(\n|\Z)|/\*.*?\*/))*", re.DOTALL)
SYSTEM_SCHEMAS = frozenset({"pg_catalog", "information_schema", "pg_toast"})
KINDS = frozenset({"select", "update", "delete", "insert", "merge"})


@dataclass
class Workload:
    queries: list[Any] = field(default_factory=list)  # WorkloadQuery
    skipped: list[str] = field(default_factory=list)
    source: str = ""


def _keep(facts: QueryFacts) -> str | None:
    """Why a statement is not worth advising for, or None."""
    if facts.kind not in KINDS:
        return "not a SELECT/INSERT/UPDATE/DELETE/MERGE"
    if facts.explained:
        return "an EXPLAIN"
    if not facts.tables:
        return "reads no table"
    if all(t.schema in SYSTEM_SCHEMAS for t in facts.tables):
        return "reads only system catalogs"
    if facts.kind == "insert" and len(facts.tables) <= 1:
        return "an INSERT that reads no table: no index can speed it up"
    return None


def _add(workload: Workload, facts: QueryFacts | PgtuneError, **fields: Any) -> None:
    from pgtune_hx.advise.model import WorkloadQuery

    label = fields["id"]
    if isinstance(facts, PgtuneError):
        workload.skipped.append(f"{label}: {facts}")
        return
    why = _keep(facts)
    if why:
        workload.skipped.append(f"{label}: {why}")
        return
    workload.queries.append(WorkloadQuery(facts=facts, **fields))


def from_statements(
    conn: Connection, catalog: Catalog, *, limit: int = 200, min_calls: int = 1
) -> Workload:
    probe(conn).has_pg_stat_statements(check=True)
    with translated("reading pg_stat_statements"):
        rows = conn.execute(
            load_sql("statements").encode(), {"limit": limit, "min_calls": min_calls}
        ).fetchall()
    workload = Workload(source="pg_stat_statements")
    path = catalog.session.search_path
    texts = [str(r["query"]) for r in rows]
    results = extract_many(texts, search_path=path, lookup=catalog.lookup)
    for row, facts in zip(rows, results, strict=True):
        _add(
            workload,
            facts,
            id=f"queryid {row['queryid']}",
            sql=str(row["query"]),
            weight_ms=float(row["total_exec_time"]),
            calls=int(row["calls"]),
            mean_ms=float(row["mean_exec_time"]),
            window_s=float(row["window_s"]) if row["window_s"] else None,
            source="pg_stat_statements",
        )
    if not workload.queries:
        workload.skipped.append("pg_stat_statements has no usable statement for this database")
    return workload


def from_query(text: str, catalog: Catalog) -> Workload:
    facts = extract_facts(text, search_path=catalog.session.search_path, lookup=catalog.lookup)
    workload = Workload(source="argument")
    _add(workload, facts, id="q1", sql=text.strip().rstrip(";"), source="argument")
    if not workload.queries:
        raise UsageError(
            f"nothing to advise: the statement {workload.skipped[0].split(': ', 1)[1]}"
        )
    return workload


def from_file(path: Path, catalog: Catalog) -> Workload:
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        detail = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise InvalidInputFile(f"cannot read {path}: {detail}") from None
    entries = (
        _json_entries(text, path) if path.suffix.lower() == ".json" else _sql_entries(text, path)
    )
    workload = Workload(source=str(path))
    search_path = catalog.session.search_path
    with fast_parsing():
        for i, entry in enumerate(entries, 1):
            try:
                facts: QueryFacts | PgtuneError = extract_facts(
                    entry["query"], search_path=search_path, lookup=catalog.lookup
                )
            except PgtuneError as exc:
                facts = exc
            _add(workload, facts, id=f"{path.name}#{i}", source=str(path), **_fields(entry))
    if not workload.queries:
        raise InvalidInputFile(
            f"{path}: no statement to advise for ({'; '.join(workload.skipped[:3])})"
        )
    return workload


def _fields(entry: dict[str, Any]) -> dict[str, Any]:
    return {
        k: v for k, v in entry.items() if k in ("sql", "weight_ms", "calls", "mean_ms", "window_s")
    }


def _sql_entries(text: str, path: Path) -> list[dict[str, Any]]:
    try:
        pieces = pg_parser.split(text, with_parser=False)
    except pg_parser.ParseError as exc:
        raise InvalidInputFile(f"{path}: cannot split into statements: {exc.args[0]}") from None
    entries = []
    for piece in pieces:
        weight = 1.0
        match = WEIGHT_COMMENT.search(piece)
        if match:
            try:
                weight = float(match.group(1))
            except ValueError:
                raise InvalidInputFile(f"{path}: bad weight {match.group(1)!r}") from None
        sql = LEADING_COMMENTS.sub("", piece).strip()
        if sql:
            entries.append({"query": piece, "sql": sql, "weight_ms": weight})
    return entries


def _json_entries(text: str, path: Path) -> list[dict[str, Any]]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidInputFile(f"{path}: not JSON ({exc.msg} at line {exc.lineno})") from None
    window = None
    if isinstance(data, dict):
        window = data.get("window_s")
        data = data.get("queries")
    if not isinstance(data, list):
        raise InvalidInputFile(f'{path}: expected a list of {{"query": ...}} objects')
    entries = []
    for i, item in enumerate(data, 1):
        if isinstance(item, str):
            item = {"query": item}
        if not isinstance(item, dict) or not isinstance(item.get("query"), str):
            raise InvalidInputFile(f'{path}: entry {i} has no "query" text')
        entry: dict[str, Any] = {"query": item["query"], "sql": item["query"].strip().rstrip(";")}
        try:
            if "weight_ms" in item or "weight" in item:
                raw: Any = item["weight_ms"] if "weight_ms" in item else item["weight"]
                entry["weight_ms"] = float(raw)
            elif "calls" in item and "mean_ms" in item:
                entry["weight_ms"] = float(item["calls"]) * float(item["mean_ms"])
            if "calls" in item:
                entry["calls"] = int(item["calls"])
            if "mean_ms" in item:
                entry["mean_ms"] = float(item["mean_ms"])
            if window is not None:
                entry["window_s"] = float(window)
        except (TypeError, ValueError):
            raise InvalidInputFile(f"{path}: entry {i} has a non-numeric weight") from None
        if entry.get("weight_ms", 1.0) < 0:
            raise InvalidInputFile(f"{path}: entry {i} has a negative weight")
        entries.append(entry)
    return entries
