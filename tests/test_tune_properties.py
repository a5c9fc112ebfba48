"""Property tests of the baseline over hardware from 512MB containers to 2TB hosts.

For PostgreSQL 15 and 18 (the bundled pg_settings tables, generated from the
real servers): every value inside min_val..max_val and the accepted enum
values, the memory budget holds for the configuration that would be in force,
related settings stay consistent, and memory values grow with RAM.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pgtune_hx.errors import UsageError
from pgtune_hx.tune import memory, profiles
from pgtune_hx.tune.model import SettingChange, Storage, TuneInputs, Workload
from pgtune_hx.tune.recommend import Recommendation, recommend
from pgtune_hx.tune.sizes import GB, MB, TB
from pgtune_hx.tune.validate import BoundsTable, load_bundled, parse_setting

RAM = st.integers(min_value=512, max_value=2 * 1024 * 1024).map(lambda mb: mb * MB)
CPUS = st.integers(min_value=1, max_value=256)
MAJORS = st.sampled_from([15, 18])
WORKLOADS = st.sampled_from(list(Workload))
STORAGES = st.sampled_from(list(Storage))
DB_SIZES = st.none() | st.integers(min_value=1, max_value=64 * 1024).map(lambda gb: gb * GB)
# values that should never shrink when the same machine gets more RAM
MONOTONE = (
    "shared_buffers",
    "effective_cache_size",
    "work_mem",
    "maintenance_work_mem",
    "autovacuum_work_mem",
    "wal_buffers",
    "max_connections",
    "max_parallel_workers",
)
PROPERTY_SETTINGS = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


def numbers(rec: Recommendation) -> dict[str, float]:
    return {c.name: c.number for c in rec.settings if not isinstance(c.recommended_setting, str)}


def effective(rec: Recommendation, table: BoundsTable) -> dict[str, Any]:
    """The configuration in force after applying the changes to initdb's defaults."""
    values: dict[str, Any] = {}
    for name, bounds in table.settings.items():
        values[name] = parse_setting(bounds.default, bounds)
    for change in rec.settings:
        values[change.name] = (
            change.recommended_setting if change.change else change.current_setting
        )
    return values


def assert_in_bounds(change: SettingChange, table: BoundsTable) -> None:
    bounds = table.get(change.name)
    assert bounds is not None, change.name
    value = change.recommended_setting
    if bounds.vartype == "enum":
        assert bounds.enumvals is not None and value in bounds.enumvals, change
        return
    assert isinstance(value, int | float), change
    if bounds.vartype == "integer":
        assert isinstance(value, int), change
    assert bounds.min_val is None or value >= bounds.min_val, change
    assert bounds.max_val is None or value <= bounds.max_val, change


def effective_budget(values: dict[str, Any], inputs: TuneInputs) -> memory.Budget:
    profile = profiles.PROFILES[inputs.workload]
    maintenance = int(values["maintenance_work_mem"]) * 1024
    av = int(values["autovacuum_work_mem"])
    return memory.budget(
        ram=inputs.memory_bytes,
        shared_buffers=int(values["shared_buffers"]) * 8192,
        wal_buffers=int(values["wal_buffers"]) * 8192,
        max_connections=int(values["max_connections"]),
        work_mem=int(values["work_mem"]) * 1024,
        hash_mem_multiplier=float(values["hash_mem_multiplier"]),
        active_share=profile.active_share,
        nodes_per_query=profile.nodes_per_query,
        max_parallel_workers=int(values["max_parallel_workers"]),
        maintenance_work_mem=maintenance,
        autovacuum_max_workers=int(values["autovacuum_max_workers"]),
        autovacuum_work_mem=av * 1024 if av > 0 else maintenance,
    )


def inputs_for(
    ram: int,
    cpus: int,
    workload: Workload,
    storage: Storage,
    major: int,
    db_size: int | None = None,
    max_connections: int | None = None,
) -> TuneInputs:
    return TuneInputs(
        memory_bytes=ram,
        cpus=cpus,
        storage=storage,
        workload=workload,
        major=major,
        db_size_bytes=db_size,
        max_connections=max_connections,
    )


