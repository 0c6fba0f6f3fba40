"""A cited source: the library file at the cited location, or the URL of a web page."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Label, Static, TextArea

from deepresearch_local.session_replay import Source


class SourceViewer(ModalScreen[None]):
    """``text`` is what the library read at the source's location; ``error`` says why it could not."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q", "dismiss", "Close"),
        Binding("c", "copy", "Copy"),
        Binding("o", "open", "Open in browser", show=False),
    ]

    def __init__(self, source: Source, text: str = "", error: str = "") -> None:
        super().__init__(classes="dialog-screen")
        self.source = source
        self.text = text
        self.error = error

    def compose(self) -> ComposeResult:
        source = self.source
        with Vertical(id="dialog", classes="source-dialog"):
            yield Label(f"Source [{source.number}]", classes="dialog-title")
            if source.title:
                yield Static(source.title, id="source-title", markup=False)
            yield Static(source.source, id="source-path", markup=False)
            if source.location:
                yield Static(f"at {source.location}", id="source-location", markup=False)
            if source.is_url:
                yield Static(
                    "A web page: press o to open it in your browser, c to copy the address.",
                    classes="dialog-hint",
                )
            elif self.error:
                yield Static(self.error, id="source-error", markup=False)
            else:
                yield TextArea(self.text, read_only=True, id="source-text", soft_wrap=True)
            with Horizontal(classes="dialog-buttons"):
                if source.is_url:
                    yield Button("Open (o)", id="open", variant="primary")
                yield Button("Copy (c)", id="copy")
                yield Button("Close (Esc)", id="close")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "open":
            self.action_open()
        elif event.button.id == "copy":
            self.action_copy()
        else:
            self.dismiss(None)

    def action_copy(self) -> None:
        copied = self.source.source if self.source.is_url or not self.text else self.text
        self.app.copy_to_clipboard(copied)
        self.notify("Address copied." if copied == self.source.source else "Text copied.")

    def action_open(self) -> None:
        if self.source.is_url:
            self.app.open_url(self.source.source)
