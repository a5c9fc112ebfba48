"""What every benchmarks/bench_*.py script shares: where results go, how they look.

Convention (see README.md): a script named bench_<name>.py writes
results/<name>.json, a JSON object with at least

    "name":    "<name>",
    "created_at": ISO 8601 UTC,
    "summary": {"<headline>": number or string, ...},   # what run_all.py shows
    "target":  {"<summary key>": {"max": number} | {"min": number}, ...} or null,

plus whatever detail the script wants to keep. run_all.py sets
PGTUNE_HX_BENCH_RESULTS to the results directory it reads; scripts honour it
through results_dir(). A --quick run writes to results/tmp/quick/ unless that
variable says otherwise, so it never replaces a committed result.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
RESULTS_ENV = "PGTUNE_HX_BENCH_RESULTS"


def results_dir() -> Path:
    return Path(os.environ.get(RESULTS_ENV) or HERE / "results")


QUICK_DIR = HERE / "results" / "tmp" / "quick"


def quick_results() -> None:
    """Send a --quick run's results to results/tmp/quick/ (not committed)."""
    os.environ.setdefault(RESULTS_ENV, str(QUICK_DIR))


def arguments(description: str) -> argparse.Namespace:
    """Every script accepts --quick (a short run: CI, smoke checks)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true", help="short run (smoke check)")
    args = parser.parse_args()
    if args.quick:
        quick_results()
    return args


def write_result(
    name: str,
    summary: Mapping[str, Any],
    *,
    target: Mapping[str, Mapping[str, float]] | None = None,
    **detail: Any,
) -> Path:
    """results/<name>.json with the conventional top-level fields."""
    path = results_dir() / f"{name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {
        "name": name,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "summary": dict(summary),
        "target": dict(target) if target is not None else None,
        **detail,
    }
    path.write_text(json.dumps(document, indent=2, default=str) + "\n", encoding="utf-8")
    return path


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo ("unknown" elsewhere)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"


def machine(load_before: tuple[float, float, float], **extra: Any) -> dict[str, Any]:
    """What a timing depends on: CPU count and model, Python, load around the run.

    Absolute times differ by about 2x between the 2-core machines this project
    runs on, so every timed result says which one it came from."""
    return {
        "cpus": os.cpu_count(),
        "cpu_model": cpu_model(),
        "python": platform.python_version(),
        "load_average_before": [round(v, 2) for v in load_before],
        "load_average_after": [round(v, 2) for v in os.getloadavg()],
        **extra,
    }
