"""Charts of pgbench results: TPS and latency by client count, one row per workload.

Everything is drawn from the results documents' raw runs through
compare.aggregate, so the plot shows exactly what the tables show. The Agg
backend is used through the object API: no pyplot, no global state, no display.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from pgtune_hx.bench.pgbench.compare import aggregate

COLORS = {"A": "#4c72b0", "B": "#dd8452", "current": "#4c72b0"}
DODGE = {"A": -0.012, "B": 0.012}  # fraction of the widest client count: bars side by side


def _label(results: Mapping[str, Any], config: str) -> str:
    for item in results.get("configs", []):
        if item.get("label") == config:
            source = str(item.get("source", ""))
            return f"{config}: {Path(source).name if '/' in source else source}"
    return config


def _workload_title(results: Mapping[str, Any]) -> str:
    workload = results["workload"]
    names = " + ".join(str(s["name"]) for s in workload["scripts"])
    params = results["parameters"]
    return (
        f"{names} (scale {workload['scale']}, {params['duration_s']} s x {params['runs']} runs, "
        f"PG {results['server']['version']})"
    )


def pgbench_chart(documents: Sequence[Mapping[str, Any]], path: Path, *, note: str = "") -> Path:
    """PNG with TPS (left) and p50/p95 latency (right) by clients; error bars are min-max."""
    rows = len(documents)
    figure = Figure(figsize=(11, 3.6 * rows + (0.5 if note else 0)), layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.subplots(rows, 2, squeeze=False)
    for row, results in enumerate(documents):
        groups = aggregate(results["runs"])
        configs = sorted({str(g["config"]) for g in groups})
        widest = max((int(str(g["clients"])) for g in groups), default=1)
        tps_axis, latency_axis = axes[row][0], axes[row][1]
        for config in configs:
            members = sorted(
                (g for g in groups if g["config"] == config), key=lambda g: int(str(g["clients"]))
            )
            offset = DODGE.get(config, 0.0) * widest
            clients = [int(str(g["clients"])) + offset for g in members]
            color = COLORS.get(config)
            label = _label(results, config)
            _line(tps_axis, clients, [g["tps"] for g in members], color, label, "-")
            _line(
                latency_axis, clients, [g["latency_p95_ms"] for g in members], color,
                f"{label} p95", "-",
            )  # fmt: skip
            _line(
                latency_axis, clients, [g["latency_p50_ms"] for g in members], color,
                f"{label} p50", ":",
            )  # fmt: skip
        _annotate_ratios(tps_axis, results)
        title = _workload_title(results)
        tps_axis.set_title(f"TPS - {title}", fontsize=9, loc="left")
        tps_axis.set_ylabel("transactions / s (median)")
        latency_axis.set_title("latency (median of runs)", fontsize=9, loc="left")
        latency_axis.set_ylabel("ms")
        for axis in (tps_axis, latency_axis):
            axis.set_xlabel("clients")
            axis.set_xticks(sorted({int(str(g["clients"])) for g in groups}))
            axis.grid(True, alpha=0.3)
            axis.set_ylim(bottom=0)
            axis.legend(fontsize=8)
    if note:
        figure.suptitle(note, fontsize=8, color="#666666")
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    return path


def _annotate_ratios(axis: Any, results: Mapping[str, Any]) -> None:
    """Under each client count: B/A median TPS ratio, its spread and the verdict."""
    for row in results.get("comparison") or []:
        tps = row["metrics"]["tps"]
        if tps["median"] is None:
            continue
        text = f"B/A {tps['median']:.2f} ({tps['min']:.2f}-{tps['max']:.2f})\n{tps['verdict']}"
        axis.annotate(
            text, xy=(row["clients"], 0), xytext=(0, 6), textcoords="offset points",
            ha="center", va="bottom", fontsize=7, color="#444444",
        )  # fmt: skip


def _line(
    axis: Any,
    clients: list[float],
    stats: list[Any],
    color: str | None,
    label: str,
    style: str,
) -> None:
    points = [(c, s) for c, s in zip(clients, stats, strict=True) if s]
    if not points:
        return
    xs = [c for c, _ in points]
    medians = [s["median"] for _, s in points]
    below = [max(0.0, s["median"] - s["min"]) for _, s in points]
    above = [max(0.0, s["max"] - s["median"]) for _, s in points]
    axis.errorbar(
        xs, medians, yerr=[below, above], color=color, linestyle=style, marker="o",
        capsize=3, label=label,
    )  # fmt: skip
