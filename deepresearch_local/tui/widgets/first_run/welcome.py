"""First-run step 1: this machine, the build recommended for it and why, and the ways to get a model."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Static

from deepresearch_local.tui.widgets.models.machine import machine_line, recommendation_text
from deepresearch_local.tui.widgets.path_bar import short_path
from deepresearch_local.units import human_bytes

if TYPE_CHECKING:
    from deepresearch_local.hardware.probe import Hardware
    from deepresearch_local.weights.recommend import Recommendation
    from deepresearch_local.weights.registry import RegisteredModel

INTRO = (
    "Research runs on this machine: a local model searches the web (unless you work offline) and "
    "your own documents, then writes a report that cites its sources. A few steps set it up; each "
    "can be skipped, and the command palette (ctrl+p, 'First-run setup') brings this back."
)


class WelcomeStep(Vertical):
    """The hardware summary (``doctor``'s probe) and the choice buttons; each button's id is the
    action it asks the screen for."""

    def compose(self) -> ComposeResult:
        yield Static("Welcome to deepresearch-local", classes="step-title")
        yield Static(INTRO, classes="step-text")
        yield Static("Looking at this machine…", id="welcome-machine")
        yield Static("", id="welcome-have")
        with Horizontal(classes="step-buttons"):
            yield Button("Download (d)", id="download", variant="primary", disabled=True)
            yield Button("Keep it (k)", id="keep", variant="primary")
            yield Button("Use weights I have (i)", id="import_weights")
            yield Button("Use a server (o)", id="server")
            yield Button("Skip setup (s)", id="skip")

    def on_mount(self) -> None:
        self.query_one("#keep", Button).display = False

    def show(self, hw: Hardware, rec: Recommendation, size: int | None, have: list[RegisteredModel]) -> None:
        text = Text("This machine: ", style="bold")
        text.append(machine_line(hw))
        text.append(
            f"\nModels folder: {short_path(hw.models_dir)} ({human_bytes(hw.disk_free_bytes)} free)\n"
        )
        text.append_text(recommendation_text(rec))
        if size:
            text.append(f" Download size: about {human_bytes(size)}.")
        from deepresearch_local.weights.metal_advice import metal_advice

        advice = metal_advice(hw, rec)  # a Mac whose GPU limit could be raised: the command and the risk
        if advice is not None:
            text.append("\n" + advice.text, style="yellow")
        self.query_one("#welcome-machine", Static).update(text)
        download = self.query_one("#download", Button)
        download.disabled = rec.variant is None
        download.label = f"Download {rec.variant} (d)" if rec.variant else "No build fits here"
        download.refresh(layout=True)  # the label is not a layout reactive: fit the new width
        keep = self.query_one("#keep", Button)
        keep.display = bool(have)
        if have:
            names = ", ".join(e.id for e in have)
            self.query_one("#welcome-have", Static).update(
                Text(f"Already set up: {names}. Keep it (k) to go on to your documents.", style="green")
            )
            keep.focus()
        elif rec.variant:
            download.focus()
        else:
            self.query_one("#server", Button).focus()
