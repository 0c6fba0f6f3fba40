"""The terminal app: four screens as modes, first-run setup, help, the command palette, and one
place where every failed worker ends up as an error modal.

Screens run long work with ``self.run_worker(work, thread=True)``; when ``work`` raises, Textual
hands the failure to ``_handle_exception``, which here opens ``ErrorModal`` instead of exiting.
"""

from __future__ import annotations

from typing import ClassVar

from textual.app import App
from textual.binding import Binding, BindingType
from textual.worker import WorkerFailed

from deepresearch_local.service.sessions import SessionService
from deepresearch_local.tui.commands import PaletteCommand, register
from deepresearch_local.tui.modals.error import ErrorModal
from deepresearch_local.tui.modals.help import HelpModal
from deepresearch_local.tui.palette import ScreenCommands
from deepresearch_local.tui.screens.first_run import FirstRunScreen
from deepresearch_local.tui.screens.library import LibraryScreen
from deepresearch_local.tui.screens.models import ModelsScreen
from deepresearch_local.tui.screens.research import ResearchScreen
from deepresearch_local.tui.screens.settings import SettingsScreen

for _title, _help, _action in (
    ("Go to Research", "Ask questions and read reports", "switch_mode('research')"),
    ("Go to Models", "Download, import and choose models", "switch_mode('models')"),
    ("Go to Library", "Your document folders and their index", "switch_mode('library')"),
    ("Go to Settings", "Backend, model, context, mode, offline, sampling", "switch_mode('settings')"),
    ("Keys and help", "Every key of this screen and a short guide (F1)", "help"),
    ("First-run setup", "Hardware check, a model, a document folder", "first_run"),
    ("Change theme", "Pick one of Textual's themes", "change_theme"),
):
    register("app", _title, _help, _action)


def _own_actions(cls: type) -> set[str]:
    """Actions bound by our classes (not the editing keys Textual's widgets bring along)."""
    actions: set[str] = set()
    for klass in cls.__mro__:
        if klass.__module__.startswith("deepresearch_local"):
            for binding in klass.__dict__.get("BINDINGS", []):
                actions.add(binding.action if isinstance(binding, Binding) else binding[1])
    return actions


class DeepResearchApp(App[None]):
    TITLE = "deepresearch"
    SUB_TITLE = "deep research on your own machine"
    CSS_PATH = "app.tcss"
    MODES: ClassVar = {
        "research": ResearchScreen,
        "models": ModelsScreen,
        "library": LibraryScreen,
        "settings": SettingsScreen,
    }
    DEFAULT_MODE = "research"
    COMMANDS = App.COMMANDS | {ScreenCommands}
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f1", "help", "Help", priority=True),
        Binding("f2", "switch_mode('research')", "Research"),
        Binding("f3", "switch_mode('models')", "Models"),
        Binding("f4", "switch_mode('library')", "Library"),
        Binding("f5", "switch_mode('settings')", "Settings"),
    ]

    def __init__(self, service: SessionService | None = None, *, first_run: bool | None = None) -> None:
        """``first_run``: show the setup at start (default: when nothing is set up yet)."""
        super().__init__()
        self.service = service or SessionService()
        self._first_run = first_run

    def on_mount(self) -> None:
        first_run = self._first_run if self._first_run is not None else self.service.needs_first_run()
        if first_run:  # over the research screen, once that is on show
            self.call_after_refresh(self.push_screen, FirstRunScreen())

    # ------------------------------------------------------------ errors

    def show_error(self, error: BaseException) -> None:
        """Open the error modal for ``error`` (callable from the UI thread)."""
        self.push_screen(ErrorModal.for_exception(error))

    def _handle_exception(self, error: Exception) -> None:
        """The one place worker errors arrive: a modal, and the app keeps running."""
        if isinstance(error, WorkerFailed) and self.is_running:
            self.bell()
            self.show_error(error.error)
            return
        super()._handle_exception(error)

    # ------------------------------------------------------------ actions

    def action_help(self) -> None:
        if isinstance(self.screen, HelpModal):
            return
        keys: list[tuple[str, str]] = []
        seen: set[tuple[str, str]] = set()
        for active in self.screen.active_bindings.values():
            binding = active.binding
            ours = binding.action in _own_actions(type(active.node))
            row = (self.get_key_display(binding), binding.description)
            if ours and binding.description and not binding.system and row not in seen:
                seen.add(row)
                keys.append(row)
        keys.append(("ctrl+p", "Command palette: every action"))
        keys.append(("ctrl+q", "Quit"))
        self.push_screen(HelpModal(keys))

    async def action_quit(self) -> None:
        """Quit; a research still running stops at its next token (its steps stay in the session)."""
        self.service.cancel()
        await super().action_quit()

    def action_first_run(self) -> None:
        if not isinstance(self.screen, FirstRunScreen):
            self.push_screen(FirstRunScreen())

    async def run_command(self, command: PaletteCommand) -> None:
        """Run a palette command: show its screen, then run its action there."""
        if command.screen == "app":
            await self.run_action(command.action)
            return
        if command.screen == "first_run":
            if not isinstance(self.screen, FirstRunScreen):
                await self.push_screen(FirstRunScreen())
            await self.screen.run_action(command.action)
            return
        await self.switch_mode(command.screen)
        await self.screen_stack[0].run_action(command.action)
