"""The small modals on their own: what each one's ``dismiss`` hands back."""

from __future__ import annotations

import asyncio
from typing import Any

from textual.app import App
from textual.screen import Screen
from textual.widgets import Input

from deepresearch_local.tui.modals.confirm import ConfirmModal
from deepresearch_local.tui.modals.help import HelpModal, help_text
from deepresearch_local.tui.modals.prompt import PromptModal


def _answers(make: type[Screen[Any]] | Any, *keys: str, args: tuple[Any, ...] = ()) -> list[Any]:
    got: list[Any] = []

    async def scenario() -> None:
        app: App[None] = App()
        async with app.run_test() as pilot:
            app.push_screen(make(*args), got.append)
            await pilot.pause()
            for key in keys:
                await pilot.press(key)
            await pilot.pause()

    asyncio.run(scenario())
    return got


def test_confirm_answers_yes_and_no() -> None:
    question = ("Delete", "Delete 'x'?", "Delete")
    assert _answers(ConfirmModal, "y", args=question) == [True]
    assert _answers(ConfirmModal, "n", args=question) == [False]
    assert _answers(ConfirmModal, "escape", args=question) == [False]
    assert _answers(ConfirmModal, "enter", args=question) == [False]  # the focused button is Cancel


def test_prompt_returns_the_text_or_none() -> None:
    assert _answers(PromptModal, "end", "!", "enter", args=("Rename", "Old title")) == ["Old title!"]
    assert _answers(PromptModal, "escape", args=("Rename", "Old title")) == [None]
    assert _answers(PromptModal, "ctrl+u", "enter", args=("Rename", "x")) == [None]  # blank is no answer


def test_help_shows_the_keys_it_is_given_and_the_guide() -> None:
    async def scenario() -> None:
        app: App[None] = App()
        async with app.run_test() as pilot:
            await app.push_screen(HelpModal([("^n", "New session")]))
            await pilot.pause()
            table = app.screen.query_one("#help-keys").content  # type: ignore[attr-defined]
            assert [cell for column in table.columns for cell in column._cells] == ["^n", "New session"]
            assert not app.screen.query(Input)

    asyncio.run(scenario())
    guide = help_text()
    assert guide.startswith("# deepresearch: keys and help") and "Ctrl+J" in guide and "Esc" in guide
