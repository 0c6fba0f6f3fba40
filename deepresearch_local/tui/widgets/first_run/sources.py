"""First-run step 2, the alternatives to a download: weights already on disk, or a server.

Each step posts what the user asked for; the screen does the work in a thread worker and calls
back ``show_*`` with the result.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from deepresearch_local.tui.widgets.path_bar import short_path
from deepresearch_local.units import human_bytes

if TYPE_CHECKING:
    from deepresearch_local.weights.scan import Found

DEFAULT_SERVER = "http://127.0.0.1:8080/v1"


class Chosen(Message):
    """The user gave a path to import or a server URL to connect to."""

    def __init__(self, kind: str, value: str) -> None:
        super().__init__()
        self.kind, self.value = kind, value


def found_prompt(found: Found) -> Text:
    text = Text(short_path(found.path), style="bold")
    text.append(f"  {found.format}, {human_bytes(found.size)}, {found.where}")
    if found.variant:
        text.append(f", catalog build {found.variant}", style="cyan")
    if found.registered_as:
        text.append(f"  (registered as {found.registered_as})", style="green")
    return text


class ImportStep(Vertical):
    """GGUF files and MLX folders found on disk (Enter imports one), or a path typed in."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.found: list[Found] = []

    def compose(self) -> ComposeResult:
        yield Static("Use weights you already have", classes="step-title")
        yield Static(
            "They are registered where they are: nothing is copied. Enter on a file imports it.",
            classes="step-text",
        )
        yield Static("Looking in the Hugging Face cache and LM Studio's folders…", id="import-status")
        yield OptionList(id="import-found")
        yield Input(placeholder="or the path of a .gguf file or an MLX folder (Enter)", id="import-path")

    def show_found(self, found: list[Found]) -> None:
        self.found = found
        options = self.query_one(OptionList)
        options.clear_options()
        options.add_options([Option(found_prompt(f)) for f in found])
        options.display = bool(found)  # no empty box when there is nothing to choose
        status = self.query_one("#import-status", Static)
        if found:
            status.update(f"Found {len(found)}: Enter on one imports it (↑/↓ to choose).")
            options.highlighted = 0
            options.focus()
        else:
            status.update("Found none in the usual places: type the path below.")
            self.query_one("#import-path", Input).focus()

    def show_problem(self, message: str) -> None:
        self.query_one("#import-status", Static).update(Text(message, style="bold red"))

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if 0 <= event.option_index < len(self.found):
            self._importing(str(self.found[event.option_index].path))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if event.value.strip():
            self._importing(event.value.strip())

    def _importing(self, path: str) -> None:
        """Reading a model's header can take seconds on a slow disk: say so at once."""
        self.query_one("#import-status", Static).update(f"Reading {path}…")
        self.post_message(Chosen("import", path))


class ServerStep(Vertical):
    """The URL of an OpenAI-compatible server; connecting checks it and reads its model and context."""

    def compose(self) -> ComposeResult:
        yield Static("Use an OpenAI-compatible server", classes="step-title")
        yield Static(
            "llama-server, Ollama, LM Studio or vLLM, on this machine or a bigger one. The API key, if "
            "it needs one, comes from DEEPRESEARCH_API_KEY or OPENAI_API_KEY.",
            classes="step-text",
        )
        yield Input(DEFAULT_SERVER, placeholder=DEFAULT_SERVER, id="server-url")
        yield Static("Enter connects.", id="server-status")

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if event.value.strip():
            self.query_one("#server-status", Static).update(f"Connecting to {event.value.strip()}…")
            self.post_message(Chosen("server", event.value.strip()))

    def show_problem(self, message: str) -> None:
        self.query_one("#server-status", Static).update(Text(message, style="bold red"))
