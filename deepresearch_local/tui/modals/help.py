"""F1: the keys of the screen underneath, and a short guide (``tui/help.md``)."""

from __future__ import annotations

from importlib.resources import files
from typing import ClassVar

from rich.table import Table
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Label, Markdown, Static


def help_text() -> str:
    return files("deepresearch_local.tui").joinpath("help.md").read_text("utf-8")


class HelpModal(ModalScreen[None]):
    """``keys`` are (key, what it does) pairs, collected from the screen the help was opened on."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,f1,q", "dismiss", "Close")]

    def __init__(self, keys: list[tuple[str, str]]) -> None:
        super().__init__(classes="dialog-screen")
        self.keys = keys

    def compose(self) -> ComposeResult:
        table = Table.grid(padding=(0, 2))
        table.add_column(style="bold", no_wrap=True)
        table.add_column()
        for key, description in self.keys:
            table.add_row(key, description)
        with Vertical(id="dialog", classes="help-dialog"):
            yield Label("Keys and help (Esc closes)", classes="dialog-title")
            with VerticalScroll(id="help-body"):
                yield Static(table, id="help-keys")
                yield Markdown(help_text(), id="help-text")
