"""Validation: the bundled tables match the real servers, units, bounds, 10% rule."""

from __future__ import annotations

import psycopg
import pytest
from psycopg.rows import dict_row

from pgtune_hx.errors import UsageError
from pgtune_hx.tune import profiles
from pgtune_hx.tune.model import Proposal, SettingChange
from pgtune_hx.tune.sizes import GB, MB
from pgtune_hx.tune.validate import check, from_pg_settings, load_bundled
from tests.helpers.servers import PgTarget


def test_bundled_table_matches_the_live_server(pg: PgTarget) -> None:
    """Drift between package JSON and the real pg_settings fails here."""
    with psycopg.connect(pg.admin_dsn, row_factory=dict_row) as conn:
        rows = conn.execute("select * from pg_settings").fetchall()
    live = from_pg_settings([dict(r) for r in rows], pg.major, "")
    bundled, note = load_bundled(pg.major)
    assert note is None
    for formula in profiles.FORMULAS:
        if pg.major < formula.min_major:
            assert bundled.get(formula.name) is None, formula.name
            continue
        ours, theirs = bundled.get(formula.name), live.get(formula.name)
        assert ours is not None and theirs is not None, formula.name
        assert (ours.vartype, ours.unit, ours.context) == (
            theirs.vartype,
            theirs.unit,
            theirs.context,
        ), formula.name
        assert (ours.min_val, ours.max_val, ours.enumvals) == (
            theirs.min_val,
            theirs.max_val,
            theirs.enumvals,
        ), formula.name


def _proposal(name: str, value: int | float | str, kind: str) -> Proposal:
    return Proposal(name, value, kind, "test formula", "test reason")  # type: ignore[arg-type]


def test_units_restart_and_ten_percent_rule() -> None:
    table, _ = load_bundled(18)
    defaults = table.defaults()
    shared = check(_proposal("shared_buffers", 16 * GB, "bytes"), table, defaults)
    assert isinstance(shared, SettingChange)
    assert shared.recommended == "16GB" and shared.recommended_setting == 16 * GB // 8192
    assert shared.unit == "8kB" and shared.restart and shared.change
    assert shared.current == "128MB"
    timeout = check(_proposal("checkpoint_timeout", 15 * 60_000, "ms"), table, defaults)
    assert isinstance(timeout, SettingChange)
    assert (timeout.recommended, timeout.recommended_setting, timeout.restart) == (
        "15min",
        900,
        False,
    )
    # 4MB current vs 4.3MB recommended: within 10%, nothing to change
    near = check(_proposal("work_mem", int(4.3 * MB), "bytes"), table, defaults)
    assert isinstance(near, SettingChange) and not near.change
    # budgeted settings: a current value above the recommendation is never kept
    lower = check(_proposal("work_mem", int(3.8 * MB), "bytes"), table, defaults)
    assert isinstance(lower, SettingChange) and lower.change
    # not budgeted: within 10% either way is kept
    cost = check(_proposal("random_page_cost", 3.7, "real"), table, defaults)
    assert isinstance(cost, SettingChange) and not cost.change


def test_bounds_clamp_and_missing_settings() -> None:
    table18, _ = load_bundled(18)
    table15, _ = load_bundled(15)
    high = check(_proposal("effective_io_concurrency", 5000, "int"), table18, table18.defaults())
    assert isinstance(high, SettingChange)
    assert high.recommended_setting == 1000 and high.note and "maximum" in high.note
    absent = check(_proposal("io_workers", 8, "int"), table15, table15.defaults())
    assert absent == "io_workers does not exist in PostgreSQL 15"


def test_enum_falls_back_to_what_the_build_has() -> None:
    table18, _ = load_bundled(18)
    table15, _ = load_bundled(15)
    wanted = _proposal("wal_compression", "lz4", "enum")
    on18 = check(wanted, table18, table18.defaults())
    on15 = check(wanted, table15, table15.defaults())
    enum18 = table18.settings["wal_compression"].enumvals or ()
    if "lz4" in enum18:
        assert isinstance(on18, SettingChange) and on18.recommended == "lz4"
    else:  # the embedded build: no lz4, no zstd, and pglz is never proposed
        assert isinstance(on18, str) and "neither lz4 nor zstd" in on18
    assert isinstance(on15, SettingChange)  # Debian's build has lz4
    assert on15.recommended == "lz4"
    bogus = check(_proposal("huge_pages", "sometimes", "enum"), table18, table18.defaults())
    assert isinstance(bogus, str) and "not accepted" in bogus


def test_minus_one_fallbacks_compare_effective_values() -> None:
    table, _ = load_bundled(18)
    current = table.defaults()
    # autovacuum_work_mem -1 means maintenance_work_mem (64MB): 64MB is no change
    same = check(_proposal("autovacuum_work_mem", 64 * MB, "bytes"), table, current)
    assert isinstance(same, SettingChange) and not same.change
    assert same.current is not None and "maintenance_work_mem" in same.current


@pytest.mark.parametrize(("major", "stand_in"), [(16, 15), (17, 15)])
def test_versions_without_a_table_use_the_one_below(major: int, stand_in: int) -> None:
    table, note = load_bundled(major)
    assert note is not None and f"PostgreSQL {stand_in} are used" in note
    assert table.major == major


def test_unsupported_versions_are_refused() -> None:
    with pytest.raises(UsageError, match="not supported"):
        load_bundled(14)
