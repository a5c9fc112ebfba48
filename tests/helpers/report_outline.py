"""The structure of a rendered report, as text: what golden files compare.

Sections (id, title, open), and inside each its blocks: key lists by their keys,
tables by their headers and row counts, charts by id, findings by rule and
severity. Values and formatting are left out, so a golden file changes when the
report's shape changes, not when a number's format does.
"""

from __future__ import annotations

from html.parser import HTMLParser


class _Outline(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = []
        self._capture: str | None = None
        self._buffer: list[str] = []
        self._headers: list[str] = []
        self._rows = 0
        self._table_id = ""
        self._in_tbody = False
        self._svg_depth = 0

    def _start_capture(self, what: str) -> None:
        self._capture = what
        self._buffer = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if self._svg_depth:
            if tag == "svg":
                self._svg_depth += 1
            return
        if tag == "svg":
            self._svg_depth = 1
            self.lines.append(f"    chart {a.get('id', '')}")
        elif tag == "section":
            self.lines.append(f"section {a.get('id')}")
        elif (
            tag == "details" and "open" in a and self.lines and self.lines[-1].startswith("section")
        ):
            self.lines[-1] += " (open)"
        elif tag == "h2":
            self._start_capture("h2")
        elif tag == "div" and "block" in a.get("class", "").split():
            kind = [c for c in a.get("class", "").split() if c != "block"]
            self.lines.append(f"  {' '.join(kind)} {a.get('id', '')}")
        elif tag == "dt":
            self._start_capture("dt")
        elif tag == "table":
            self._headers, self._rows, self._table_id = [], 0, a.get("id", "")
        elif tag == "th":
            self._start_capture("th")
        elif tag == "tbody":
            self._in_tbody = True
        elif tag == "tr" and self._in_tbody:
            self._rows += 1
        elif tag == "article":
            self.lines.append(f"    {a.get('class', '')} {a.get('id', '')}")
        elif tag == "p" and "empty" in a.get("class", "").split():
            self.lines.append("    (empty)")
        elif tag == "li" and "tile" in a.get("class", "").split():
            self._start_capture("tile")

    def handle_endtag(self, tag: str) -> None:
        if self._svg_depth:
            if tag == "svg":
                self._svg_depth -= 1
            return
        if tag == "tbody":
            self._in_tbody = False
        elif tag == "table":
            self.lines.append(
                f"    table {self._table_id}: {' | '.join(self._headers)} ({self._rows} rows)"
            )
        text = " ".join("".join(self._buffer).split())
        if self._capture == "h2" and tag == "h2":
            self.lines[-1] += f" {text!r}"
        elif self._capture == "dt" and tag == "dt":
            self.lines.append(f"    key {text}")
        elif self._capture == "th" and tag == "th":
            self._headers.append(text)
        elif self._capture == "tile" and tag == "li":
            self.lines.append("    tile")
        else:
            return
        self._capture = None

    def handle_data(self, data: str) -> None:
        if self._capture is not None:
            self._buffer.append(data)


def outline(html: str) -> str:
    parser = _Outline()
    parser.feed(html)
    parser.close()
    return "\n".join(parser.lines) + "\n"
