"""Try a query against the library: the hits the agent's local_search would see, best first."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Input, Label, OptionList
from textual.widgets.option_list import Option

from deepresearch_local.tui.widgets.path_bar import short_path

if TYPE_CHECKING:
    from deepresearch_local.library import Hit


def hit_prompt(rank: int, hit: Hit) -> Text:
    text = Text(f"{rank}. ", style="bold")
    text.append(f"{short_path(hit.path)}:{hit.location}", style="bold cyan")
    text.append(f"  (score {hit.score:.2f})", style="dim")
    if hit.title:
        text.append(f"\n   {hit.title}", style="italic")
    text.append(f"\n   {hit.snippet}")
    if hit.also_at:
        text.append(f"\n   also at {'; '.join(str(loc) for loc in hit.also_at)}", style="dim")
    if hit.also_in:
        text.append(f"\n   same passage in {'; '.join(short_path(p) for p in hit.also_in)}", style="dim")
    return text


class SearchPane(Vertical):
    """An input and the hits; Enter on a hit posts :class:`SearchPane.Open`."""

    DEFAULT_CSS = """
    SearchPane { height: 1fr; }
    SearchPane > #search-status { padding: 0 1; height: auto; }
    SearchPane > OptionList { height: 1fr; }
    """

    class Query(Message):
        def __init__(self, text: str) -> None:
            super().__init__()
            self.text = text

    class Open(Message):
        def __init__(self, hit: Hit) -> None:
            super().__init__()
            self.hit = hit

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.hits: list[Hit] = []

    def compose(self) -> ComposeResult:
        yield Input(placeholder="Try a search, in your own words (Enter)", id="search-input")
        yield Label("", id="search-status", markup=False)
        yield OptionList(id="search-hits")

    @property
    def input(self) -> Input:
        return self.query_one("#search-input", Input)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if event.value.strip():
            self.query_one("#search-status", Label).update("Searching…")
            self.post_message(self.Query(event.value.strip()))

    def show(self, query: str, hits: list[Hit], empty_library: bool) -> None:
        self.hits = hits
        options = self.query_one(OptionList)
        options.clear_options()
        options.add_options([Option(hit_prompt(i, h)) for i, h in enumerate(hits, start=1)])
        if empty_library:
            status = "The library is empty: add a folder first (a)."
        elif not hits:
            status = f"No results for {query!r}. Try other words for the same idea."
        else:
            status = f"{len(hits)} results for {query!r}. Enter on one opens the passage."
        self.query_one("#search-status", Label).update(status)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if 0 <= event.option_index < len(self.hits):
            self.post_message(self.Open(self.hits[event.option_index]))
