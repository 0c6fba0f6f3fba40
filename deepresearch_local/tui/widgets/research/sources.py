"""The numbered sources of the report shown; choosing one opens it."""

from __future__ import annotations

from dataclasses import dataclass

from textual.content import Content
from textual.message import Message
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from deepresearch_local.session_replay import Source


class SourcesList(OptionList):
    @dataclass
    class Open(Message):
        source: Source

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.sources: list[Source] = []
        self.border_title = "Sources"

    def set_sources(self, sources: list[Source]) -> None:
        self.sources = list(sources)
        self.clear_options()
        self.add_options([Option(Content(s.label), id=str(i)) for i, s in enumerate(self.sources)])
        self.border_title = f"Sources ({len(self.sources)})" if self.sources else "Sources"
        self.set_class(not self.sources, "empty")

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.post_message(self.Open(self.sources[event.option_index]))
