"""The Findings screen's work, headless: a full snapshot, then the analyzer."""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from typing import Any

from pgtune_hx.collect.model import Snapshot
from pgtune_hx.db import connect
from pgtune_hx.errors import PgtuneError
from pgtune_hx.tui.live import (
    LiveConfig,
)


@dataclass(frozen=True)
class Analysis:
    findings: tuple[Any, ...]
    error: str | None
    captured_at: str | None


def analyzer_available() -> bool:
    return importlib.util.find_spec("pgtune_hx.analyze.engine") is not None


def full_snapshot(live: LiveConfig) -> Snapshot:
    """A complete snapshot (every collector), on a session of its own."""
    from pgtune_hx.collect.snapshot import collect_snapshot

    with connect(live.dsn, live.guard) as conn:
        return collect_snapshot(conn)


def run_analysis(
    *,
    live: LiveConfig | None,
    snapshot: Snapshot | None,
    since: Snapshot | None = None,
) -> Analysis:
    """Findings for a replayed snapshot, or for a fresh snapshot of the live server."""
    if not analyzer_available():
        return Analysis((), "the analyzer (pgtune_hx.analyze) is not part of this build", None)
    from pgtune_hx.analyze.engine import analyze

    try:
        if snapshot is None:
            if live is None:
                return Analysis((), "nothing to analyze", None)
            snapshot = full_snapshot(live)
        findings = analyze(snapshot, since=since)
    except PgtuneError as exc:
        return Analysis((), f"analysis failed: {exc}", None)
    return Analysis(tuple(findings), None, snapshot.captured_at)
