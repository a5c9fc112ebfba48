"""``--anonymize``: literals and object names out, before anything is rendered.

The report is built from anonymized copies of its inputs, so no section can
forget to anonymize. Statements go through pglast: constants become parameters
($n) and identifiers become pseudonyms in the syntax tree, which is printed back
as SQL; a statement pglast cannot parse is withheld rather than guessed at.
Other text has the names the snapshot knows (schemas, tables, indexes,
sequences, databases, roles) replaced wherever they stand as whole words.

Pseudonyms are stable: the same name gets the same pseudonym in every report
made with the same key (a keyed BLAKE2 hash), so two anonymized reports can be
compared. Set PGTUNE_HX_ANONYMIZE_KEY to a private value so that nobody can
confirm a guessed name by hashing it.
"""

from __future__ import annotations

import copy
import hashlib
import os
import re
from collections.abc import Iterable
from typing import Any

from pglast import ast, parse_sql
from pglast.parser import ParseError
from pglast.stream import RawStream
from pglast.visitors import Visitor

from pgtune_hx.collect.model import Section, Snapshot
from pgtune_hx.report.inputs import ReportInputs

KEY_ENV = "PGTUNE_HX_ANONYMIZE_KEY"
DEFAULT_KEY = b"pgtune_hx anonymize"
HIDDEN = "[hidden]"
WITHHELD = "[statement withheld: it could not be parsed for anonymization]"

PREFIX = {
    "schema": "schema",
    "table": "table",
    "index": "index",
    "column": "col",
    "database": "db",
    "role": "role",
    "application": "app",
    "host": "host",
    "alias": "alias",
    "sequence": "seq",
    "name": "name",
}
KEEP_SCHEMAS = {"public", "pg_catalog", "information_schema", "pg_toast"}
KEEP_DATABASES = {"postgres", "template0", "template1"}
KEEP_ROLES = {"postgres", "public"}
SYSTEM_COLUMNS = {"ctid", "xmin", "xmax", "cmin", "cmax", "tableoid"}
# pg_stat_activity's application names that name our own tools, not the user's
KEEP_APPLICATIONS = {"pgtune_hx", "psql", "pg_dump", "pgbench", ""}

# snapshot columns holding one name of a known kind
NAME_COLUMNS = {
    "schemaname": "schema",
    "relname": "table",
    "indexrelname": "index",
    "sequencename": "sequence",
    "datname": "database",
    "database": "database",
    "rolname": "role",
    "usename": "role",
    "owner": "role",
    "application_name": "application",
    "client_addr": "host",
    "client_hostname": "host",
    "slot_name": "name",
    "gid": "name",
}
SQL_COLUMNS = {"query", "indexdef", "definition", "create_sql", "statement", "sql"}
COLUMN_LIST_COLUMNS = {"columns", "include", "column"}
# settings whose values name places or machines
SENSITIVE_SETTINGS = {
    "archive_command",
    "archive_library",
    "cluster_name",
    "config_file",
    "data_directory",
    "hba_file",
    "ident_file",
    "external_pid_file",
    "listen_addresses",
    "log_directory",
    "primary_conninfo",
    "primary_slot_name",
    "restore_command",
    "ssl_ca_file",
    "ssl_cert_file",
    "ssl_crl_dir",
    "ssl_crl_file",
    "ssl_key_file",
    "unix_socket_directories",
    "krb_server_keyfile",
    "recovery_end_command",
    "archive_cleanup_command",
    "stats_temp_directory",
    "dynamic_library_path",
    "local_preload_libraries",
    "session_preload_libraries",
    "shared_preload_libraries_path",
}
SETTINGS_PLAIN = {
    "name",
    "unit",
    "category",
    "short_desc",
    "extra_desc",
    "context",
    "vartype",
    "source",
    "enumvals",
    "min_val",
    "max_val",
    "pending_restart",
}
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_$]*")


