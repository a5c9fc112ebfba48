"""Baseline + evidence + validation = a recommendation.

``recommend`` is pure (no I/O): give it the inputs, optionally the live
server's state and the corrections its statistics produced, and it returns
every proposed setting checked against the target version, the memory budget
and what the evidence changed. ``tune_server`` is the live entry point.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pgtune_hx.tune import memory, profiles
from pgtune_hx.tune.evidence import Corrections
from pgtune_hx.tune.live import ServerState
from pgtune_hx.tune.memory import Budget, MemoryPlan
from pgtune_hx.tune.model import EvidenceItem, Proposal, SettingChange, Targets, TuneInputs
from pgtune_hx.tune.sizes import human_size
from pgtune_hx.tune.validate import BoundsTable, check, load_bundled


@dataclass
class Recommendation:
    inputs: TuneInputs
    target: str  # "offline (bundled table of PostgreSQL 18.1)" or the server version
    settings: list[SettingChange]
    skipped: list[str]
    budget: Budget
    current_budget: Budget | None
    evidence: list[EvidenceItem]
    notes: list[str]
    huge_pages: dict[str, Any]
    pgbouncer_ini: str | None = None
    spilling_statements: list[str] = field(default_factory=list)

    @property
    def changes(self) -> list[SettingChange]:
        return [s for s in self.settings if s.change]

    @property
    def restart_needed(self) -> list[str]:
        return [s.name for s in self.changes if s.restart]

    def to_dict(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "inputs": self.inputs.to_dict(),
            "settings": [s.to_dict() for s in self.settings],
            "changes": [s.name for s in self.changes],
            "restart_needed": self.restart_needed,
            "skipped": self.skipped,
            "budget": self.budget.to_dict(),
            "current_budget": self.current_budget.to_dict() if self.current_budget else None,
            "evidence": [e.to_dict() for e in self.evidence],
            "notes": self.notes,
            "huge_pages": self.huge_pages,
            "pgbouncer_ini": self.pgbouncer_ini,
            "spilling_statements": self.spilling_statements,
        }


def proposals(
    inputs: TuneInputs, targets: Targets | None = None
) -> tuple[list[Proposal], MemoryPlan]:
    """Every formula's value for ``inputs`` (settings newer than the version left out)."""
    targets = targets or Targets()
    plan = memory.plan(inputs, targets)
    ctx = profiles.Context(
        inputs=inputs,
        profile=profiles.PROFILES[inputs.workload],
        storage=profiles.STORAGE[inputs.storage],
        plan=plan,
        targets=targets,
    )
    result = []
    for formula in profiles.FORMULAS:
        if inputs.major < formula.min_major:
            continue
        value = formula.compute(ctx)
        result.append(
            Proposal(
                name=formula.name,
                value=value,
                kind=formula.kind,
                formula=formula.formula,
                reason=formula.formula,
            )
        )
    return result, plan


def _mark_evidence(
    base: list[Proposal], corrected: list[Proposal], items: list[EvidenceItem]
) -> list[Proposal]:
    """Proposals the evidence moved say so, with what was seen."""
    before = {p.name: p.value for p in base}
    out = []
    for proposal in corrected:
        if before.get(proposal.name) == proposal.value:
            out.append(proposal)
            continue
        seen = [i for i in items if proposal.name in i.settings]
        why = f"{seen[0].effect}; seen: {seen[0].observed}" if seen else "live statistics"
        out.append(
            Proposal(
                name=proposal.name,
                value=proposal.value,
                kind=proposal.kind,
                formula=proposal.formula,
                reason=f"evidence: {why}",
                evidence=why,
            )
        )
    return out


