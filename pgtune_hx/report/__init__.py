"""Presentation built from the headless core's results: the HTML report (view model
in sections/, charts as matplotlib SVG, Jinja2 templates) and benchmark charts.

It may import jinja2 and matplotlib; nothing headless imports it.
"""

from pgtune_hx.report.inputs import ReportInputs

__all__ = ["ReportInputs"]
