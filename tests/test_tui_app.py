"""The monitor app driven with Textual's Pilot against real servers."""

from __future__ import annotations

import asyncio
import functools
import os
import shutil
import signal
import tempfile
import time
import uuid
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any, ParamSpec

import psycopg
import pytest
from textual.pilot import Pilot
from textual.widgets import Static

from pgtune_hx.db import Guard
from pgtune_hx.embedded import EmbeddedServer
from pgtune_hx.tui.app import MonitorApp
from pgtune_hx.tui.link import Backoff, LinkState
from pgtune_hx.tui.live import LiveConfig
from pgtune_hx.tui.replay import Replay
from pgtune_hx.tui.screens.base import StatusBar
from pgtune_hx.tui.screens.confirm import ConfirmSignal
from pgtune_hx.tui.screens.help import HelpScreen
from pgtune_hx.tui.screens.main import ActivityScreen, FindingsScreen, LocksScreen, OverviewScreen
from pgtune_hx.tui.screens.session import SessionScreen
from pgtune_hx.tui.screens.statement import StatementScreen
from pgtune_hx.tui.widgets import RowTable
from tests.helpers.cli import invoke
from tests.helpers.locks import BlockedStatement, LockHolder
from tests.helpers.roles import monitor_only_role
from tests.helpers.servers import TestDatabase

SIZE = (160, 45)
FIXTURES = Path(__file__).parent / "fixtures" / "tui" / "replay"


P = ParamSpec("P")


def sync(test: Callable[P, Coroutine[Any, Any, None]]) -> Callable[P, None]:
    """Run an async Pilot test on its own event loop (no asyncio plugin needed)."""

    @functools.wraps(test)
    def run(*args: P.args, **kwargs: P.kwargs) -> None:
        asyncio.run(test(*args, **kwargs))

    return run


def live_app(dsn: str, start: str = "activity", backoff: Backoff | None = None) -> MonitorApp:
    return MonitorApp(live=LiveConfig(dsn, Guard()), refresh_s=0.3, start=start, backoff=backoff)