def _huge_pages(inputs: TuneInputs, plan: MemoryPlan, server: ServerState | None) -> dict[str, Any]:
    page = inputs.huge_page_size_bytes or 2 * 1024 * 1024
    calibration = 0
    info: dict[str, Any] = {"huge_page_size_bytes": page}
    if server is not None:
        shared_now = server.setting_int("shared_memory_size", 0) * 1024 * 1024
        if shared_now:
            estimate_now = memory.shared_memory_estimate(
                server.setting_int("shared_buffers") * 8192,
                max(0, server.setting_int("wal_buffers")) * 8192,
                server.setting_int("max_connections", 100),
            )
            calibration = shared_now - estimate_now
            info["current_shared_memory_bytes"] = shared_now
            info["current_shared_memory_size_in_huge_pages"] = server.setting_int(
                "shared_memory_size_in_huge_pages", -1
            )
    needed = plan.huge_pages_needed(page, calibration)
    info["recommended_shared_memory_bytes"] = plan.shared_memory(calibration)
    info["vm_nr_hugepages"] = needed
    info["configured_huge_pages"] = inputs.huge_pages_total
    info["sysctl"] = f"vm.nr_hugepages = {needed}"
    info["source"] = (
        "the server's shared_memory_size, scaled to the recommendation"
        if calibration
        else "the memory model's shared memory estimate"
    )
    return info


def current_budget(inputs: TuneInputs, server: ServerState) -> Budget:
    """What the settings in force allow under the same model (worst case)."""
    s = server.setting_int
    profile = profiles.PROFILES[inputs.workload]
    maintenance = s("maintenance_work_mem", 65536) * 1024
    av_mem = s("autovacuum_work_mem", -1)
    return memory.budget(
        ram=inputs.memory_bytes,
        shared_buffers=s("shared_buffers") * 8192,
        wal_buffers=max(0, s("wal_buffers")) * 8192,
        max_connections=s("max_connections", 100),
        work_mem=s("work_mem", 4096) * 1024,
        hash_mem_multiplier=float(server.settings.get("hash_mem_multiplier", "2")),
        active_share=profile.active_share,
        nodes_per_query=profile.nodes_per_query,
        max_parallel_workers=s("max_parallel_workers", 8),
        maintenance_work_mem=maintenance,
        autovacuum_max_workers=s("autovacuum_max_workers", 3),
        autovacuum_work_mem=av_mem * 1024 if av_mem > 0 else maintenance,
    )


def recommend(
    inputs: TuneInputs,
    *,
    server: ServerState | None = None,
    corrections: Corrections | None = None,
    notes: list[str] | None = None,
) -> Recommendation:
    notes = list(notes or [])
    table: BoundsTable
    if server is not None:
        table = server.bounds
        current = dict(server.settings)
        target = f"PostgreSQL {server.version} (live pg_settings)"
    else:
        table, note = load_bundled(inputs.major)
        if note:
            notes.append(note)
        current = table.defaults()
        target = f"offline: initdb defaults and bounds of the {table.source}"
    # a live server's max_connections is the starting point, not evidence
    base_targets = Targets()
    if server is not None:
        base_targets = Targets(max_connections=server.setting_int("max_connections", 100))
    base, base_plan = proposals(inputs, base_targets)
    items: list[EvidenceItem] = []
    plan = base_plan
    chosen = base
    if corrections is not None:
        corrected, plan = proposals(inputs, corrections.targets)
        items = corrections.items
        chosen = _mark_evidence(base, corrected, items)
        if corrections.targets.work_mem_min and corrections.targets.work_mem_min > plan.work_mem:
            notes.append(
                f"work_mem {human_size(plan.work_mem)} is all the budget allows; statements "
                f"needing {human_size(corrections.targets.work_mem_min)} should get it per "
                "session or role (SET work_mem / ALTER ROLE ... SET work_mem)"
            )
    notes.extend(plan.notes)
    settings: list[SettingChange] = []
    skipped: list[str] = []
    for proposal in chosen:
        result = check(proposal, table, current)
        if isinstance(result, str):
            skipped.append(result)
        else:
            settings.append(result)
    budget = plan.budget()
    return Recommendation(
        inputs=inputs,
        target=target,
        settings=settings,
        skipped=skipped,
        budget=budget,
        current_budget=current_budget(inputs, server) if server is not None else None,
        evidence=items,
        notes=notes,
        huge_pages=_huge_pages(inputs, plan, server),
        pgbouncer_ini=corrections.pgbouncer_ini if corrections else None,
        spilling_statements=corrections.per_statement if corrections else [],
    )
