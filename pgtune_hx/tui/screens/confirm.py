"""The confirmation before a cancel or terminate: it names the pid and the query."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from pgtune_hx.tui import fmt
from pgtune_hx.tui.model import SessionRow


class ConfirmSignal(ModalScreen[bool]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "answer(True)", "Yes"),
        Binding("n,escape", "answer(False)", "No"),
    ]

    def __init__(self, session: SessionRow, action: str) -> None:
        super().__init__()
        self.session = session
        self.action_name = action

    def compose(self) -> ComposeResult:
        s = self.session
        what = (
            "Cancel the running query of"
            if self.action_name == "cancel"
            else "Terminate (disconnect) the session"
        )
        function = "pg_cancel_backend" if self.action_name == "cancel" else "pg_terminate_backend"
        text = Text()
        text.append(f"{what} pid {s.pid}?\n\n", style="bold")
        text.append(f"user {s.usename or '?'} · database {s.datname or '?'}")
        text.append(f" · application {s.application_name or '-'} · state {s.state or '?'}\n\n")
        text.append(fmt.one_line(s.query, 400) or "(no query text)", style="italic")
        text.append(f"\n\nRuns {function}({s.pid}) on a separate writable session, ")
        text.append("only if pid and backend start still match.", style="dim")
        with Vertical(id="confirm"):
            yield Static(text, id="confirm-text")
            with Horizontal(id="confirm-buttons"):
                yield Button(f"y  {self.action_name} {s.pid}", variant="error", id="yes")
                yield Button("n  keep it", variant="primary", id="no")

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()

    def action_answer(self, answer: bool) -> None:
        self.dismiss(answer)

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")