async def wait_for(
    pilot: Pilot[None], condition: Callable[[], object], timeout: float = 15.0
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        await pilot.pause(0.05)
    raise AssertionError(f"condition not met within {timeout}s")


def status_text(app: MonitorApp) -> str:
    return str(app.screen.query_one(StatusBar).content)


def table_keys(app: MonitorApp) -> list[str]:
    return app.screen.query_one(RowTable).row_keys()


def _table(db: TestDatabase) -> None:
    db.execute("create table t (id int primary key, v int)")
    db.execute("insert into t select g, g from generate_series(1, 100) g")


@sync
async def test_lock_tree_root_and_cancel_after_confirmation(db: TestDatabase) -> None:
    _table(db)
    # the root runs a statement while it holds its lock: cancelling it frees the waiter
    with BlockedStatement(db.dsn, "select pg_sleep(60) from t limit 1", "busy-root") as root:
        await_active(db.dsn, root.pid)
        with BlockedStatement(db.dsn, "alter table t add column w int", "migration") as waiter:
            waiter.wait_until_blocked()
            app = live_app(db.dsn, start="locks")
            async with app.run_test(size=SIZE) as pilot:
                await wait_for(
                    pilot, lambda: table_keys(app)[:2] == [str(root.pid), str(waiter.pid)]
                )
                assert isinstance(app.screen, LocksScreen)
                assert app.view is not None
                assert app.view.lock_forest[0].pid == root.pid
                assert app.view.lock_forest[0].waiting_behind == 1
                await pilot.press("c")
                await wait_for(pilot, lambda: isinstance(app.screen, ConfirmSignal))
                prompt = str(app.screen.query_one("#confirm-text", Static).content)
                assert f"pid {root.pid}" in prompt and "pg_sleep(60)" in prompt
                await pilot.press("y")
                assert root.done.wait(10)
                await wait_for(pilot, lambda: waiter.done.is_set())
                await wait_for(pilot, lambda: str(root.pid) not in table_keys(app))
    assert isinstance(root.error, psycopg.errors.QueryCanceled)
    assert waiter.error is None


def await_active(dsn: str, pid: int) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            row = conn.execute(
                "select state from pg_stat_activity where pid = %s", [pid]
            ).fetchone()
            if row and row[0] == "active":
                return
            time.sleep(0.02)
    raise AssertionError(f"backend {pid} never became active")


@sync
async def test_terminate_asks_first_and_ends_the_blocker(db18: TestDatabase) -> None:
    db = db18
    _table(db)
    with LockHolder(db.dsn, "lock table t in share mode", application_name="holder") as holder:
        with BlockedStatement(db.dsn, "update t set v = 0 where id = 1") as waiter:
            waiter.wait_until_blocked()
            app = live_app(db.dsn, start="locks")
            async with app.run_test(size=SIZE) as pilot:
                await wait_for(pilot, lambda: table_keys(app)[:1] == [str(holder.pid)])
                await pilot.press("k")
                await wait_for(pilot, lambda: isinstance(app.screen, ConfirmSignal))
                await pilot.press("n")  # changed my mind: nothing happens
                await wait_for(pilot, lambda: isinstance(app.screen, LocksScreen))
                await pilot.pause(0.5)
                assert not waiter.done.is_set()
                await pilot.press("f9")
                await wait_for(pilot, lambda: isinstance(app.screen, ConfirmSignal))
                await pilot.press("y")
                await wait_for(pilot, lambda: waiter.done.is_set())
                await wait_for(pilot, lambda: str(holder.pid) not in table_keys(app))
    assert waiter.error is None
    with psycopg.connect(db.dsn, autocommit=True) as conn:
        row = conn.execute("select count(*) from pg_stat_activity where pid = %s", [holder.pid])
        assert row.fetchone() == (0,)


@sync
async def test_statement_run_in_the_test_shows_up_with_its_plan_and_advice(
    db: TestDatabase,
) -> None:
    db.execute("create table big (id int primary key, v int, pad text)")
    db.execute(
        "insert into big select g, g % 5000, repeat('x', 80) from generate_series(1, 50000) g"
    )
    db.execute("analyze big")
    marker = f"tui_{uuid.uuid4().hex[:8]}"
    with db.admin() as conn:
        for i in range(30):
            conn.execute(f"select id as {marker} from big where v = %s", [i])
    text = f"select id as {marker} from big where v = $1"
    app = live_app(db.dsn, start="statements")
    async with app.run_test(size=SIZE) as pilot:

        def key() -> str | None:
            view = app.view
            if view is None or view.statements is None:
                return None
            found = [r for r in view.statements.rows if r.query == text]
            return "/".join(map(str, found[0].key)) if found else None

        await wait_for(pilot, lambda: key() is not None and key() in table_keys(app))
        assert app.screen.query_one(RowTable).move_to_key(str(key()))
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, StatementScreen))
        screen = app.screen
        assert isinstance(screen, StatementScreen)
        assert screen.row.calls == 30
        await wait_for(pilot, lambda: screen.plan is not None, timeout=30)
        plan, advice = screen.plan, screen.advice
        assert plan is not None and plan.error is None and plan.text is not None
        assert plan.text.startswith("Seq Scan on big") and "Filter: (v = $1)" in plan.text
        if db.major >= 16:
            assert plan.method == "EXPLAIN (GENERIC_PLAN)"
        else:
            assert plan.method.startswith("generic plan of a PREPAREd statement")
        assert advice is not None and advice.error is None, advice
        assert [s.index.table for s in advice.suggestions] == ["big"]
        suggestion = advice.suggestions[0]
        assert "(v)" in suggestion.create_sql
        assert suggestion.queries and suggestion.queries[0].cost_after < plan.total_cost  # type: ignore[operator]
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, StatementScreen))


@pytest.fixture
def throwaway_server() -> Iterator[EmbeddedServer]:
    base = Path(tempfile.mkdtemp(prefix="pgtune_hx-tui-restart-"))
    base.chmod(0o755)
    server = EmbeddedServer(base)
    server.start()
    try:
        yield server
    finally:
        server.stop(mode="immediate")
        shutil.rmtree(base, ignore_errors=True)


@sync
async def test_server_restart_shows_reconnecting_then_recovers(
    throwaway_server: EmbeddedServer,
) -> None:
    server = throwaway_server
    app = live_app(server.dsn(), backoff=Backoff(initial=0.2, factor=2.0, maximum=1.0))
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.link.state is LinkState.LIVE)
        before = app.view
        assert before is not None
        server.stop()
        await wait_for(pilot, lambda: app.link.state is LinkState.RECONNECTING)
        await wait_for(pilot, lambda: "reconnecting (attempt" in status_text(app))
        # the UI keeps working while the server is away
        await pilot.press("1")
        await wait_for(pilot, lambda: isinstance(app.screen, OverviewScreen))
        assert "reconnecting" in status_text(app)
        server.start()
        await wait_for(pilot, lambda: app.link.state is LinkState.LIVE, timeout=30)
        await wait_for(pilot, lambda: app.view is not None and app.view.captured > before.captured)
        assert app.view is not None
        # a restart between two refreshes: rates are n/a, never negative
        assert app.view.overview.tps is None or app.view.overview.tps >= 0
        assert "live" in status_text(app)
        await pilot.press("2")
        await wait_for(pilot, lambda: isinstance(app.screen, ActivityScreen))


