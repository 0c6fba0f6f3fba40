"""First-run steps after the model: the download in progress, an optional document folder, ready."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Input, RadioButton, RadioSet, Static

from deepresearch_local.tui.widgets.first_run.sources import Chosen
from deepresearch_local.tui.widgets.library.folders import IndexProgress
from deepresearch_local.tui.widgets.models.transfers import Transfers


class DownloadStep(Vertical):
    """The recommended build downloading, with pause and cancel."""

    def compose(self) -> ComposeResult:
        yield Static("Downloading the model", classes="step-title")
        yield Static(
            "It resumes where it stopped if the connection drops or you quit; the sha256 is checked "
            "at the end. p pauses or resumes, c cancels (the part is kept for later).",
            classes="step-text",
        )
        yield Transfers(id="setup-transfers")
        with Horizontal(classes="step-buttons"):
            yield Button("Pause / resume (p)", id="pause")
            yield Button("Cancel (c)", id="cancel_download")


SEARCH_CHOICES = (
    ("", "Keywords only (nothing to download)"),
    ("bge-small-en-v1.5-q8_0", "Keywords and meaning, English: bge-small-en-v1.5 (about 35 MB)"),
    ("bge-m3-q8_0", "Keywords and meaning, many languages: bge-m3 (about 600 MB)"),
)
"""How the library will be searched: the embedding model to pull, if any, and its label."""


class DocsStep(Vertical):
    """An optional folder of documents, indexed right away, and how to search it."""

    DEFAULT_CSS = """
    DocsStep RadioSet { margin-top: 1; height: auto; }
    """

    def compose(self) -> ComposeResult:
        yield Static("Your documents (optional)", classes="step-title")
        yield Static(
            "Add a folder of notes, PDFs, Word files or web pages and research can read and cite them, "
            "offline too. More folders can be added on the Library screen (F4).",
            classes="step-text",
        )
        yield Input(placeholder="a folder of documents; Enter adds it, an empty Enter skips", id="docs-path")
        with RadioSet(id="docs-search"):
            for i, (_, label) in enumerate(SEARCH_CHOICES):
                yield RadioButton(label, value=i == 1)
        yield IndexProgress(id="setup-index")

    def embedding_choice(self) -> str:
        """The embedding model chosen ("" for keywords only)."""
        index = self.query_one(RadioSet).pressed_index
        return SEARCH_CHOICES[index][0] if index >= 0 else ""

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.post_message(Chosen("docs", event.value.strip()))


class ReadyStep(Vertical):
    """What was set up, and how to start."""

    def compose(self) -> ComposeResult:
        yield Static("Ready", classes="step-title")
        yield Static("", id="ready-summary")
        yield Static(
            "Type a question on the Research screen and press Enter. F1 shows the keys of every "
            "screen; ctrl+p reaches every action.",
            classes="step-text",
        )
        with Horizontal(classes="step-buttons"):
            yield Button("Start researching (Enter)", id="finish", variant="primary")

    def show(self, lines: list[str]) -> None:
        self.query_one("#ready-summary", Static).update("\n".join(f"• {line}" for line in lines))
        self.query_one("#finish", Button).focus()
