"""The HTML report: view model (build), charts (matplotlib SVG), Jinja2 templates.

Presentation layer: it may import jinja2 and matplotlib; nothing headless imports it.
"""

from pgtune_hx.report.inputs import ReportInputs

__all__ = ["ReportInputs"]
