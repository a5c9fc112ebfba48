"""Charts as inline SVG, drawn with matplotlib's object API (no pyplot state).

Deterministic output: text stays text (``svg.fonttype: none``), the metadata holds
no date, and the ids matplotlib generates are salted with the chart's own id, so
the same data always gives the same bytes and two charts in one page never share
an element id.
"""

from __future__ import annotations

import io
import re
import textwrap
from collections.abc import Callable, Sequence
from typing import Any

import matplotlib
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

matplotlib.use("Agg")

PALETTE = ("#3b6ea5", "#e0913a", "#5a9e6f", "#b5525c", "#8c6bb1", "#7f7f7f")
Formatter = Callable[[float], str]


def _style() -> Any:  # matplotlib types rc keys as literals; ours are checked at run time
    return {
        "svg.fonttype": "none",
        "font.size": 9,
        "font.family": "DejaVu Sans",
        "axes.spines.top": False,
        "axes.spines.right": False,
        "axes.edgecolor": "#888888",
        "axes.titlesize": 10,
        "axes.titleweight": "bold",
    }


def _svg(fig: Figure, chart_id: str) -> str:
    buffer = io.StringIO()
    with matplotlib.rc_context({**_style(), "svg.hashsalt": f"pgtune_hx-{chart_id}"}):
        fig.savefig(
            buffer,
            format="svg",
            bbox_inches="tight",
            metadata={"Date": None, "Creator": "pgtune_hx"},
        )
    text = buffer.getvalue()
    start = text.find("<svg")
    svg = text[start:] if start >= 0 else text
    # the RDF block only names the creator; inline it is noise
    svg = re.sub(r"\s*<metadata>.*?</metadata>", "", svg, count=1, flags=re.S)
    # a stable id and an accessible role for the root element
    return svg.replace("<svg ", f'<svg id="chart-{chart_id}" role="img" ', 1)


def _plain(text: str) -> str:
    """Text drawn as is: a '$' (as in '$1' of a normalized statement) never starts mathtext."""
    return text.replace("$", r"\$")


def _label(text: str, width: int = 38) -> str:
    return _plain(textwrap.shorten(" ".join(text.split()), width=width, placeholder="…"))


def _figure(rows: int) -> Figure:
    with matplotlib.rc_context(_style()):
        return Figure(figsize=(7.2, max(1.6, 0.32 * rows + 0.9)), layout="constrained")


def horizontal_bars(
    chart_id: str,
    labels: Sequence[str],
    values: Sequence[float],
    *,
    title: str,
    fmt: Formatter,
) -> str:
    """One bar per label, largest first as given."""
    with matplotlib.rc_context(_style()):
        fig = _figure(len(labels))
        ax = fig.add_subplot()
        positions = list(range(len(labels)))[::-1]
        bars = ax.barh(positions, list(values), color=PALETTE[0])
        ax.set_yticks(positions, [_label(x) for x in labels])
        ax.bar_label(bars, labels=[fmt(v) for v in values], padding=3, fontsize=8)
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: fmt(v)))
        ax.set_title(_plain(title), loc="left")
        ax.margins(x=0.18)
        return _svg(fig, chart_id)


def stacked_bars(
    chart_id: str,
    labels: Sequence[str],
    series: dict[str, Sequence[float]],
    *,
    title: str,
    fmt: Formatter,
) -> str:
    """Horizontal bars split into parts (heap, indexes, TOAST ...)."""
    with matplotlib.rc_context(_style()):
        fig = _figure(len(labels))
        ax = fig.add_subplot()
        positions = list(range(len(labels)))[::-1]
        left = [0.0] * len(labels)
        for color, (name, values) in zip(PALETTE, series.items(), strict=False):
            ax.barh(positions, list(values), left=left, color=color, label=_plain(name))
            left = [a + b for a, b in zip(left, values, strict=True)]
        ax.set_yticks(positions, [_label(x) for x in labels])
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: fmt(v)))
        ax.set_title(_plain(title), loc="left")
        ax.legend(loc="lower right", frameon=False, fontsize=8)
        return _svg(fig, chart_id)


def paired_bars(
    chart_id: str,
    labels: Sequence[str],
    first: Sequence[float],
    second: Sequence[float],
    *,
    names: tuple[str, str],
    title: str,
    fmt: Formatter,
    log: bool = False,
) -> str:
    """Two bars per label (before and after), on a log axis when values span decades."""
    with matplotlib.rc_context(_style()):
        fig = _figure(len(labels) * 2)
        ax = fig.add_subplot()
        height = 0.38
        positions = [float(i) for i in range(len(labels))][::-1]
        ax.barh(
            [p + height / 2 for p in positions],
            list(first),
            height,
            color=PALETTE[1],
            label=_plain(names[0]),
        )
        ax.barh(
            [p - height / 2 for p in positions],
            list(second),
            height,
            color=PALETTE[0],
            label=_plain(names[1]),
        )
        ax.set_yticks(positions, [_label(x) for x in labels])
        if log:
            ax.set_xscale("log")
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: fmt(v)))
        ax.set_title(_plain(title), loc="left")
        ax.legend(loc="lower right", frameon=False, fontsize=8)
        return _svg(fig, chart_id)
