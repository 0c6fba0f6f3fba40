"""SVG snapshots of the research screen at 120x40 (``UPDATE_SNAPSHOTS=1`` rewrites them): empty,
showing a finished session, with the help open, and with an error modal."""

from __future__ import annotations

import asyncio

import pytest

from deepresearch_local.errors import ModelError
from deepresearch_local.service.sessions import SessionService
from deepresearch_local.tui.modals.error import ErrorModal
from tests.agent.conftest import ANSWER_TURN, call_turn
from tests.tui.app_support import Gate, make_app, make_service, research
from tests.tui.screens.host import until
from tests.tui.snapshot import SIZE, assert_snapshot

QUESTION = "What is the boiling point of water at sea level?"


@pytest.fixture(autouse=True)
def fixed_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    """The status bar's memory reading is the one live figure on screen: pin it."""
    monkeypatch.setattr("deepresearch_local.tui.widgets.research.status.process_rss", lambda: 512 << 20)


def _finished_session() -> tuple[SessionService, str]:
    service, _ = make_service(Gate(call_turn("search", query=["boiling point of water"]), ANSWER_TURN))
    events = list(service.ask(QUESTION))
    return service, events[0].session_id  # type: ignore[union-attr]


def test_snapshot_research_empty() -> None:
    async def scenario() -> None:
        service, _ = make_service(Gate())
        app = make_app(service)
        async with app.run_test(size=SIZE) as pilot:
            await assert_snapshot(pilot, "research_empty")

    asyncio.run(scenario())


def test_snapshot_research_with_a_finished_session() -> None:
    service, session = _finished_session()

    async def scenario() -> None:
        app = make_app(service)
        async with app.run_test(size=SIZE) as pilot:
            screen = research(app)
            app.call_later(screen.open_session, session)
            await until(pilot, lambda: screen.panes.report.markdown.startswith("# "), what="the report")
            screen.status.elapsed = 83.0  # stored runs keep their time; this one ran in a blink
            await assert_snapshot(pilot, "research_finished")

    asyncio.run(scenario())


def test_snapshot_help_over_research() -> None:
    async def scenario() -> None:
        service, _ = make_service(Gate())
        app = make_app(service)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("f1")
            await pilot.pause()
            await assert_snapshot(pilot, "help_modal")

    asyncio.run(scenario())


def test_snapshot_error_modal() -> None:
    async def scenario() -> None:
        service, _ = make_service(Gate())
        app = make_app(service)
        async with app.run_test(size=SIZE) as pilot:
            error = ModelError("No model at /models/missing.gguf: pass a .gguf file, or pick one on F3.")
            await app.push_screen(ErrorModal.for_exception(error))
            await assert_snapshot(pilot, "error_modal")

    asyncio.run(scenario())
