"""The app shell: screens as modes, first-run setup, F1 help, the command palette reaching every
action, themes, and worker errors turned into error modals."""

from __future__ import annotations

import asyncio
import inspect
from pathlib import Path

import pytest
from textual.command import CommandPalette
from textual.widgets import OptionList

from deepresearch_local.config import Settings, save_settings
from deepresearch_local.errors import ConfigError
from deepresearch_local.service.sessions import SessionService
from deepresearch_local.tui.app import DeepResearchApp
from deepresearch_local.tui.commands import all_commands, commands_for
from deepresearch_local.tui.modals.error import ErrorModal
from deepresearch_local.tui.modals.help import HelpModal
from deepresearch_local.tui.screens.first_run import FirstRunScreen
from deepresearch_local.tui.screens.library import LibraryScreen
from deepresearch_local.tui.screens.models import ModelsScreen
from deepresearch_local.tui.screens.research import ResearchScreen
from deepresearch_local.tui.screens.settings import SettingsScreen
from tests.support.tiny_moe import TinyModel
from tests.tui.app_support import Gate, make_service, research
from tests.tui.screens.host import in_hf_cache, until
from tests.tui.snapshot import SIZE


def _first_match(app: DeepResearchApp, text: str) -> bool:
    """The palette's results for the whole query are in: ``text`` is the highlighted one."""
    from textual.command import CommandList

    if not isinstance(app.screen, CommandPalette):
        return False
    results = app.screen.query_one(CommandList)
    if results.highlighted is None:
        return False
    return text in str(results.get_option_at_index(results.highlighted).prompt).lower()


def _app(first_run: bool | None = False) -> DeepResearchApp:
    service, _ = make_service(Gate())
    app = DeepResearchApp(service, first_run=first_run)
    app.theme = "textual-dark"
    return app


def test_function_keys_switch_screens() -> None:
    async def scenario() -> None:
        app = _app()
        async with app.run_test(size=SIZE) as pilot:
            assert isinstance(app.screen, ResearchScreen)
            for key, kind in (("f3", ModelsScreen), ("f4", LibraryScreen), ("f5", SettingsScreen)):
                await pilot.press(key)
                await until(pilot, lambda kind=kind: isinstance(app.screen, kind), what=kind.__name__)
            await pilot.press("f2")
            await until(pilot, lambda: isinstance(app.screen, ResearchScreen), what="research")
            assert app.current_mode == "research"

    asyncio.run(scenario())


def test_first_run_opens_when_nothing_is_set_up_and_reopens_from_the_palette() -> None:
    async def scenario(expect_setup: bool) -> None:
        app = _app(first_run=None)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            assert isinstance(app.screen, FirstRunScreen) == expect_setup
            if not expect_setup:
                command = next(c for c in commands_for("app") if c.action == "first_run")
                app.call_later(app.run_command, command)
                await until(pilot, lambda: isinstance(app.screen, FirstRunScreen), what="the setup")

    asyncio.run(scenario(expect_setup=True))  # a fresh home: no settings file, no model
    save_settings(Settings(offline=True))
    asyncio.run(scenario(expect_setup=False))


def test_f1_lists_the_keys_of_the_screen() -> None:
    async def scenario() -> None:
        app = _app()
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("f1")
            await until(pilot, lambda: isinstance(app.screen, HelpModal), what="the help")
            keys = dict((description, key) for key, description in app.screen.keys)  # type: ignore[attr-defined]
            assert keys["New session"] == "^n" and keys["Export"] == "^s" and keys["Copy"] == "^t"
            assert keys["Help"] == "f1" and keys["Command palette: every action"] == "ctrl+p"
            assert "Cancel run" not in keys  # only offered while a run is going on
            await pilot.press("escape")
            await until(pilot, lambda: isinstance(app.screen, ResearchScreen), what="the help to close")

    asyncio.run(scenario())


def test_every_palette_command_names_a_real_action_and_every_key_has_a_command() -> None:
    targets = {
        "app": DeepResearchApp,
        "research": ResearchScreen,
        "models": ModelsScreen,
        "library": LibraryScreen,
        "settings": SettingsScreen,
        "first_run": FirstRunScreen,
    }
    for command in all_commands():
        name = command.action.split("(")[0]
        assert callable(getattr(targets[command.screen], f"action_{name}", None)), command
    research_actions = {c.action for c in commands_for("research")}
    for binding in ResearchScreen.BINDINGS:
        assert binding.action in research_actions, binding  # type: ignore[union-attr]
    modes = {c.action for c in commands_for("app")}
    assert {f"switch_mode('{m}')" for m in DeepResearchApp.MODES} <= modes


