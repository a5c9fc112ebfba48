"""A/B runs on a server of their own: ABAB order, settings in force, always restored."""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import psycopg
import pytest
from psycopg.rows import dict_row

from pgtune_hx.bench.pgbench.compare import PlannedRun
from pgtune_hx.bench.pgbench.parse import ProgressLine
from pgtune_hx.bench.pgbench.scripts import builtin_spec
from pgtune_hx.bench.pgbench.session import BenchOptions, run_benchmark
from pgtune_hx.bench.pgbench.settings import load_settings
from pgtune_hx.bench.target import BenchTarget
from pgtune_hx.embedded import EmbeddedServer
from pgtune_hx.errors import InvalidInputFile, ServerError
from tests.helpers.bench import Recorder

WATCHED = ("work_mem", "shared_buffers", "random_page_cost", "search_path")


@pytest.fixture(scope="module")
def ab_server() -> Iterator[EmbeddedServer]:
    """Restarts and ALTER SYSTEM stay away from the session's shared servers."""
    base = Path(tempfile.mkdtemp(prefix="pgtune_hx-test-ab-"))
    base.chmod(0o755)
    server = EmbeddedServer(base)
    server.start()
    try:
        yield server
    finally:
        server.stop(mode="immediate")
        shutil.rmtree(base, ignore_errors=True)


def live(server: EmbeddedServer) -> dict[str, Any]:
    with psycopg.connect(server.dsn(), autocommit=True, row_factory=dict_row) as conn:
        row = conn.execute(
            "select current_setting('work_mem') as work_mem,"
            " current_setting('shared_buffers') as shared_buffers,"
            " current_setting('random_page_cost') as random_page_cost,"
            " current_setting('search_path') as search_path,"
            " pg_postmaster_start_time() as started"
        ).fetchone()
    assert row is not None
    return row


def auto_conf(server: EmbeddedServer) -> dict[str, str]:
    with psycopg.connect(server.dsn(), autocommit=True, row_factory=dict_row) as conn:
        rows = conn.execute(
            "select name, setting from pg_file_settings"
            " where sourcefile like '%postgresql.auto.conf' order by seqno"
        ).fetchall()
    return {r["name"]: r["setting"] for r in rows}


def alter_system(server: EmbeddedServer, statement: str) -> None:
    with psycopg.connect(server.dsn(), autocommit=True) as conn:
        conn.execute(statement.encode())
        conn.execute("select pg_reload_conf()")


def pgbench_processes() -> list[psutil.Process]:
    """pgbench processes started by this test process (other jobs may run their own)."""
    children = psutil.Process().children(recursive=True)
    return [p for p in children if p.is_running() and p.name() == "pgbench"]


@pytest.fixture
def configs(tmp_path: Path) -> tuple[Path, Path]:
    a = tmp_path / "a.conf"
    a.write_text("# A: only work_mem\nwork_mem = 6MB\n")
    b = tmp_path / "b.json"
    b.write_text(
        json.dumps(
            {
                "settings": [
                    {"name": "shared_buffers", "recommended": "32MB"},
                    {"name": "work_mem", "recommended": "8MB"},
                    {"name": "random_page_cost", "recommended": 1.5},
                    {"name": "search_path", "recommended": "public, pg_catalog"},
                ]
            }
        )
    )
    return a, b


