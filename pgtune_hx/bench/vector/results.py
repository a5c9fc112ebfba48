"""What a run records, so it can be reproduced and compared: the versions
(PostgreSQL, pgvector, Python libraries), the server settings that shape the
numbers, the host, the seed, and every measured point. Written as JSON, plus
one CSV row per sweep point."""

from __future__ import annotations

import json
import os
import platform
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import psutil
import psycopg

from pgtune_hx import __version__
from pgtune_hx.db import Connection, redact, translated

SCHEMA_VERSION = 1
SETTINGS = (
    "shared_buffers",
    "work_mem",
    "maintenance_work_mem",
    "effective_cache_size",
    "max_parallel_maintenance_workers",
    "max_parallel_workers",
    "max_parallel_workers_per_gather",
    "max_worker_processes",
    "jit",
    "random_page_cost",
    "hnsw.ef_search",
    "hnsw.iterative_scan",
    "hnsw.max_scan_tuples",
    "ivfflat.probes",
    "ivfflat.iterative_scan",
    "ivfflat.max_probes",
)


def environment(conn: Connection) -> dict[str, Any]:
    with translated("reading server versions and settings"):
        row = conn.execute(
            "SELECT current_setting('server_version') AS server_version,"
            " current_setting('server_version_num')::int AS server_version_num,"
            " (SELECT extversion FROM pg_extension WHERE extname = 'vector') AS pgvector"
        ).fetchone()
        settings = {
            name: conn.execute("SELECT current_setting(%s, true) AS v", [name]).fetchone()["v"]  # type: ignore[index]
            for name in SETTINGS
        }
    assert row is not None
    memory = psutil.virtual_memory().total
    return {
        "postgresql": row["server_version"],
        "server_version_num": row["server_version_num"],
        "pgvector": row["pgvector"],
        "settings": settings,
        "host": {
            "name": platform.node(),
            "platform": platform.platform(),
            "cpus_logical": psutil.cpu_count(logical=True),
            "cpus_physical": psutil.cpu_count(logical=False),
            "load_average": list(os.getloadavg()),
            "memory_bytes": memory,
        },
        "software": {
            "pgtune_hx": __version__,
            "python": platform.python_version(),
            "numpy": np.__version__,
            "psycopg": psycopg.__version__,
        },
    }


def point_rows(payload: dict[str, Any]) -> list[dict[str, Any]]:
    """One flat row per measured pass, for the CSV: phase is adaptive,
    exhaustive, runoff, curve or holdout."""
    rows = []
    for method, search in (payload.get("searches") or {}).items():
        for ev in search["evaluations"]:
            for point in ev["points"]:
                rows.append(flat(point, method, ev["rows"]))
            for point in ev.get("curve") or []:
                rows.append(flat(point, "curve", ev["rows"]))
            if ev.get("holdout"):
                rows.append(flat(ev["holdout"], "holdout", ev["rows"]))
    return rows


def flat(point: dict[str, Any], phase: str, rows: int) -> dict[str, Any]:
    recall = point.get("recall") or {}
    by_distance = point.get("recall_by_distance") or {}
    return {
        "phase": phase,
        "rows": rows,
        "index": point["index"],
        **{key: point["config"].get(key) for key in ("kind", "m", "ef_construction", "lists")},
        "param": point["param"],
        "value": point["value"],
        "query_set": point["query_set"],
        "queries": point["queries"],
        "valid": point["valid"],
        "flags": "; ".join(point["flags"]),
        "recall": recall.get("mean"),
        "recall_low": recall.get("low"),
        "recall_high": recall.get("high"),
        "recall_by_distance": by_distance.get("mean"),
        "observed_recall": point["observed_recall"],
        "qps": point["qps"],
        **point["latency"],
        "client_round_trip_ms": point["client_round_trip_ms"],
        "server_cpu_ms_per_query": point.get("server_cpu_ms_per_query"),
        "index_blocks_per_query": point.get("index_blocks_per_query"),
    }


def acceptance(payload: dict[str, Any]) -> dict[str, Any]:
    """The issue's acceptance, from a ``--search both`` run: the adaptive
    choice's QPS within 10% of the exhaustive best (head to head, median of
    paired rounds), in at most a third of the exhaustive search's time, and
    its recall on the held-out queries at or above the target."""
    comparison = payload.get("comparison") or {}
    rec = payload.get("recommendation") or {}
    holdout = (rec.get("holdout") or {}).get("recall") or {}
    target = payload["options"]["target_recall"]
    qps_ratio = comparison.get("qps_ratio")
    cost_ratio = comparison.get("cost_ratio")
    time_ratio = comparison.get("time_ratio")
    mean = holdout.get("mean")
    return {
        "qps_ratio": qps_ratio,
        "qps_within_10_percent": qps_ratio is not None and qps_ratio >= 0.9,
        "cost_ratio": cost_ratio,
        "cost_within_10_percent": cost_ratio is not None and cost_ratio >= 0.9,
        "time_ratio": time_ratio,
        "time_at_most_one_third": time_ratio is not None and time_ratio <= 1 / 3,
        "holdout_recall": mean,
        "holdout_recall_low": holdout.get("low"),
        "holdout_reaches_target": mean is not None and mean >= target,
    }


def write_json(path: Path, payload: dict[str, Any]) -> None:
    text = json.dumps(payload, indent=2, default=str)
    path.write_text(redact(text) + "\n")


def write_csv(path: Path, rows: list[dict[str, Any]]) -> None:
    pd.DataFrame(rows).to_csv(path, index=False)