class Anonymizer:
    def __init__(self, key: bytes | None = None) -> None:
        env = os.environ.get(KEY_ENV)
        self.key = key or (env.encode() if env else DEFAULT_KEY)
        self.known: dict[str, str] = {}  # a name that may appear in free text -> its kind
        self._odd: re.Pattern[str] | None = None

    # -- names -----------------------------------------------------------------------

    def name(self, kind: str, value: Any) -> Any:
        """The pseudonym of one name; names everybody has (public, postgres) stay."""
        if not isinstance(value, str) or not value:
            return value
        if (
            (kind == "schema" and (value in KEEP_SCHEMAS or value.startswith("pg_")))
            or (kind == "database" and value in KEEP_DATABASES)
            or (kind == "role" and (value in KEEP_ROLES or value.startswith("pg_")))
            or (kind == "application" and value in KEEP_APPLICATIONS)
            or (kind == "column" and value in SYSTEM_COLUMNS)
        ):
            return value
        digest = hashlib.blake2s(f"{kind}\0{value}".encode(), key=self.key[:32], digest_size=4)
        return f"{PREFIX.get(kind, 'name')}_{digest.hexdigest()}"

    def learn(self, kind: str, value: Any) -> None:
        if isinstance(value, str) and value and self.name(kind, value) != value:
            self.known.setdefault(value, kind)
            self._odd = None

    def learn_snapshot(self, snap: Snapshot) -> None:
        for row in snap.rows("tables"):
            self.learn("schema", row.get("schemaname"))
            self.learn("table", row.get("relname"))
        for row in snap.rows("indexes"):
            self.learn("schema", row.get("schemaname"))
            self.learn("table", row.get("relname"))
            self.learn("index", row.get("indexrelname"))
        for row in snap.rows("sequences"):
            self.learn("schema", row.get("schemaname"))
            self.learn("sequence", row.get("sequencename"))
        for section in snap.sections.values():
            for row in section.rows:
                for column in ("datname", "database"):
                    self.learn("database", row.get(column))
                for column in ("rolname", "usename", "owner"):
                    self.learn("role", row.get(column))
        self.learn("database", snap.server.get("database"))

    def text(self, value: str) -> str:
        """Free text with every known name replaced where it stands as a whole word."""

        def word(match: re.Match[str]) -> str:
            found = match.group(0)
            kind = self.known.get(found)
            return str(self.name(kind, found)) if kind else found

        result = _WORD.sub(word, value)
        odd = self._odd_pattern()
        if odd is not None:
            result = odd.sub(lambda m: str(self.name(self.known[m.group(0)], m.group(0))), result)
        return result

    def _odd_pattern(self) -> re.Pattern[str] | None:
        """Names that are not plain words ("Odd Name", a<b) need a pattern of their own."""
        if self._odd is None:
            odd = sorted((n for n in self.known if not _WORD.fullmatch(n)), key=len, reverse=True)
            if not odd:
                return None
            alternation = "|".join(re.escape(n) for n in odd)
            self._odd = re.compile(rf"(?<![\w$])(?:{alternation})(?![\w$])")
        return self._odd

    # -- SQL ---------------------------------------------------------------------------

    def sql(self, value: Any) -> Any:
        """A statement with constants as $n and identifiers as pseudonyms, or withheld."""
        if not isinstance(value, str) or not value.strip():
            return value
        try:
            statements = parse_sql(value)
            renamer = _Renamer(self)
            printed = []
            for statement in statements:
                renamer(statement)
                printed.append(RawStream()(statement))
        except (ParseError, ValueError, NotImplementedError, AttributeError):
            return WITHHELD
        return ";\n".join(printed)

    def expression(self, value: Any) -> Any:
        """An SQL expression (an index predicate, say), through ``SELECT <expr>``."""
        if not isinstance(value, str) or not value.strip():
            return value
        printed = self.sql(f"SELECT {value}")
        if printed == WITHHELD:
            return WITHHELD
        return str(printed).removeprefix("SELECT ")

    # -- whole inputs ------------------------------------------------------------------

    def value(self, key: str, value: Any) -> Any:
        """One field of a snapshot row, finding or recommendation, by what its key holds."""
        if isinstance(value, dict):
            return {k: self.value(str(k), v) for k, v in value.items()}
        if isinstance(value, list):
            if key in COLUMN_LIST_COLUMNS:
                return [self.name("column", v) if isinstance(v, str) else v for v in value]
            if key in ("expressions",):
                return [self.expression(v) for v in value]
            return [self.value(key, v) for v in value]
        if not isinstance(value, str):
            return value
        if key in SQL_COLUMNS or key in ("fix", "queries"):
            parsed = self.sql(value)
            return parsed if parsed != WITHHELD or key in SQL_COLUMNS else self.text(value)
        if key == "predicate":
            return self.expression(value)
        if key in COLUMN_LIST_COLUMNS:
            return self.name("column", value)
        if key in NAME_COLUMNS:
            return self.name(NAME_COLUMNS[key], value)
        return self.text(value)

    def row(self, row: dict[str, Any], plain: Iterable[str] = ()) -> dict[str, Any]:
        keep = set(plain)
        return {k: (v if k in keep else self.value(k, v)) for k, v in row.items()}

    def section(self, section: Section) -> Section:
        result = copy.copy(section)
        if section.name == "settings":
            result.rows = [self._setting(r) for r in section.rows]
        else:
            result.rows = [self.row(r) for r in section.rows]
        result.skipped = [self.text(s) for s in section.skipped]
        result.error = None if section.error is None else self.text(section.error)
        return result

    def _setting(self, row: dict[str, Any]) -> dict[str, Any]:
        if row.get("name") in SENSITIVE_SETTINGS:
            hidden = {k: HIDDEN for k in ("setting", "reset_val", "boot_val", "sourcefile")}
            return {**row, **{k: v for k, v in hidden.items() if k in row}}
        cleaned = self.row(row, SETTINGS_PLAIN)
        if cleaned.get("sourcefile"):
            cleaned["sourcefile"] = HIDDEN
        return cleaned

    def snapshot(self, snap: Snapshot) -> Snapshot:
        server = self.row(snap.server)
        for key in ("system_identifier", "connection", "data_directory"):
            if server.get(key) is not None:
                server[key] = HIDDEN
        host = self.row(snap.host)
        for key in ("data_dir", "hostname"):
            if host.get(key) is not None:
                host[key] = HIDDEN
        return Snapshot(
            captured_at=snap.captured_at,
            server=server,
            capabilities=dict(snap.capabilities),
            host=host,
            sections={name: self.section(s) for name, s in snap.sections.items()},
            elapsed_ms=snap.elapsed_ms,
            tool_version=snap.tool_version,
        )

    def finding(self, finding: dict[str, Any]) -> dict[str, Any]:
        plain = ("rule_id", "severity", "fix_kind", "confidence", "doc", "impact")
        result = self.row(finding, plain)
        if finding.get("fix") and finding.get("fix_kind") != "sql":
            result["fix"] = self.text(str(finding["fix"]))
        return result


