"""The real app around a scripted model: the real session store and library under the per-test home.

``Gate`` holds the scripted model at a chosen reply until the test lets it go, so a test can look
at (and press keys in) the app while a research is running.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from textual.pilot import Pilot

from deepresearch_local.agent.config import AgentConfig
from deepresearch_local.engines.scripted import ScriptedEngine
from deepresearch_local.service.sessions import SessionService
from deepresearch_local.tools.base import ToolRegistry
from deepresearch_local.tui.app import DeepResearchApp
from deepresearch_local.tui.screens.research import ResearchScreen
from tests.agent.conftest import is_report_prompt
from tests.agent.scripted_tools import registry
from tests.tui.screens.host import until

FINDINGS = "- The article explains the boiling point of water [1]."


class Gate:
    """A ``respond`` for ScriptedEngine: replies in order, the report pass gets ``findings``;
    the reply numbered ``hold_at`` (0-based) waits until ``release()``."""

    def __init__(self, *turns: str, hold_at: int | None = None, findings: str = FINDINGS) -> None:
        self.turns = list(turns)
        self.hold_at = hold_at
        self.findings = findings
        self.calls = 0
        self.waiting = threading.Event()
        self.released = threading.Event()

    def __call__(self, prompt: str) -> str:
        if is_report_prompt(prompt):
            return self.findings
        index = self.calls
        self.calls += 1
        if index == self.hold_at:
            self.waiting.set()
            if not self.released.wait(30):
                raise TimeoutError("the test never released the scripted model")
        assert index < len(self.turns), "the app asked the model more often than the script expected"
        return self.turns[index]

    def release(self) -> None:
        self.released.set()


def make_service(
    respond: Callable[[str], str],
    *,
    tools: Callable[[], ToolRegistry] = registry,
    mode: str = "react",
    delay: float = 0.0,
    max_steps: int = 5,
) -> tuple[SessionService, ScriptedEngine]:
    engine = ScriptedEngine(respond=respond, delay=delay, context_tokens=32768)
    config = AgentConfig(mode=mode, max_llm_calls=max_steps)  # type: ignore[arg-type]
    service = SessionService(engine=engine, tools=lambda offline: tools(), config=config, offline=False)
    return service, engine


def make_app(service: SessionService) -> DeepResearchApp:
    app = DeepResearchApp(service, first_run=False)
    app.theme = "textual-dark"
    return app


def research(app: DeepResearchApp) -> ResearchScreen:
    screen = app.screen_stack[0] if app.current_mode == "research" else None
    assert isinstance(screen, ResearchScreen), app.screen_stack
    return screen


async def ask(pilot: Pilot[Any], question: str) -> None:
    """Type ``question`` into the question box and press Enter."""
    screen = research(pilot.app)  # type: ignore[arg-type]
    screen.question.focus()
    screen.question.text = question
    await pilot.press("enter")
    await until(pilot, lambda: screen.question.text == "", what="the question to be taken")


async def finished(pilot: Pilot[Any], timeout: float = 120.0) -> None:
    screen = research(pilot.app)  # type: ignore[arg-type]
    await until(pilot, lambda: not screen.running, timeout, "the run to finish")
    await pilot.pause()


def texts(screen: ResearchScreen, selector: str) -> list[str]:
    """The plain text of the widgets matching ``selector`` on the research screen."""
    from textual.widgets import Static

    return [str(w.content) for w in screen.query(selector) if isinstance(w, Static)]