@PROPERTY_SETTINGS
@given(RAM, CPUS, WORKLOADS, STORAGES, MAJORS, DB_SIZES)
def test_values_in_bounds_and_budget_holds(
    ram: int, cpus: int, workload: Workload, storage: Storage, major: int, db_size: int | None
) -> None:
    inputs = inputs_for(ram, cpus, workload, storage, major, db_size)
    rec = recommend(inputs)
    table, _ = load_bundled(major)
    # only a build without lz4 and zstd (the embedded PG 18) skips anything
    assert all(s.startswith("wal_compression:") for s in rec.skipped), rec.skipped
    for change in rec.settings:
        assert_in_bounds(change, table)
        assert change.restart == (table.settings[change.name].context == "postmaster")
    assert rec.budget.holds, rec.budget.to_dict()
    values = effective(rec, table)
    in_force = effective_budget(values, inputs)
    assert in_force.holds, in_force.to_dict()
    assert in_force.total_bytes <= rec.budget.total_bytes
    # related settings stay consistent
    assert values["max_worker_processes"] >= 8
    assert values["max_parallel_workers"] <= values["max_worker_processes"]
    assert values["max_parallel_workers_per_gather"] <= max(values["max_parallel_workers"], 0)
    assert values["max_parallel_maintenance_workers"] <= values["max_parallel_workers"]
    assert values["min_wal_size"] <= values["max_wal_size"]
    if major >= 18:
        assert values["autovacuum_max_workers"] <= values["autovacuum_worker_slots"]
        assert values["io_combine_limit"] <= values["io_max_combine_limit"]
    else:
        assert not {"io_method", "io_workers", "autovacuum_worker_slots"} & {
            c.name for c in rec.settings
        }


@PROPERTY_SETTINGS
@given(RAM, RAM, CPUS, WORKLOADS, STORAGES, MAJORS)
def test_memory_values_grow_with_ram(
    ram_a: int, ram_b: int, cpus: int, workload: Workload, storage: Storage, major: int
) -> None:
    small, large = sorted((ram_a, ram_b))
    values = []
    for ram in (small, large):
        rec = recommend(inputs_for(ram, cpus, workload, storage, major))
        values.append(numbers(rec))
    for name in MONOTONE:
        assert values[0][name] <= values[1][name], (name, small, large)


@PROPERTY_SETTINGS
@given(RAM, CPUS, WORKLOADS, MAJORS, st.integers(min_value=1, max_value=20_000))
def test_explicit_connections_fit_or_are_refused(
    ram: int, cpus: int, workload: Workload, major: int, connections: int
) -> None:
    inputs = inputs_for(ram, cpus, workload, Storage.ssd, major, max_connections=connections)
    error: UsageError | None = None
    try:
        rec = recommend(inputs)
    except UsageError as exc:
        error = exc
    if error is not None:
        assert "does not fit" in str(error) or "too little" in str(error)
        return
    assert numbers(rec)["max_connections"] == connections
    assert rec.budget.holds


@pytest.mark.parametrize("major", [15, 18])
def test_two_terabyte_host_and_small_container_examples(major: int) -> None:
    big = recommend(inputs_for(2 * TB, 256, Workload.dw, Storage.nvme, major))
    small = recommend(inputs_for(512 * MB, 1, Workload.web, Storage.hdd, major))
    big_values = numbers(big)
    small_values = numbers(small)
    assert big_values["shared_buffers"] * 8192 == 512 * GB
    # 256 parallel workers share the budget with the 40 sessions: below the 2GB cap
    assert 512 * MB <= big_values["work_mem"] * 1024 < profiles.PROFILES[Workload.dw].work_mem_cap
    assert big_values["max_parallel_workers"] == 256
    assert small_values["shared_buffers"] * 8192 == 128 * MB
    assert small_values["max_parallel_workers"] == 0
    # 512MB cannot carry the web profile's 200 connections: lowered, and said so
    assert small_values["max_connections"] < 200
    assert any("max_connections lowered" in note for note in small.notes)
    assert small.budget.holds and big.budget.holds
