"""The report renders hostile text as text: statements, names, settings, sessions.

Real objects with odd names and real statements holding <script>, quotes and HTML
entities go through a real snapshot into the report; the HTML is parsed and must
hold no element or attribute that the template did not put there.
"""

from __future__ import annotations

from html.parser import HTMLParser
from importlib import resources
from pathlib import Path

import pytest

from pgtune_hx.analyze.engine import analyze
from pgtune_hx.collect.snapshot import collect_snapshot
from pgtune_hx.db import connect
from pgtune_hx.report import charts
from pgtune_hx.report.anonymize import anonymize_inputs
from pgtune_hx.report.build import build_report
from pgtune_hx.report.inputs import ReportInputs
from pgtune_hx.report.render import render, render_html
from tests.helpers.locks import LockHolder
from tests.helpers.servers import TestDatabase
from tests.helpers.stats import flush
from tests.test_report_golden import fixture_inputs

SCRIPT = "<script>alert('x')</script>"
SCHEMA = 'odd "schema" <b>'
TABLE = "<img src=x onerror=alert(1)>"
INDEX = 'ix" onmouseover="alert(2)'
COLUMN = "&amp; <i>col</i>"
APP = "<svg onload=alert(3)>"
# inside the statement: pg_stat_statements drops a leading comment
# inside the statement: pg_stat_statements drops a leading comment
COMMENT = "/* </code></td><script>alert(4)</script> &lt;&amp; \"quoted\" 'single' */"

# Elements the template and matplotlib's SVG produce; anything else was injected.
ALLOWED_TAGS = {
    "html",
    "head",
    "meta",
    "title",
    "style",
    "body",
    "header",
    "h1",
    "h2",
    "h3",
    "h4",
    "p",
    "nav",
    "ul",
    "li",
    "a",
    "main",
    "section",
    "details",
    "summary",
    "span",
    "div",
    "dl",
    "dt",
    "dd",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
    "code",
    "pre",
    "figure",
    "figcaption",
    "article",
    "footer",
    "script",
    "label",
    "input",
    # matplotlib SVG
    "svg",
    "metadata",
    "rdf:rdf",
    "cc:work",
    "dc:type",
    "dc:date",
    "dc:format",
    "dc:creator",
    "cc:agent",
    "dc:title",
    "defs",
    "g",
    "path",
    "use",
    "text",
    "clippath",
    "rect",
    "tspan",
}


class Elements(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []
        self.text: list[str] = []
        self.scripts: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))
        self._in_script = tag == "script"

    def handle_endtag(self, tag: str) -> None:
        self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self.scripts.append(data)
        self.text.append(data)


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _hostile_database(db: TestDatabase) -> None:
    with db.admin() as conn:
        conn.execute(f'create schema "{SCHEMA.replace(chr(34), chr(34) * 2)}"')
        qualified = f'"{SCHEMA.replace(chr(34), chr(34) * 2)}"."{TABLE}"'
        conn.execute(f'create table {qualified} (id int primary key, "{COLUMN}" text)')
        conn.execute(
            f'create index "{INDEX.replace(chr(34), chr(34) * 2)}" on {qualified} ("{COLUMN}")'
        )
        conn.execute(f"insert into {qualified} select g, 'v' || g from generate_series(1, 500) g")
        conn.execute(f"update {qualified} set \"{COLUMN}\" = 'w' where id < 100")
        for _ in range(3):
            conn.execute(
                f'select {COMMENT} count(*), {_literal(SCRIPT)} as "{COLUMN}" from {qualified} '
                f'where "{COLUMN}" <> %s',
                [SCRIPT],
            )
        flush(conn)


def _check(html: str, expect_text: list[str]) -> Elements:
    parser = Elements()
    parser.feed(html)
    parser.close()
    tags = {tag for tag, _ in parser.tags}
    assert tags <= ALLOWED_TAGS, f"unexpected elements: {sorted(tags - ALLOWED_TAGS)}"
    for tag, attrs in parser.tags:
        for name, value in attrs:
            assert not name.startswith("on"), f"event handler attribute on <{tag}>: {name}"
            assert name.replace("-", "").replace(":", "").isalnum(), f"odd attribute {name!r}"
            assert "javascript:" not in (value or "").lower()
    # exactly our own script, byte for byte
    ours = resources.files("pgtune_hx.report").joinpath("templates", "report.js").read_text()
    assert [t for t, _ in parser.tags].count("script") == 1
    assert "".join(parser.scripts).strip() == ours.strip()
    text = "".join(parser.text)
    for expected in expect_text:
        assert expected in text, f"{expected!r} is not shown as text"
    return parser


def test_hostile_statements_and_names_render_as_text(db: TestDatabase, tmp_path: Path) -> None:
    _hostile_database(db)
    qualified = f'"{SCHEMA.replace(chr(34), chr(34) * 2)}"."{TABLE}"'
    # a session showing a raw literal (pg_stat_activity does not normalize)
    with LockHolder(
        db.dsn,
        f"select {_literal(SCRIPT)} as x, count(*) from {qualified}",
        application_name=APP,
    ):
        with connect(db.dsn) as conn:
            snapshot = collect_snapshot(conn)
    findings = [f.to_dict() for f in analyze(snapshot)]
    inputs = ReportInputs(snapshot=snapshot, findings=findings, sources=[f"<{SCRIPT}>"])
    html = render(inputs)
    (tmp_path / "xss.html").write_text(html)
    # the names and the statement comment are on the page, as text
    _check(html, [TABLE, SCHEMA, INDEX, "</code></td><script>alert(4)</script>"])

    anonymized = render(anonymize_inputs(inputs))
    parsed = _check(anonymized, [])
    text = "".join(parsed.text)
    for secret in (TABLE, INDEX, "alert(4)"):
        assert secret not in text


@pytest.mark.parametrize(
    "hostile",
    [SCRIPT, '"><script>alert(1)</script>', "&lt;script&gt;", "]]><x>", "$1 \\ $x$"],
)
def test_hostile_finding_text_is_escaped(hostile: str) -> None:
    """Findings carry names and SQL from the snapshot into every section."""
    snapshot = fixture_inputs("pg18").snapshot
    finding = {
        "rule_id": "index.unused",
        "severity": "warning",
        "title": hostile,
        "object": hostile,
        "evidence": {"query": hostile, "size_bytes": 8192},
        "fix": f"drop index {hostile}",
        "fix_kind": "sql",
        "impact": 1.0,
        "confidence": "high",
        "doc": hostile,
    }
    html = render_html(build_report(ReportInputs(snapshot, findings=[finding], title=hostile)))
    _check(html, [hostile])


def test_chart_labels_are_escaped() -> None:
    svg = charts.horizontal_bars(
        "t", [SCRIPT, TABLE, "$1 and $x$"], [3.0, 2.0, 1.0], title=SCRIPT, fmt=str
    )
    parser = Elements()
    parser.feed(svg)
    assert {tag for tag, _ in parser.tags} <= ALLOWED_TAGS
    text = "".join(parser.text)
    assert "<script>alert(" in text  # drawn as text, shortened but not dropped
    assert "$1 and $x$" in text  # no mathtext
