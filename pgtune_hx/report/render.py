"""Render the view model to one self-contained HTML file.

Jinja2 with autoescaping on for every template: each text from a snapshot (query
text, object names, settings) is escaped. Only three things go in unescaped, all
made by us: the package's own CSS and JS, and matplotlib's SVG (which escapes the
text it draws).
"""

from __future__ import annotations

import os
import tempfile
from importlib import resources
from pathlib import Path

import jinja2

from pgtune_hx import __version__
from pgtune_hx.report import charts
from pgtune_hx.report.build import build_report
from pgtune_hx.report.inputs import ReportInputs
from pgtune_hx.report.model import Report

_TEMPLATES = resources.files("pgtune_hx.report").joinpath("templates")


def environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FunctionLoader(_load_template),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=False,
        lstrip_blocks=False,
        keep_trailing_newline=True,
    )


def _load_template(name: str) -> str:
    return _TEMPLATES.joinpath(name).read_text(encoding="utf-8")


def _asset(name: str) -> str:
    text = _TEMPLATES.joinpath(name).read_text(encoding="utf-8")
    if "</" in text and name.endswith(".js"):
        # nothing may close the inline <script> early
        raise ValueError(f"{name} must not contain '</'")
    return text


def render_html(report: Report) -> str:
    template = environment().get_template("report.html.j2")
    return template.render(
        report=report,
        version=__version__,
        css=_asset("report.css"),
        js=_asset("report.js"),
    )


def render(inputs: ReportInputs) -> str:
    """Snapshots and findings in, HTML out."""
    return render_html(build_report(inputs, charts))


def write(html: str, path: Path) -> Path:
    """Write atomically (temporary file, then rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(html)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    os.chmod(path, 0o644)
    return path
