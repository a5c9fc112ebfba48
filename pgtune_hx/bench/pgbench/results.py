"""The results file: versions, host, settings, every run; load and save.

Field reference: docs/bench-pgbench.md. Everything the tables, the plot and
the gate show is recomputed from ``runs`` by compare.aggregate/compare.compare.
"""

from __future__ import annotations

import json
import os
import platform
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import psutil

from pgtune_hx.db.redact import redact
from pgtune_hx.errors import InvalidInputFile

RESULTS_FORMAT = "pgtune_hx.bench.pgbench/1"


def host_info() -> dict[str, object]:
    """CPU, memory and load of the machine the benchmark ran on."""
    try:
        load: list[float] | None = [round(x, 2) for x in os.getloadavg()]
    except OSError:
        load = None
    try:
        affinity: int | None = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        affinity = None
    return {
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cpu_count": psutil.cpu_count(logical=True),
        "cpu_count_physical": psutil.cpu_count(logical=False),
        "cpu_affinity": affinity,
        "memory_bytes": psutil.virtual_memory().total,
        "load_average": load,
    }


def load_results(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InvalidInputFile(f"results file {path} does not exist") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidInputFile(f"results file {path} is not JSON: {exc}") from None
    return check_results(data, str(path))


def check_results(data: object, source: str) -> dict[str, Any]:
    if not isinstance(data, dict) or data.get("format") != RESULTS_FORMAT:
        raise InvalidInputFile(
            f"{source} is not a pgtune_hx pgbench results file (format {RESULTS_FORMAT})"
        )
    runs = data.get("runs")
    if not isinstance(runs, list) or not all(isinstance(r, Mapping) for r in runs):
        raise InvalidInputFile(f"{source} has no list of runs")
    return data


def dump_results(data: Mapping[str, Any]) -> str:
    return redact(json.dumps(data, indent=2, default=str)) + "\n"


def save_results(data: Mapping[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(dump_results(data), encoding="utf-8")