class _Renamer(Visitor):
    """Rewrites one parsed statement in place: constants to $n, names to pseudonyms."""

    def __init__(self, anonymizer: Anonymizer) -> None:
        super().__init__()
        self.anon = anonymizer
        self.next_param = 1000

    def _ident(self, kind: str, value: Any) -> Any:
        return self.anon.name(kind, value) if isinstance(value, str) else value

    def visit_A_Const(self, ancestors: Any, node: ast.A_Const) -> Any:
        self.next_param += 1
        return ast.ParamRef(number=self.next_param)

    def visit_RangeVar(self, ancestors: Any, node: ast.RangeVar) -> None:
        node.catalogname = self._ident("database", node.catalogname)
        node.schemaname = self._ident("schema", node.schemaname)
        node.relname = self._ident("table", node.relname)

    def visit_ColumnRef(self, ancestors: Any, node: ast.ColumnRef) -> None:
        fields = list(node.fields or ())
        names = [f for f in fields if isinstance(f, ast.String)]
        renamed = []
        for position, field_node in enumerate(fields):
            if not isinstance(field_node, ast.String):
                renamed.append(field_node)
                continue
            last = position == len(fields) - 1 and field_node is names[-1]
            if last:
                kind = "column"
            elif self.anon.known.get(str(field_node.sval)) in ("schema", "table"):
                kind = self.anon.known[str(field_node.sval)]
            else:
                kind = "alias"
            renamed.append(ast.String(sval=self._ident(kind, field_node.sval)))
        node.fields = tuple(renamed)

    def visit_ResTarget(self, ancestors: Any, node: ast.ResTarget) -> None:
        node.name = self._ident("column", node.name)

    def visit_Alias(self, ancestors: Any, node: ast.Alias) -> None:
        node.aliasname = self._ident("alias", node.aliasname)
        if node.colnames:
            node.colnames = tuple(
                ast.String(sval=self._ident("column", c.sval)) if isinstance(c, ast.String) else c
                for c in node.colnames
            )

    def visit_IndexStmt(self, ancestors: Any, node: ast.IndexStmt) -> None:
        node.idxname = self._ident("index", node.idxname)

    def visit_IndexElem(self, ancestors: Any, node: ast.IndexElem) -> None:
        node.name = self._ident("column", node.name)

    def visit_CommonTableExpr(self, ancestors: Any, node: ast.CommonTableExpr) -> None:
        node.ctename = self._ident("alias", node.ctename)

    def visit_DropStmt(self, ancestors: Any, node: ast.DropStmt) -> None:
        objects = []
        for obj in node.objects or ():
            if isinstance(obj, tuple | list):
                parts = [p.sval for p in obj if isinstance(p, ast.String)]
                kinds = ["schema", "index"] if len(parts) == 2 else ["index"]
                objects.append(
                    tuple(
                        ast.String(sval=self._ident(k, p))
                        for k, p in zip(kinds, parts, strict=False)
                    )
                )
            else:
                objects.append(obj)
        node.objects = tuple(objects)

    def visit_FuncCall(self, ancestors: Any, node: ast.FuncCall) -> None:
        # built-in functions keep their names; a user schema in front is renamed
        names = list(node.funcname or ())
        if len(names) > 1 and isinstance(names[0], ast.String):
            names[0] = ast.String(sval=self._ident("schema", names[0].sval))
            node.funcname = tuple(names)


