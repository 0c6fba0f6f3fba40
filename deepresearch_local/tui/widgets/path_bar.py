"""A one-line prompt that appears on demand (a path to import, a folder to add, a URL).

Enter posts :class:`PathBar.Submitted` with the text; Esc hides the bar and posts
:class:`PathBar.Closed` so the screen can move the focus back where it was.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.message import Message
from textual.widgets import Input, Label


def short_path(path: str | Path) -> str:
    """``path`` with the home folder written as ``~`` (shorter, and the same on every machine)."""
    text = str(path)
    home = str(Path.home())
    if home not in ("", "/") and (text == home or text.startswith(home.rstrip("/") + "/")):
        return "~" + text[len(home.rstrip("/")) :]
    return text


class PathBar(Horizontal):
    """A label and an input, hidden until :meth:`open` is called."""

    DEFAULT_CSS = """
    PathBar { height: 3; display: none; padding: 0 1; }
    PathBar > Label { padding: 1 1 0 0; }
    PathBar > Input { width: 1fr; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "close", "Close", show=False)]

    class Submitted(Message):
        def __init__(self, bar: PathBar, value: str) -> None:
            super().__init__()
            self.bar = bar
            self.value = value

        @property
        def control(self) -> PathBar:
            return self.bar

    class Closed(Message):
        def __init__(self, bar: PathBar) -> None:
            super().__init__()
            self.bar = bar

        @property
        def control(self) -> PathBar:
            return self.bar

    def __init__(self, prompt: str, placeholder: str = "", *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.prompt = prompt
        self.placeholder = placeholder

    def compose(self) -> ComposeResult:
        yield Label(self.prompt)
        yield Input(placeholder=self.placeholder)

    @property
    def input(self) -> Input:
        return self.query_one(Input)

    def open(self, value: str = "") -> None:
        self.display = True
        self.input.value = value
        self.input.focus()

    def action_close(self) -> None:
        self.display = False
        self.post_message(self.Closed(self))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        value = event.value.strip()
        if not value:
            return
        self.display = False
        self.post_message(self.Submitted(self, value))
