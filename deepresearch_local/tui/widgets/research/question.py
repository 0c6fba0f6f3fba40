"""The question box: several lines; Enter asks, Ctrl+J (and Shift/Alt+Enter where sent) adds a line."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from textual import events
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import TextArea


class QuestionInput(TextArea):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+j,shift+enter,alt+enter", "newline", "Newline", key_display="^j"),
    ]

    @dataclass
    class Submitted(Message):
        """Enter was pressed on a question that is not blank."""

        question: QuestionInput
        text: str

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, soft_wrap=True, tab_behavior="focus", show_line_numbers=False)
        self.placeholder = "Ask a research question: Enter to ask, Ctrl+J for a new line"

    async def _on_key(self, event: events.Key) -> None:
        if event.key == "enter":
            event.stop()
            event.prevent_default()
            if self.text.strip():
                self.post_message(self.Submitted(self, self.text.strip()))

    def action_newline(self) -> None:
        self.insert("\n")

    def restore(self, text: str) -> None:
        """Put ``text`` back (after a cancelled run) with the cursor at its end."""
        self.text = text
        self.move_cursor(self.document.end)
        self.focus()