def anonymize_inputs(inputs: ReportInputs, key: bytes | None = None) -> ReportInputs:
    """A copy of ``inputs`` with literals and names replaced throughout."""
    anon = Anonymizer(key)
    anon.learn_snapshot(inputs.snapshot)
    if inputs.since is not None:
        anon.learn_snapshot(inputs.since)
    return ReportInputs(
        snapshot=anon.snapshot(inputs.snapshot),
        since=None if inputs.since is None else anon.snapshot(inputs.since),
        findings=None if inputs.findings is None else [anon.finding(f) for f in inputs.findings],
        suggestions=None
        if inputs.suggestions is None
        else [anon.row(s, ("method", "verified_by")) for s in inputs.suggestions],
        plan_findings=None
        if inputs.plan_findings is None
        else {
            str(anon.value("query", k)): [anon.row(p) for p in v]
            for k, v in inputs.plan_findings.items()
        },
        tuning=None if inputs.tuning is None else anon.row(inputs.tuning, ("name", "unit")),
        demo=None if inputs.demo is None else anon.row(inputs.demo),
        advice_notes=[anon.text(n) for n in inputs.advice_notes],
        missing={k: anon.text(v) for k, v in inputs.missing.items()},
        title=None if inputs.title is None else anon.text(inputs.title),
        sources=[f"source {i + 1}" for i in range(len(inputs.sources))],
        anonymized=True,
        all_databases=inputs.all_databases,
    )
