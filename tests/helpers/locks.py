"""Real contention: hold locks from other connections, in other threads.

with LockHolder(db.dsn, "lock table t in access exclusive mode") as holder:
    with BlockedStatement(db.dsn, "select count(*) from t") as waiter:
        waiter.wait_until_blocked()
        ...  # the chain holder -> waiter is live on the server
"""

from __future__ import annotations

import contextlib
import threading
import time
from types import TracebackType
from typing import Any

import psycopg


class LockHolder:
    """Opens a transaction, runs ``statements`` and keeps it open until exit."""

    def __init__(self, dsn: str, *statements: str, application_name: str = "test-holder") -> None:
        self.dsn = dsn
        self.statements = statements
        self.application_name = application_name
        self.conn: psycopg.Connection[Any] | None = None
        self.pid = 0

    def __enter__(self) -> LockHolder:
        self.conn = psycopg.connect(self.dsn, application_name=self.application_name)
        self.pid = self.conn.info.backend_pid
        for statement in self.statements:
            self.conn.execute(statement.encode())
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self.conn is not None and not self.conn.closed:
            # the test may have terminated this backend
            with contextlib.suppress(psycopg.Error):
                self.conn.rollback()
            self.conn.close()


class BlockedStatement:
    """Runs a statement in a thread; it is expected to wait on a lock."""

    def __init__(self, dsn: str, statement: str, application_name: str = "test-waiter") -> None:
        self.dsn = dsn
        self.statement = statement
        self.application_name = application_name
        self.pid = 0
        self.error: BaseException | None = None
        self.done = threading.Event()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        try:
            with psycopg.connect(
                self.dsn, autocommit=True, application_name=self.application_name
            ) as conn:
                self.pid = conn.info.backend_pid
                self._ready.set()
                conn.execute(self.statement.encode())
        except BaseException as exc:  # reported to the test through .error
            self.error = exc
        finally:
            self._ready.set()
            self.done.set()

    def __enter__(self) -> BlockedStatement:
        self._thread.start()
        self._ready.wait(10)
        return self

    def wait_until_blocked(self, timeout: float = 10.0) -> None:
        """Poll pg_stat_activity until this backend waits on a lock."""
        deadline = time.monotonic() + timeout
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            while time.monotonic() < deadline:
                row = conn.execute(
                    "select wait_event_type from pg_stat_activity where pid = %s", [self.pid]
                ).fetchone()
                if row and row[0] == "Lock":
                    return
                time.sleep(0.02)
        raise TimeoutError(f"backend {self.pid} never waited on a lock")

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._thread.join(30)
