"""The state of the monitor's link to the server: live, stale, reconnecting.

Kept apart from the UI so the rules are testable: reconnect attempts back off
exponentially (with a cap) and the backoff resets after a success; data is
stale when the last good refresh is older than a few refresh intervals, which
is what a slow or hung server looks like from the client.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


@dataclass
class Backoff:
    """Delays between reconnect attempts: initial, x factor each time, capped.

    >>> b = Backoff(initial=0.5, factor=2.0, maximum=3.0)
    >>> [b.next_delay() for _ in range(5)]
    [0.5, 1.0, 2.0, 3.0, 3.0]
    """

    initial: float = 0.5
    factor: float = 2.0
    maximum: float = 10.0
    attempts: int = 0

    def next_delay(self) -> float:
        delay = min(self.maximum, self.initial * self.factor**self.attempts)
        self.attempts += 1
        return delay

    def reset(self) -> None:
        self.attempts = 0


class LinkState(enum.Enum):
    CONNECTING = "connecting"
    LIVE = "live"
    RECONNECTING = "reconnecting"
    REPLAY = "replay"


@dataclass
class Link:
    """What the status bar says about the data source, from the UI's clock."""

    refresh_s: float
    state: LinkState = LinkState.CONNECTING
    last_success: float | None = None  # monotonic seconds
    last_error: str | None = None
    attempts: int = 0
    retry_at: float | None = None  # monotonic seconds
    paused: bool = False

    def succeeded(self, now: float) -> None:
        self.state = LinkState.LIVE
        self.last_success = now
        self.last_error = None
        self.attempts = 0
        self.retry_at = None

    def failed(self, now: float, error: str) -> None:
        """A refresh failed but the session is still there (timeout, privilege)."""
        self.last_error = error

    def lost(self, now: float, error: str, retry_in: float, attempt: int) -> None:
        self.state = LinkState.RECONNECTING
        self.last_error = error
        self.attempts = attempt
        self.retry_at = now + retry_in

    def age(self, now: float) -> float | None:
        """Seconds since the last good refresh."""
        if self.last_success is None:
            return None
        return max(0.0, now - self.last_success)

    def stale_after(self) -> float:
        """A refresh is late after about two intervals plus slack for a busy server."""
        return 2.0 * self.refresh_s + 1.0

    def is_stale(self, now: float) -> bool:
        if self.paused or self.state is LinkState.REPLAY:
            return False
        age = self.age(now)
        return age is not None and age > self.stale_after()

    def retry_in(self, now: float) -> float | None:
        if self.retry_at is None:
            return None
        return max(0.0, self.retry_at - now)

    def describe(self, now: float) -> tuple[str, str]:
        """(status text, level) where level is ok, warning or error."""
        if self.state is LinkState.REPLAY:
            return ("replay", "ok")
        if self.paused:
            return ("paused", "warning")
        if self.state is LinkState.RECONNECTING:
            wait = self.retry_in(now)
            when = f", next try in {wait:.0f}s" if wait is not None else ""
            return (f"reconnecting (attempt {self.attempts}{when})", "error")
        if self.state is LinkState.CONNECTING:
            return ("connecting", "warning")
        age = self.age(now)
        if self.is_stale(now) and age is not None:
            return (f"stale: no data for {age:.0f}s (server slow or hung?)", "warning")
        if self.last_error:
            return (f"live, last refresh failed: {self.last_error}", "warning")
        return ("live", "ok")