@sync
async def test_pg_monitor_role_sees_limited_panels_and_no_kill(db18: TestDatabase) -> None:
    db = db18
    _table(db)
    with (
        monitor_only_role(db) as role,
        LockHolder(db.dsn, "lock table t in access exclusive mode") as holder,
        BlockedStatement(db.dsn, "select count(*) from t") as waiter,
    ):
        waiter.wait_until_blocked()
        app = live_app(f"{db.dsn} user={role}", start="locks")
        async with app.run_test(size=SIZE) as pilot:
            await wait_for(pilot, lambda: table_keys(app)[:1] == [str(holder.pid)])
            assert "cancel/terminate unavailable" in status_text(app)
            assert f"role {role} lacks pg_signal_backend" in status_text(app)
            await pilot.press("k")
            await pilot.pause(0.3)
            assert isinstance(app.screen, LocksScreen)  # no confirmation: nothing to confirm
            assert any("pg_signal_backend" in n.message for n in app._notifications)
            await pilot.press("2")
            await wait_for(pilot, lambda: str(waiter.pid) in table_keys(app))
            # pg_monitor reads every session's query
            assert app.view is not None
            session = app.view.session(waiter.pid)
            assert session is not None and session.query == "select count(*) from t"
        holder.conn.rollback()  # type: ignore[union-attr]


@sync
async def test_record_then_replay_shows_the_same_sessions(
    db18: TestDatabase, tmp_path: Path
) -> None:
    with LockHolder(db18.dsn, "select 1", application_name="recorded-session") as holder:
        app = MonitorApp(live=LiveConfig(db18.dsn, Guard(), record=tmp_path), refresh_s=0.3)
        async with app.run_test(size=SIZE) as pilot:
            await wait_for(pilot, lambda: len(list(tmp_path.glob("*.json.gz"))) >= 2)
    replay = Replay.open(tmp_path)
    assert len(replay) >= 2
    player = MonitorApp(replay=replay, refresh_s=3600, start="activity")
    async with player.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: str(holder.pid) in table_keys(player))
        assert "replay 1/" in status_text(player)
        await pilot.press("right_square_bracket")
        await wait_for(pilot, lambda: "replay 2/" in status_text(player))
        assert player.view is not None and player.view.interval_s is not None
        await pilot.press("k")
        await pilot.pause(0.2)
        assert not isinstance(player.screen, ConfirmSignal)


@sync
async def test_replay_fixture_steps_back_and_forth() -> None:
    app = MonitorApp(replay=Replay.open(FIXTURES), refresh_s=3600, start="locks")
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: bool(table_keys(app)))
        first = app.view
        assert first is not None and first.overview.tps is None  # nothing before frame 1
        await pilot.press("right_square_bracket", "right_square_bracket")
        await wait_for(pilot, lambda: "replay 3/3 (paused)" in status_text(app))
        assert app.view is not None and app.view.overview.tps is not None
        tps = app.view.overview.tps
        await pilot.press("left_square_bracket", "right_square_bracket")
        # stepping back rebuilds the same rates
        assert app.view.overview.tps == pytest.approx(tps)


@sync
async def test_findings_of_the_live_server_and_the_fix_copied(db18: TestDatabase) -> None:
    db = db18
    db.execute("create table f (id int primary key, v int)")
    db.execute("insert into f select g, g from generate_series(1, 20000) g")
    db.execute("create index f_v on f (v)")
    db.execute("create index f_v_again on f (v)")
    app = live_app(db.dsn, start="findings")
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        assert isinstance(screen, FindingsScreen)
        await wait_for(pilot, lambda: screen.analysis is not None, timeout=60)
        assert screen.analysis is not None and screen.analysis.error is None
        keys = [f"{f.rule_id} {f.object}" for f in screen.analysis.findings]
        duplicate = keys.index("index.duplicate public.f_v_again")
        assert screen.query_one(RowTable).move_to_key(str(duplicate))
        await pilot.press("y")
        await pilot.pause(0.1)
        assert app.clipboard == "DROP INDEX CONCURRENTLY public.f_v_again;"


@sync
async def test_tables_screen_flags_a_real_duplicate_index(db18: TestDatabase) -> None:
    db = db18
    db.execute("create table orders (id int primary key, customer int)")
    db.execute("insert into orders select g, g % 100 from generate_series(1, 5000) g")
    db.execute("create index orders_customer on orders (customer)")
    db.execute("create index orders_customer_copy on orders (customer)")
    db.execute("delete from orders where id <= 1000")
    app = live_app(db.dsn, start="tables")
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.view is not None and app.view.tables is not None)
        assert app.view is not None and app.view.tables is not None
        tables = {t.name: t for t in app.view.tables.tables}
        assert tables["public.orders"].n_dead_tup == 1000
        indexes = {i.name: i for i in app.view.tables.indexes}
        assert "index.duplicate" in [
            rule for rule, _ in indexes["public.orders_customer_copy"].verdicts
        ]
        assert indexes["public.orders_pkey"].constraint_type == "primary key"
        assert (
            "public.orders_customer_copy" in app.screen.query_one("#indexes", RowTable).row_keys()
        )


