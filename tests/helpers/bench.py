"""Helpers for pgbench benchmark tests: a recording observer, targets, options."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pgtune_hx.bench.pgbench.compare import PlannedRun
from pgtune_hx.bench.pgbench.parse import ProgressLine
from pgtune_hx.bench.target import BenchTarget
from tests.helpers.servers import PgTarget


@dataclass
class Recorder:
    """Observer that remembers everything; ``on_start`` runs at each run's start."""

    on_start: Callable[[PlannedRun], None] | None = None
    on_progress: Callable[[ProgressLine], None] | None = None
    messages: list[str] = field(default_factory=list)
    started: list[PlannedRun] = field(default_factory=list)
    progress_lines: list[ProgressLine] = field(default_factory=list)
    finished: list[Mapping[str, Any]] = field(default_factory=list)

    def message(self, text: str) -> None:
        self.messages.append(text)

    def run_started(self, planned: PlannedRun, total: int, duration_s: int) -> None:
        self.started.append(planned)
        if self.on_start is not None:
            self.on_start(planned)

    def progress(self, line: ProgressLine) -> None:
        self.progress_lines.append(line)
        if self.on_progress is not None:
            self.on_progress(line)

    def run_finished(self, planned: PlannedRun, run: Mapping[str, Any]) -> None:
        self.finished.append(run)


def target_of(pg: PgTarget) -> BenchTarget:
    """The embedded test server as a benchmark target (its admin DSN, its binaries)."""
    return BenchTarget(pg.admin_dsn, pg.server)