def test_the_palette_runs_a_command_on_its_screen() -> None:
    async def scenario() -> None:
        app = _app()
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("f4")
            await until(pilot, lambda: isinstance(app.screen, LibraryScreen), what="the library")
            await pilot.press("ctrl+p")
            await until(pilot, lambda: isinstance(app.screen, CommandPalette), what="the palette")
            await pilot.press(*"export the whole session")
            await until(pilot, lambda: _first_match(app, "export the whole session"), what="the match")
            await pilot.press("enter")
            # It went back to the research screen and ran the action there.
            await until(pilot, lambda: isinstance(app.screen, ResearchScreen), what="the research screen")
            await until(pilot, lambda: any(n.message == "Open a session first." for n in app._notifications))

    asyncio.run(scenario())


def test_the_theme_changes_from_the_palette() -> None:
    async def scenario() -> None:
        app = _app()
        async with app.run_test(size=SIZE) as pilot:
            assert app.theme == "textual-dark"
            command = next(c for c in commands_for("app") if c.action == "change_theme")
            app.call_later(app.run_command, command)
            await until(pilot, lambda: isinstance(app.screen, CommandPalette), what="the theme picker")
            await pilot.press(*"nord")
            await until(pilot, lambda: _first_match(app, "nord"), what="the nord theme listed")
            await pilot.press("enter")
            await until(pilot, lambda: app.theme == "nord", what="the nord theme")

    asyncio.run(scenario())


def test_worker_errors_become_error_modals_and_the_app_keeps_running() -> None:
    def fails_with_our_error() -> None:
        raise ConfigError("The settings file is broken: fix it or delete it.")

    def fails_with_a_bug() -> None:
        raise ZeroDivisionError("division by zero")

    async def scenario() -> None:
        app = _app()
        async with app.run_test(size=SIZE) as pilot:
            screen = research(app)
            screen.run_worker(fails_with_our_error, thread=True)
            await until(pilot, lambda: isinstance(app.screen, ErrorModal), what="the first modal")
            modal = app.screen
            assert isinstance(modal, ErrorModal)
            assert (modal.error_title, modal.message) == (
                "Configuration problem",
                "The settings file is broken: fix it or delete it.",
            )
            assert modal.details == "" and not modal.query("#error-details")
            await pilot.press("escape")
            await until(pilot, lambda: app.screen is screen, what="the modal to close")
            screen.run_worker(fails_with_a_bug, thread=True)
            await until(
                pilot,
                lambda: isinstance(app.screen, ErrorModal) and bool(app.screen.query("#error-details")),
                what="the second modal, composed",
            )
            bug = app.screen
            assert isinstance(bug, ErrorModal) and bug.error_title == "Unexpected error"
            assert bug.message.startswith("ZeroDivisionError: division by zero\n\nThis is a bug")
            assert "fails_with_a_bug" in bug.details and bug.query("#error-details")
            await pilot.press("c")
            await until(pilot, lambda: app.clipboard != "", what="the copy")
            assert app.clipboard.startswith("Unexpected error\n\nZeroDivisionError")
            assert app.is_running and app.return_code is None

    asyncio.run(scenario())


def test_the_app_is_thin() -> None:
    """The App only wires screens together: no research logic lives in it."""
    source = inspect.getsource(DeepResearchApp)
    assert len(source.splitlines()) < 120
    for word in ("Researcher", "SessionStore", "Library(", "load_settings"):
        assert word not in source


def test_the_research_screen_names_the_model_chosen_in_first_run_setup(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tiny_moe: TinyModel
) -> None:
    """The status bar was drawn before the setup imported a model; back on screen it names it."""
    in_hf_cache(tiny_moe.gguf_path, tmp_path, monkeypatch)

    async def scenario() -> None:
        app = DeepResearchApp(SessionService())
        async with app.run_test(size=SIZE) as pilot:
            await until(pilot, lambda: isinstance(app.screen, FirstRunScreen), what="first-run setup")
            research_screen = app.screen_stack[0]
            assert isinstance(research_screen, ResearchScreen)
            assert research_screen.status.model == "no model yet (F3: Models)"
            setup = app.screen
            assert isinstance(setup, FirstRunScreen)
            await until(pilot, lambda: setup.rec is not None, what="the hardware summary")
            await pilot.press("i")
            found = setup.query_one("#import-found", OptionList)
            await until(pilot, lambda: found.option_count == 1, what="the scan")
            await pilot.press("enter")
            await until(pilot, lambda: setup.step == "docs-step", what="the import")
            await pilot.press("enter")
            await until(pilot, lambda: setup.step == "ready-step", what="the ready step")
            await pilot.click("#finish")
            await until(pilot, lambda: app.screen is research_screen, what="the research screen")
            await pilot.pause()
            status = research_screen.status
            assert (status.backend, status.model) == ("llama.cpp", "tiny-Q4_K_M.gguf")

    asyncio.run(scenario())
