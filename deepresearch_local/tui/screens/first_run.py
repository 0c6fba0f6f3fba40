"""First-run setup: this machine and the build recommended for it (with the reason) → download
it, import weights already on disk, or connect to an OpenAI-compatible server → optionally add
a folder of documents → ready. Skippable at every step; the palette reopens it.

The work is the headless code's (``hardware``, ``weights``, ``engines.openai``, ``library``,
``config``), run in thread workers; expected problems (a bad path, an unreachable server) are
shown in the step, anything else goes to the app's error handler.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Button, ContentSwitcher, Footer, Header

from deepresearch_local.errors import DeepResearchError
from deepresearch_local.tui.commands import register
from deepresearch_local.tui.widgets.first_run.finish import DocsStep, DownloadStep, ReadyStep
from deepresearch_local.tui.widgets.first_run.setup import (
    connect_server,
    ensure_settings_file,
    library_line,
    use_local_model,
)
from deepresearch_local.tui.widgets.first_run.sources import Chosen, ImportStep, ServerStep
from deepresearch_local.tui.widgets.first_run.welcome import WelcomeStep
from deepresearch_local.tui.widgets.library.folders import IndexProgress
from deepresearch_local.tui.widgets.models.machine import probe_here
from deepresearch_local.tui.widgets.models.transfers import Transfers
from deepresearch_local.tui.widgets.path_bar import short_path

if TYPE_CHECKING:
    from deepresearch_local.hardware.probe import Hardware
    from deepresearch_local.library import Library, Progress
    from deepresearch_local.weights.recommend import Recommendation
    from deepresearch_local.weights.registry import RegisteredModel

for _action, _title, _help in (
    ("download", "Setup: download the recommended model", "The build that fits this machine best"),
    ("keep", "Setup: keep the model already set up", "Go on to your documents"),
    ("pause", "Setup: pause or resume the download", "The bytes downloaded so far are kept"),
    ("cancel_download", "Setup: cancel the download", "The partial file is kept for a later resume"),
    ("import_weights", "Setup: use weights already on disk", "A GGUF file or an MLX folder, not copied"),
    ("server", "Setup: use an OpenAI-compatible server", "llama-server, Ollama, LM Studio, vLLM"),
    ("skip", "Setup: skip", "Close the setup (the palette reopens it)"),
    ("finish", "Setup: start researching", "Close the setup when it is done"),
):
    register("first_run", _title, _help, _action)

STEP_OF = {
    "download": "welcome",
    "keep": "welcome",
    "import_weights": "welcome",
    "server": "welcome",
    "pause": "download-step",
    "cancel_download": "download-step",
    "finish": "ready-step",
}
"""The step on which each action means something (the others are always available)."""
READY = "ready-step"


class FirstRunScreen(Screen[None]):
    """A wizard over a ContentSwitcher; ``dismiss`` when done or skipped."""

    DEFAULT_CSS = """
    FirstRunScreen ContentSwitcher { height: 1fr; padding: 1 2; }
    FirstRunScreen ContentSwitcher > Vertical { height: auto; }
    FirstRunScreen .step-title { text-style: bold; color: $accent; margin-bottom: 1; }
    FirstRunScreen .step-text { margin-bottom: 1; }
    FirstRunScreen .step-buttons { height: auto; margin-top: 1; }
    FirstRunScreen .step-buttons Button { margin-right: 1; }
    FirstRunScreen #welcome-have { margin-top: 1; }
    FirstRunScreen OptionList { height: auto; max-height: 12; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("d", "download", "Download", show=False),
        Binding("k", "keep", "Keep", show=False),
        Binding("i", "import_weights", "Import", show=False),
        Binding("o", "server", "Server", show=False),
        Binding("p", "pause", "Pause/resume", show=False),
        Binding("c", "cancel_download", "Cancel", show=False),
        Binding("s", "skip", "Skip setup"),
        Binding("escape", "back", "Back"),
    ]

    class Looked(Message):
        def __init__(self, hw: Hardware, rec: Recommendation, size: int | None, have: list[Any]) -> None:
            super().__init__()
            self.hw, self.rec, self.size, self.have = hw, rec, size, have

    class Done(Message):
        """A step's work finished: ``line`` goes in the summary, ``step`` is the one to show next."""

        def __init__(self, line: str, step: str) -> None:
            super().__init__()
            self.line, self.step = line, step

    class Problem(Message):
        def __init__(self, step: str, message: str) -> None:
            super().__init__()
            self.step, self.message = step, message

    class Step(Message):
        def __init__(self, progress: Progress) -> None:
            super().__init__()
            self.progress = progress

    def __init__(self, hardware: Callable[[], Hardware] | None = None, *, name: str | None = None) -> None:
        super().__init__(name=name)
        self._hardware = hardware or probe_here
        self.rec: Recommendation | None = None
        self.have: list[RegisteredModel] = []
        self.summary: list[str] = []
        self._pending: str | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        with ContentSwitcher(initial="welcome"):
            yield WelcomeStep(id="welcome")
            yield DownloadStep(id="download-step")
            yield ImportStep(id="import-step")
            yield ServerStep(id="server-step")
            yield DocsStep(id="docs-step")
            yield ReadyStep(id="ready-step")
        yield Footer()

    @property
    def step(self) -> str:
        return self.query_one(ContentSwitcher).current or "welcome"

    def show_step(self, step: str) -> None:
        self.query_one(ContentSwitcher).current = step
        self.refresh_bindings()
        if step == "docs-step":
            self.query_one("#docs-path").focus()
        elif step == "server-step":
            self.query_one("#server-url").focus()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "skip":
            return self.step != "download-step"  # a running download is cancelled first (c)
        wanted = STEP_OF.get(action)
        return wanted is None or wanted == self.step

    # -- step 1: the machine ------------------------------------------------------------------
    def on_mount(self) -> None:
        self.run_worker(self._look, thread=True, name="look at this machine")

    def _look(self) -> None:
        from deepresearch_local.weights.catalog import find_variant
        from deepresearch_local.weights.recommend import recommend
        from deepresearch_local.weights.registry import Registry

        hw = self._hardware()
        rec = recommend(hw)
        variant = find_variant(rec.variant) if rec.variant else None
        have = [e for e in Registry().entries() if e.exists]
        self.post_message(self.Looked(hw, rec, variant.approx_bytes if variant else None, have))

    def on_first_run_screen_looked(self, message: FirstRunScreen.Looked) -> None:
        self.rec, self.have = message.rec, message.have
        self.query_one(WelcomeStep).show(message.hw, message.rec, message.size, message.have)
        if self._pending:
            self.call_later(self.run_action, self._pending)

    async def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id:
            await self.run_action(event.button.id)

    def _ready_for(self, action: str) -> bool:
        if self.rec is None:
            self._pending = action  # the palette can ask before the machine was looked at
            return False
        self._pending = None
        return True

    # -- step 2: a model ----------------------------------------------------------------------
    def action_download(self) -> None:
        if not self._ready_for("download") or self.rec is None or self.rec.variant is None:
            return
        self.show_step("download-step")
        self.query_one("#setup-transfers", Transfers).download(self.rec.variant)

    def action_pause(self) -> None:
        if self.rec and self.rec.variant:
            self.query_one("#setup-transfers", Transfers).toggle_pause(self.rec.variant)

    def action_cancel_download(self) -> None:
        if self.rec and self.rec.variant:
            self.query_one("#setup-transfers", Transfers).cancel(self.rec.variant)

    def on_transfers_finished(self, message: Transfers.Finished) -> None:
        if message.outcome == "done" and message.entry is not None:
            self._use_local(message.entry, "downloaded")
        elif message.outcome == "cancelled":
            self.notify(message.message)
            self.show_step("welcome")

    def action_keep(self) -> None:
        if self._ready_for("keep") and self.have:
            from deepresearch_local.weights.registry import Registry

            default = Registry().default_id() or self.have[0].id
            self.summary.append(f"Model: {default} (already set up; the default)")
            self.show_step("docs-step")

    def action_import_weights(self) -> None:
        if not self._ready_for("import_weights"):
            return
        self.show_step("import-step")
        self.run_worker(self._scan, thread=True, name="scan for weights")

    def _scan(self) -> None:
        from deepresearch_local.weights.scan import scan

        found = scan()
        self.app.call_from_thread(self.query_one(ImportStep).show_found, found)

    def action_server(self) -> None:
        if self._ready_for("server"):
            self.show_step("server-step")

    def on_chosen(self, message: Chosen) -> None:
        work = {"import": self._import, "server": self._connect, "docs": self._add_docs}[message.kind]
        if message.kind == "docs" and not message.value:
            self.post_message(self.Done("Documents: none yet (the Library screen, F4, adds them)", READY))
            return
        if message.kind == "docs":
            self.query_one("#setup-index", IndexProgress).begin(f"Adding {message.value}…")
        self.run_worker(lambda: work(message.value), thread=True, name=f"setup {message.kind}")

    def _import(self, path: str) -> None:
        from deepresearch_local.weights.scan import import_path

        try:
            entry, _new = import_path(path)
        except DeepResearchError as exc:
            self.post_message(self.Problem("import-step", str(exc)))
            return
        self.app.call_from_thread(self._use_local, entry, "imported")

    def _use_local(self, entry: RegisteredModel, how: str) -> None:
        use_local_model(entry.id)
        self.summary.append(f"Model: {entry.id}, {how} ({short_path(entry.path)}); the default")
        self.show_step("docs-step")

    def _connect(self, url: str) -> None:
        try:
            line = connect_server(url)
        except DeepResearchError as exc:
            self.post_message(self.Problem("server-step", str(exc)))
            return
        self.post_message(self.Done(line, "docs-step"))

    # -- step 3: documents --------------------------------------------------------------------
    def _add_docs(self, folder: str) -> None:
        from deepresearch_local.library import Library

        choice = self.query_one(DocsStep).embedding_choice()
        with Library() as library:
            try:
                report = library.add(folder, on_progress=self._index_step)
            except DeepResearchError as exc:
                self.post_message(self.Problem("docs-step", str(exc)))
                return
            line = library_line(report)
            meaning = self._search_by_meaning(library, choice) if choice else ""
        self.app.call_from_thread(self.query_one("#setup-index", IndexProgress).end, report, line)
        if meaning:
            self.summary.append(line)
            line = meaning
        self.post_message(self.Done(line, "ready-step"))

    def _search_by_meaning(self, library: Library, variant: str) -> str:
        """Pull the chosen embedding model and embed the folder's passages; the summary line. A
        failure (offline, a full disk) leaves keyword search working and says so."""
        from deepresearch_local.library.embedding.configured import open_embedder
        from deepresearch_local.library.embedding.models import pull_embedding_model
        from deepresearch_local.weights.events import DownloadProgress

        progress = self.query_one("#setup-index", IndexProgress)

        def downloaded(event: object) -> None:
            if isinstance(event, DownloadProgress) and event.total:
                self.app.call_from_thread(progress.downloading, event.bytes_done, event.total, variant)

        def embedded(done: int, total: int) -> None:
            self.app.call_from_thread(progress.embedding, done, total, variant)

        try:
            entry = pull_embedding_model(variant, emit=downloaded)
            embedder = open_embedder(entry.id)
            made = library.embed_missing(embedder, embedded)
        except DeepResearchError as exc:
            reason = " ".join(str(exc).split())
            reason = reason if len(reason) <= 240 else reason[:239] + "…"
            return (
                f"Search by meaning: not set up ({reason}); keyword search works. "
                f"`deepresearch models pull {variant}` tries again."
            )
        return f"Search by meaning: {entry.id} ({made} passages embedded; new ones are as you index)"

    def _index_step(self, progress: Progress) -> None:
        self.post_message(self.Step(progress))

    def on_first_run_screen_step(self, message: FirstRunScreen.Step) -> None:
        self.query_one("#setup-index", IndexProgress).step(message.progress)

    def on_first_run_screen_done(self, message: FirstRunScreen.Done) -> None:
        self.summary.append(message.line)
        if message.step == "ready-step":
            self.query_one(ReadyStep).show(self.summary)
        self.show_step(message.step)

    def on_first_run_screen_problem(self, message: FirstRunScreen.Problem) -> None:
        if message.step == "import-step":
            self.query_one(ImportStep).show_problem(message.message)
        elif message.step == "server-step":
            self.query_one(ServerStep).show_problem(message.message)
        else:
            self.query_one("#setup-index", IndexProgress).end(None, f"Not added: {message.message}")

    # -- leaving ------------------------------------------------------------------------------
    def action_back(self) -> None:
        transfers = self.query_one("#setup-transfers", Transfers)
        if self.step == "download-step" and transfers.running():
            self.notify("The download is running: cancel it (c) first, or let it finish.")
            return
        if self.step in ("download-step", "import-step", "server-step"):
            self.show_step("welcome")
        elif self.step == "welcome":
            self.action_skip()

    def action_finish(self) -> None:
        ensure_settings_file()
        self.dismiss(None)

    def action_skip(self) -> None:
        self.query_one("#setup-transfers", Transfers).cancel_all()
        ensure_settings_file()
        self.dismiss(None)