def test_abab_applies_each_config_and_restores_exactly(
    ab_server: EmbeddedServer, configs: tuple[Path, Path]
) -> None:
    alter_system(ab_server, "alter system set random_page_cost = 3")
    before = live(ab_server)
    seen: list[tuple[str, dict[str, Any]]] = []
    recorder = Recorder(on_start=lambda planned: seen.append((planned.config, live(ab_server))))
    options = BenchOptions(
        scripts=(builtin_spec("select-only"),),
        clients=(1,),
        duration_s=1,
        runs=2,
        database="ab",
        configs=(load_settings(str(configs[0])), load_settings(str(configs[1]))),
    )
    try:
        results = run_benchmark(BenchTarget(ab_server.dsn(), ab_server), options, recorder)
        after = live(ab_server)
        conf_after = auto_conf(ab_server)
    finally:
        alter_system(ab_server, "alter system reset random_page_cost")

    assert [p.config for p in recorder.started] == ["A", "B", "A", "B"]
    assert [(r["config"], r["repeat"]) for r in results["runs"]] == [
        ("A", 0),
        ("B", 0),
        ("A", 1),
        ("B", 1),
    ]
    for config, settings in seen:
        if config == "A":
            assert settings["work_mem"] == "6MB"
            assert settings["shared_buffers"] == before["shared_buffers"]
            assert settings["random_page_cost"] == "3"  # untouched by A: the prior value
            assert settings["search_path"] == before["search_path"]
        else:
            assert settings["work_mem"] == "8MB"
            assert settings["shared_buffers"] == "32MB"  # postmaster setting: restarted
            assert settings["random_page_cost"] == "1.5"
            assert settings["search_path"] == "public, pg_catalog"
    start_times = [s["started"] for _, s in seen]
    assert len(set(start_times)) == 4, "a restart before every run"
    assert (
        results["runs"][1]["postmaster_start_time"] != results["runs"][0]["postmaster_start_time"]
    )

    # restored: the prior ALTER SYSTEM value is back, nothing else is left behind
    assert conf_after == {"random_page_cost": "3"}
    assert after["work_mem"] == before["work_mem"]
    assert after["shared_buffers"] == before["shared_buffers"]
    assert after["search_path"] == before["search_path"]
    assert after["started"] > start_times[-1], "restarted after restoring"

    by_label = {c["label"]: c for c in results["configs"]}
    assert by_label["B"]["settings_in_force"]["shared_buffers"]["setting"] == "4096"
    assert by_label["B"]["settings"]["random_page_cost"] == "1.5"
    [row] = results["comparison"]
    tps = row["metrics"]["tps"]
    runs = results["runs"]
    expected = [runs[1]["pgbench"]["tps"] / runs[0]["pgbench"]["tps"]]
    expected.append(runs[3]["pgbench"]["tps"] / runs[2]["pgbench"]["tps"])
    assert tps["ratios"] == pytest.approx(expected, abs=1e-4)
    assert tps["verdict"].startswith("too few pairs (2)")


def test_ctrl_c_in_a_run_stops_pgbench_and_restores(
    ab_server: EmbeddedServer, configs: tuple[Path, Path]
) -> None:
    before = live(ab_server)

    def interrupt(line: ProgressLine) -> None:
        raise KeyboardInterrupt

    starts: list[PlannedRun] = []
    recorder = Recorder(on_start=starts.append)
    recorder.on_progress = lambda line: interrupt(line) if starts[-1].config == "B" else None
    options = BenchOptions(
        scripts=(builtin_spec("select-only"),),
        clients=(1,),
        duration_s=3,
        runs=1,
        database="ab",
        configs=(load_settings("default"), load_settings(str(configs[1]))),
    )
    with pytest.raises(KeyboardInterrupt):
        run_benchmark(BenchTarget(ab_server.dsn(), ab_server), options, recorder)
    assert [p.config for p in starts] == ["A", "B"]
    assert pgbench_processes() == []
    after = live(ab_server)
    assert auto_conf(ab_server) == {}
    assert (after["work_mem"], after["shared_buffers"], after["search_path"]) == (
        before["work_mem"],
        before["shared_buffers"],
        before["search_path"],
    )


def test_config_that_keeps_the_server_down_is_undone(
    ab_server: EmbeddedServer, tmp_path: Path
) -> None:
    broken = tmp_path / "broken.conf"
    # valid value, but the server refuses to start with it while max_wal_senders > 0
    broken.write_text("wal_level = minimal\n")
    recorder = Recorder()
    options = BenchOptions(
        scripts=(builtin_spec("select-only"),),
        clients=(1,),
        duration_s=1,
        runs=1,
        database="ab",
        configs=(load_settings("default"), load_settings(str(broken))),
    )
    with pytest.raises(ServerError, match="pg_ctl failed"):
        run_benchmark(BenchTarget(ab_server.dsn(), ab_server), options, recorder)
    assert [p.config for p in recorder.started] == ["A"]
    assert ab_server.status().running
    assert "wal_level" not in auto_conf(ab_server)
    with psycopg.connect(ab_server.dsn()) as conn:
        row = conn.execute("select current_setting('wal_level')").fetchone()
    assert row == ("replica",)


def test_invalid_settings_stop_everything_before_the_first_run(
    ab_server: EmbeddedServer, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.conf"
    bad.write_text("work_mem = lots\nshared_bufers = 1GB\n")
    started = live(ab_server)["started"]
    recorder = Recorder()
    options = BenchOptions(
        scripts=(builtin_spec("tpcb"),),
        database="never_created",
        configs=(load_settings("default"), load_settings(str(bad))),
    )
    with pytest.raises(InvalidInputFile, match=r"work_mem = 'lots'.*shared_bufers"):
        run_benchmark(BenchTarget(ab_server.dsn(), ab_server), options, recorder)
    assert recorder.started == []
    assert recorder.messages == []
    assert live(ab_server)["started"] == started, "no restart"
    with psycopg.connect(ab_server.dsn()) as conn:
        exists = conn.execute("select 1 from pg_database where datname = 'never_created'")
        assert exists.fetchone() is None
