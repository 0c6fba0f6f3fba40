"""A run asks the user to allow something it would otherwise refuse (a URL the model composed after
local documents were read, Python code where no OS sandbox holds).

``dismiss`` returns True (allow), False (refuse: the model is told) or None (Esc: cancel the run).
"""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Label, Static


class PermissionModal(ModalScreen[bool | None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "answer(True)", "Allow"),
        Binding("n", "answer(False)", "Refuse"),
        Binding("escape", "cancel_run", "Cancel the run"),
    ]

    def __init__(self, question: str) -> None:
        super().__init__(classes="dialog-screen")
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Label("The research asks for permission", classes="dialog-title")
            yield Static(self.question, id="permission-question", markup=False)
            yield Static("Esc cancels the whole run.", classes="dialog-hint")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Allow (y)", id="allow", variant="error")
                yield Button("Refuse (n)", id="refuse")

    def on_mount(self) -> None:
        self.query_one("#refuse", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(event.button.id == "allow")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)

    def action_cancel_run(self) -> None:
        self.dismiss(None)
