"""What a report is made from: snapshots and what the headless layers made of them.

Findings, index suggestions and the tuning recommendation arrive as the plain
dictionaries their producers' ``to_dict()`` give (the documented JSON shapes), so
the report depends on those documented fields only. ``None`` means the producer
did not run (and ``missing`` says why); an empty list means it ran and found
nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pgtune_hx.collect.model import Snapshot


@dataclass
class ReportInputs:
    snapshot: Snapshot
    since: Snapshot | None = None
    findings: list[dict[str, Any]] | None = None
    suggestions: list[dict[str, Any]] | None = None
    # normalized statement text or queryid -> plan findings of that statement
    plan_findings: dict[str, list[dict[str, Any]]] | None = None
    tuning: dict[str, Any] | None = None
    advice_notes: list[str] = field(default_factory=list)
    demo: dict[str, Any] | None = None
    # producers that did not run, and why ("index advisor": "HypoPG missing ...")
    missing: dict[str, str] = field(default_factory=dict)
    title: str | None = None
    sources: list[str] = field(default_factory=list)
    anonymized: bool = False
    # pg_stat_statements covers the whole cluster; by default the report shows
    # the statements of the database the snapshot was taken in
    all_databases: bool = False
