"""A run in the terminal app asks before it does what it would otherwise refuse.

The scripted model reads a file of the user's library, then visits a URL it composed itself (a
page on a real server on 127.0.0.1, the real ``visit`` tool): the app shows the question in a
modal while the run waits. "n" refuses (the model is told, nothing is requested), "y" lets the
request go, Esc in the question cancels the whole run.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from deepresearch_local.tools.base import ToolRegistry
from deepresearch_local.tools.fetch import Fetcher, FetchSettings, HostPacer
from deepresearch_local.tools.visit import VisitSettings, VisitTool
from deepresearch_local.tui.modals.permission import PermissionModal
from tests.agent.conftest import ANSWER_TURN, call_turn, is_report_prompt
from tests.tools.web_server import WebServer, web
from tests.tui.app_support import ask, finished, make_app, make_service, research
from tests.tui.screens.host import until
from tests.tui.snapshot import SIZE

__all__ = ["web"]

QUESTION = "What do my notes say about the tidal plant, and what does the web add?"
NOTES = "# Board notes\n\nThe tidal plant at Annapolis Royal closed in 2019 after a turbine failure.\n"


class Model:
    """Reads the notes, visits ``url`` (composed: no source showed it), then answers."""

    def __init__(self, notes: Path, url: str) -> None:
        self.turns = [
            call_turn("local_read", path=str(notes)),
            call_turn("visit", url=[url], goal="what the page says about tides"),
            ANSWER_TURN,
        ]
        self.prompts: list[str] = []

    def __call__(self, prompt: str) -> str:
        if "## Page content\n" in prompt:  # visit asks the model to quote the page
            page = prompt.split("## Page content\n", 1)[1].rsplit("\n\n## Goal", 1)[0]
            return json.dumps({"rational": "", "evidence": page[:400], "summary": "The page, quoted."})
        if is_report_prompt(prompt):
            return "- The notes say the plant closed in 2019 [1]."
        self.prompts.append(prompt)
        assert self.turns, "the app asked the model more often than the script expected"
        return self.turns.pop(0)


def notes_file(tmp_path: Path) -> Path:
    from deepresearch_local.library import Library

    folder = tmp_path / "notes"
    folder.mkdir()
    path = folder / "board-notes.md"
    path.write_text(NOTES, encoding="utf-8")
    with Library() as library:
        library.add(folder)
    return path


def tools() -> ToolRegistry:
    from deepresearch_local.tools.local import local_tools

    fetcher = Fetcher(
        FetchSettings(politeness_delay=0.0, read_timeout=10, total_timeout=30), pacer=HostPacer()
    )
    return ToolRegistry([VisitTool(VisitSettings(), fetcher=fetcher), *local_tools()])


def run_with_answer(web: WebServer, tmp_path: Path, key: str) -> tuple[Any, str, list[str]]:
    """Run the scripted research, answer the question with ``key``; returns the finished run,
    the question shown and the tool observations."""
    url = web.url("/article?from=notes")
    model = Model(notes_file(tmp_path), url)
    service, _ = make_service(model, tools=tools)
    shown: list[str] = []

    async def scenario() -> Any:
        app = make_app(service)
        async with app.run_test(size=SIZE) as pilot:
            screen = research(app)
            await ask(pilot, QUESTION)
            await until(pilot, lambda: isinstance(app.screen, PermissionModal), what="the question")
            modal = app.screen
            assert isinstance(modal, PermissionModal)
            shown.append(modal.question)
            assert web.hits == {}  # nothing requested while the question is open
            await pilot.press(key)
            await finished(pilot)
            assert not isinstance(app.screen, PermissionModal)
            return service.latest_run(screen.session_id or "")

    run = asyncio.run(scenario())
    assert run is not None
    observations = [
        str(s.data.get("observation", "")) for s in service.store.steps(run.id) if s.kind == "tool"
    ]
    assert url in shown[0]
    return run, shown[0], observations


def test_no_refuses_the_composed_url_and_tells_the_model(web: WebServer, tmp_path: Path) -> None:
    run, question, observations = run_with_answer(web, tmp_path, "n")
    assert question.startswith("The research agent wants to visit a URL it composed itself")
    assert web.hits == {}  # the page was never requested
    assert "[Privacy guard] This URL was not requested" in observations[1]
    assert "URLs composed by the model are refused" in observations[1]
    assert (run.status, run.termination) == ("finished", "answer")


def test_yes_lets_the_request_go(web: WebServer, tmp_path: Path) -> None:
    run, _, observations = run_with_answer(web, tmp_path, "y")
    assert web.hits == {"/article?from=notes": 1}
    assert "[Privacy guard]" not in observations[1]
    assert "tide" in observations[1].lower()
    assert (run.status, run.termination) == ("finished", "answer")


def test_esc_in_the_question_cancels_the_run(web: WebServer, tmp_path: Path) -> None:
    run, _, _ = run_with_answer(web, tmp_path, "escape")
    assert web.hits == {}
    assert (run.status, run.termination) == ("cancelled", "cancelled")


def test_a_cancelled_run_stops_waiting_for_the_answer(web: WebServer, tmp_path: Path) -> None:
    """The palette's "Cancel the run" cancels the run's token while the question is open: the
    waiting tool gets a no, the question closes, and the run ends cancelled."""
    model = Model(notes_file(tmp_path), web.url("/article?from=notes"))
    service, _ = make_service(model, tools=tools)

    async def scenario() -> Any:
        app = make_app(service)
        async with app.run_test(size=SIZE) as pilot:
            screen = research(app)
            await ask(pilot, QUESTION)
            await until(pilot, lambda: isinstance(app.screen, PermissionModal), what="the question")
            service.cancel()  # what the palette's command does, without going through the modal
            await until(
                pilot, lambda: not isinstance(app.screen, PermissionModal), what="the question to close"
            )
            await finished(pilot)
            return service.latest_run(screen.session_id or "")

    run = asyncio.run(scenario())
    assert run is not None and (run.status, run.termination) == ("cancelled", "cancelled")
    assert web.hits == {}


CODE = "print(6 * 7)"
PYTHON_TURN = (
    "<think>Compute it.</think>\n<tool_call>\n"
    '{"name": "PythonInterpreter", "arguments": {}}\n<code>\n' + CODE + "\n</code>\n</tool_call>"
)


@pytest.mark.parametrize(("key", "observation"), [("y", "stdout:\n42\n"), ("n", "The code was not run")])
def test_python_without_an_os_sandbox_runs_only_after_a_yes(
    monkeypatch: pytest.MonkeyPatch, key: str, observation: str
) -> None:
    """Where no kernel sandbox holds (Windows here, by substitution), the code is shown and run
    only when the user says yes; a no tells the model the code was not run."""
    from deepresearch_local.tools import python_sandbox
    from deepresearch_local.tools.python_sandbox import PythonInterpreter
    from deepresearch_local.tools.sandbox.isolation import Isolation

    monkeypatch.setattr(python_sandbox, "expected", lambda: Isolation("Windows", False, {}))
    turns = [PYTHON_TURN, ANSWER_TURN]
    service, _ = make_service(
        lambda prompt: "- 42 [1]." if is_report_prompt(prompt) else turns.pop(0),
        tools=lambda: ToolRegistry([PythonInterpreter()]),
    )
    shown: list[str] = []

    async def scenario() -> Any:
        app = make_app(service)
        async with app.run_test(size=SIZE) as pilot:
            screen = research(app)
            await ask(pilot, "What is six times seven?")
            await until(pilot, lambda: isinstance(app.screen, PermissionModal), what="the question")
            shown.append(app.screen.question)  # type: ignore[attr-defined]
            await pilot.press(key)
            await finished(pilot)
            return service.latest_run(screen.session_id or "")

    run = asyncio.run(scenario())
    assert run is not None and (run.status, run.termination) == ("finished", "answer")
    assert "Windows" in shown[0] and CODE in shown[0]
    steps = [s for s in service.store.steps(run.id) if s.kind == "tool"]
    assert observation in str(steps[0].data.get("observation"))
