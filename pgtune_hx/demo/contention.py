"""Live problems the snapshot must see: an idle transaction and a lock wait.

``IdleTransaction`` updates one budget row and then sits idle in its transaction
(holding the row lock and, with its transaction id, the xmin horizon), as an
application that forgot to commit does. ``BlockedUpdate`` then waits for that
row from another session, so the snapshot sees a blocking chain with its root.
Both roll back: the demo changes nothing through them.
"""

from __future__ import annotations

import contextlib
import threading
import time
from types import TracebackType

import psycopg

from pgtune_hx.db import Guard, connect
from pgtune_hx.db.connect import Connection
from pgtune_hx.errors import ServerError

IDLE_APP_NAME = "pgtune_demo-forgot-commit"
WAITER_APP_NAME = "pgtune_demo-billing"
_LOCK_ROW = "update gateway.budgets set updated_at = now() where key_id = %s"


def _guard(app: str) -> Guard:
    return Guard(
        read_only=False,
        statement_timeout_ms=600_000,
        lock_timeout_ms=600_000,
        application_name=app,
    )


class IdleTransaction:
    """A session idle in a transaction that holds one budget row locked."""

    def __init__(self, dsn: str, key_id: int) -> None:
        self.dsn = dsn
        self.key_id = key_id
        self.pid = 0
        self._conn: Connection | None = None

    def __enter__(self) -> IdleTransaction:
        self._conn = connect(self.dsn, _guard(IDLE_APP_NAME), autocommit=False)
        self.pid = self._conn.info.backend_pid
        self._conn.execute(_LOCK_ROW, [self.key_id])
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._conn is not None:
            with contextlib.suppress(psycopg.Error):
                self._conn.rollback()
            self._conn.close()


class BlockedUpdate:
    """Another session updating the held row: it waits until the holder ends."""

    def __init__(self, dsn: str, key_id: int) -> None:
        self.dsn = dsn
        self.key_id = key_id
        self.pid = 0
        self.error: BaseException | None = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="demo-blocked", daemon=True)

    def _run(self) -> None:
        try:
            with connect(self.dsn, _guard(WAITER_APP_NAME), autocommit=False) as conn:
                self.pid = conn.info.backend_pid
                self._ready.set()
                conn.execute(_LOCK_ROW, [self.key_id])
                conn.rollback()
        except BaseException as exc:  # surfaced by wait_until_blocked / __exit__
            self.error = exc
        finally:
            self._ready.set()

    def start(self) -> BlockedUpdate:
        self._thread.start()
        self._ready.wait(30)
        return self

    def wait_until_blocked(self, timeout: float = 30.0) -> None:
        """Poll pg_stat_activity until the waiter is queued on the row lock."""
        deadline = time.monotonic() + timeout
        with connect(self.dsn) as conn:
            while time.monotonic() < deadline:
                if self.error is not None:
                    raise ServerError(f"the demo's lock waiter failed: {self.error}")
                row = conn.execute(
                    "select wait_event_type from pg_stat_activity where pid = %s", [self.pid]
                ).fetchone()
                if row and row["wait_event_type"] == "Lock":
                    return
                time.sleep(0.05)
        raise ServerError(f"the demo's lock waiter (pid {self.pid}) never waited on the lock")

    def join(self, timeout: float = 60.0) -> None:
        """Wait for the update to finish once the holder has rolled back."""
        self._thread.join(timeout)
        if self.error is not None:
            raise ServerError(f"the demo's lock waiter failed: {self.error}")
