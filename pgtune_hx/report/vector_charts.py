"""Recall against QPS for the vector benchmark: one series per index build,
HNSW and IVFFlat in two colour families, the Pareto frontier on top and the
target recall as a line. Drawn from the results dictionary alone, so a saved
results JSON can be plotted again."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only, never a window
import matplotlib.pyplot as plt

COLOURS = {"hnsw": plt.cm.Blues, "ivfflat": plt.cm.Oranges}


def series(results: dict[str, Any], y: str = "qps") -> dict[str, list[tuple[float, float]]]:
    """(recall, y) of every valid full-table pass, grouped by index; y is a
    pass field: qps (client) or cost_ms (server CPU per query when measured)."""
    out: dict[str, list[tuple[float, float]]] = {}
    for search in (results.get("searches") or {}).values():
        for ev in search["evaluations"]:
            for point in [*ev["points"], *ev.get("curve", [])]:
                if point["valid"] and point["recall"] is not None and point.get(y) is not None:
                    out.setdefault(point["index"], []).append((point["recall"]["mean"], point[y]))
    return {k: sorted(set(v)) for k, v in out.items()}


def plot_recall_qps(results: dict[str, Any], path: Path) -> Path:
    """Write the chart (the suffix picks the format: .png or .svg): recall
    against client QPS with the Pareto frontier, and beside it recall against
    the cost per query that chose the recommendation."""
    fig, (ax, cost_ax) = plt.subplots(1, 2, figsize=(13, 5.5), dpi=110)
    _plot_cost(results, cost_ax)
    groups = series(results)
    for kind in ("hnsw", "ivfflat"):
        labels = sorted(label for label in groups if label.startswith(kind))
        cmap = COLOURS[kind]
        for i, label in enumerate(labels):
            pts = groups[label]
            colour = cmap(0.45 + 0.5 * i / max(1, len(labels)))
            ax.plot(
                [p[0] for p in pts],
                [p[1] for p in pts],
                "o-",
                ms=3,
                lw=1,
                color=colour,
                label=label,
            )
    front = [(p["recall"]["mean"], p["qps"]) for p in results.get("pareto") or []]
    if front:
        ax.plot(
            [p[0] for p in front], [p[1] for p in front], "k--", lw=1.5, label="Pareto frontier"
        )
    target = results.get("options", {}).get("target_recall")
    if target is not None:
        ax.axvline(target, color="grey", lw=1, ls=":", label=f"target recall {target}")
    rec = results.get("recommendation")
    if rec:
        ax.plot([rec["recall"]["mean"]], [rec["qps"]], "r*", ms=14, label="recommended")
    ds = results.get("dataset", {})
    ax.set_title(
        f"{ds.get('name')} {ds.get('rows', 0):,} x {ds.get('dim')}, {ds.get('metric')}, "
        f"k={results.get('options', {}).get('k')}"
    )
    ax.set_xlabel("recall@k (tuning queries)")
    ax.set_ylabel("queries per second, 1 client")
    ax.set_yscale("log")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7, loc="lower left")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def _plot_cost(results: dict[str, Any], ax: Any) -> None:
    groups = series(results, "cost_ms")
    for kind in ("hnsw", "ivfflat"):
        labels = sorted(label for label in groups if label.startswith(kind))
        for i, label in enumerate(labels):
            pts = groups[label]
            colour = COLOURS[kind](0.45 + 0.5 * i / max(1, len(labels)))
            ax.plot([p[0] for p in pts], [p[1] for p in pts], "o-", ms=3, lw=1, color=colour)
    target = results.get("options", {}).get("target_recall")
    if target is not None:
        ax.axvline(target, color="grey", lw=1, ls=":")
    rec = results.get("recommendation")
    if rec and rec.get("cost_ms") is not None:
        ax.plot([rec["recall"]["mean"]], [rec["cost_ms"]], "r*", ms=14)
    ax.set_title("cost per query (server CPU ms when measured, else client latency)")
    ax.set_xlabel("recall@k (tuning queries)")
    ax.set_ylabel("ms per query (lower is better)")
    ax.set_yscale("log")
    ax.grid(True, which="both", alpha=0.3)
