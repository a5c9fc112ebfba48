"""Messages the worker threads post to the app (past tense: it happened)."""

from __future__ import annotations

from typing import Any

from textual.message import Message

from pgtune_hx.tui.detail import PlanResult, SessionDetail, SignalResult
from pgtune_hx.tui.model import View


class SnapshotCollected(Message):
    """A refresh finished; ``view`` is ready to draw."""

    def __init__(self, view: View, cpu_ms: float, wall_ms: float) -> None:
        super().__init__()
        self.view = view
        self.cpu_ms = cpu_ms
        self.wall_ms = wall_ms


class RefreshFailed(Message):
    """A refresh failed but the session survived (timeout, privilege)."""

    def __init__(self, error: str) -> None:
        super().__init__()
        self.error = error


class ConnectionLost(Message):
    """No session to the server; the next attempt is in ``retry_in`` seconds."""

    def __init__(self, error: str, retry_in: float, attempt: int) -> None:
        super().__init__()
        self.error = error
        self.retry_in = retry_in
        self.attempt = attempt


class Connected(Message):
    def __init__(self, capabilities: dict[str, Any]) -> None:
        super().__init__()
        self.capabilities = capabilities


class SessionDetailLoaded(Message):
    def __init__(self, detail: SessionDetail) -> None:
        super().__init__()
        self.detail = detail


class PlanLoaded(Message):
    def __init__(self, key: Any, plan: PlanResult, advice: Any = None) -> None:
        super().__init__()
        self.key = key
        self.plan = plan
        self.advice = advice


class BackendSignalled(Message):
    def __init__(self, result: SignalResult | None, error: str | None = None) -> None:
        super().__init__()
        self.result = result
        self.error = error


class FindingsAnalyzed(Message):
    def __init__(self, findings: list[Any], error: str | None, captured_at: str | None) -> None:
        super().__init__()
        self.findings = findings
        self.error = error
        self.captured_at = captured_at
