"""The error modal: what went wrong, in words, with the technical details folded away."""

from __future__ import annotations

import traceback
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Collapsible, Label, Static

from deepresearch_local.errors import DeepResearchError


class ErrorModal(ModalScreen[None]):
    """Shows one error. ``ErrorModal.for_exception`` picks the words for any exception."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,enter", "dismiss", "Close"),
        Binding("c", "copy", "Copy details"),
    ]

    def __init__(self, title: str, message: str, details: str = "") -> None:
        super().__init__(classes="dialog-screen")
        self.error_title = title
        self.message = message
        self.details = details

    @classmethod
    def for_exception(cls, error: BaseException) -> ErrorModal:
        """Our errors say what to do; anything else is a bug, shown with its traceback."""
        if isinstance(error, DeepResearchError):
            return cls(error.title, str(error) or error.title)
        details = "".join(traceback.format_exception(type(error), error, error.__traceback__))
        message = (
            f"{type(error).__name__}: {error}\n\n"
            "This is a bug in deepresearch-local. The app keeps running; the details below help to report it."
        )
        return cls("Unexpected error", message, details)

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="error-dialog"):
            yield Label(self.error_title, id="error-title", classes="dialog-title")
            with VerticalScroll(id="error-body"):
                yield Static(self.message, id="error-message", markup=False)
                if self.details:
                    with Collapsible(title="Details", collapsed=True, id="error-details"):
                        yield Static(self.details, markup=False)
            with Horizontal(classes="dialog-buttons"):
                yield Button("Close", id="close", variant="primary")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(None)

    def action_copy(self) -> None:
        self.app.copy_to_clipboard(f"{self.error_title}\n\n{self.message}\n\n{self.details}".strip())
        self.notify("Error details copied.")