@sync
async def test_replayed_session_detail_shows_the_recorded_awaited_lock() -> None:
    app = MonitorApp(replay=Replay.open(FIXTURES), refresh_s=3600, start="locks")
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: len(table_keys(app)) == 4)
        waiter = int(table_keys(app)[-1])  # the SELECT queued behind the ALTER TABLE
        assert app.screen.query_one(RowTable).move_to_key(str(waiter))
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, SessionScreen))
        screen = app.screen
        assert isinstance(screen, SessionScreen)
        await wait_for(pilot, lambda: screen.detail is not None)
        assert screen.detail is not None
        awaited = [lock for lock in screen.detail.locks if not lock["granted"]]
        assert [(lock["mode"], lock["relation_name"]) for lock in awaited] == [
            ("AccessShareLock", "public.invoices")
        ]
        await pilot.press("k")  # nothing to signal in a replay
        await pilot.pause(0.2)
        assert isinstance(app.screen, SessionScreen)


def test_cli_rejects_bad_tui_options(tmp_path: Path) -> None:
    for args, needle in (
        (("--refresh", "0"), "--refresh must be between"),
        (("--replay", str(tmp_path / "missing")), "neither a snapshot file nor a directory"),
        (("--replay", str(tmp_path)), "no snapshot files"),
        (("--replay", str(FIXTURES), "--dsn", "host=x"), "takes no --dsn"),
        (("--screen", "nope"), "--screen must be one of"),
    ):
        result = invoke("tui", *args)
        assert result.code == 2, result.stderr
        assert needle in result.error_line
    refused = invoke("tui", "--dsn", "host=127.0.0.1 port=1 connect_timeout=2")
    assert refused.code == 3 and "Connection refused" in refused.error_line
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "a.json").write_text("{not json")
    corrupt = invoke("tui", "--replay", str(broken))
    assert corrupt.code == 9 and "not valid snapshot JSON" in corrupt.error_line


def monitor_backends(dsn: str) -> set[int]:
    with psycopg.connect(dsn, autocommit=True) as conn:
        rows = conn.execute(
            "select pid from pg_stat_activity where application_name = 'pgtune_hx' "
            "and datname = current_database() and backend_type = 'client backend'"
        ).fetchall()
    return {int(row[0]) for row in rows}


def monitor_backend(dsn: str) -> int:
    (pid,) = monitor_backends(dsn)  # only the refresh loop's session is open
    return pid


@sync
async def test_a_hung_backend_shows_stale_data_then_is_replaced(db18: TestDatabase) -> None:
    app = live_app(db18.dsn)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.link.state is LinkState.LIVE)
        backend = monitor_backend(db18.dsn)
        # freeze the monitor's backend: its refresh hangs and no timeout can fire
        os.kill(backend, signal.SIGSTOP)
        try:
            await wait_for(pilot, lambda: "stale: no data for" in status_text(app))
            assert "server slow or hung" in status_text(app)
            await pilot.press("3")  # the UI answers meanwhile
            await wait_for(pilot, lambda: isinstance(app.screen, LocksScreen))
            frozen = app.view
            assert frozen is not None
            # past statement_timeout the stuck session is cut and a new one opened
            await wait_for(
                pilot,
                lambda: app.view is not None and app.view.captured > frozen.captured,
                timeout=app.hang_after_s() + 15,
            )
            assert any("dropped the session" in n.message for n in app._notifications)
            assert monitor_backends(db18.dsn) - {backend}  # a new session serves the refreshes
            assert "live" in status_text(app)
        finally:
            os.kill(backend, signal.SIGCONT)


@sync
async def test_quitting_never_waits_for_a_hung_backend(db18: TestDatabase) -> None:
    app = live_app(db18.dsn)
    backend = 0
    try:
        async with app.run_test(size=SIZE) as pilot:
            await wait_for(pilot, lambda: app.link.state is LinkState.LIVE)
            backend = monitor_backend(db18.dsn)
            os.kill(backend, signal.SIGSTOP)
            await wait_for(pilot, lambda: "stale" in status_text(app))
            await pilot.press("q")
        # the backend is still frozen, yet the refresh thread has left its loop (the
        # interpreter joins it at exit: a stuck thread would keep `q` from quitting)
        assert app.loop_finished.wait(15)
    finally:
        if backend:
            os.kill(backend, signal.SIGCONT)


@sync
async def test_command_palette_switches_screens() -> None:
    app = MonitorApp(replay=Replay.open(FIXTURES), refresh_s=3600, start="overview")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("ctrl+p")
        await pilot.pause(0.2)
        await pilot.press(*"go to locks")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, LocksScreen))
        await pilot.press("f1")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen))
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, LocksScreen))
