"""Resuming an interrupted run in the app continues it as it was started, like
``deepresearch sessions resume``: its mode and limits come from the run, not from today's settings."""

from __future__ import annotations

import asyncio

from deepresearch_local.agent.events import RunStarted, ToolResulted
from deepresearch_local.config import Settings, save_settings
from deepresearch_local.engines.scripted import ScriptedEngine
from deepresearch_local.service.sessions import SessionService
from deepresearch_local.tui.commands import commands_for
from tests.agent.conftest import is_report_prompt, tool_call
from tests.agent.scripted_tools import registry
from tests.tui.app_support import make_app, research
from tests.tui.screens.host import until
from tests.tui.snapshot import SIZE

QUESTION = "What is the boiling point of water at sea level?"
FOLD_MARKER = "(round {n} of at most {limit})"
"""What every fold-mode prompt after the first round shows, folded or keeping earlier rounds
(``agent/prompts/fold_round.md``, ``fold_next.md``); react prompts never do."""


class Model:
    """Scripted fold turns; keeps every prompt it was shown."""

    def __init__(self) -> None:
        self.prompts: list[str] = []
        self.turns = [
            "<think>Look it up.</think>\n<report>- Nothing yet.</report>\n"
            + tool_call("search", query=["boiling point of water"]),
            "<think>Enough.</think>\n<report>- 100 C at sea level [1].</report>\n<answer>100 C.</answer>",
        ]

    def __call__(self, prompt: str) -> str:
        if is_report_prompt(prompt):
            return "- Water boils at 100 C at sea level [1]."
        self.prompts.append(prompt)
        assert self.turns, "the app asked the model more often than the script expected"
        return self.turns.pop(0)


def test_a_fold_run_resumed_after_the_settings_changed_to_react_continues_in_fold_mode() -> None:
    save_settings(Settings(mode="fold", max_steps=5))
    model = Model()
    engine = ScriptedEngine(respond=model, context_tokens=32768)
    # No agent config given: the service takes it from the settings, as the app does.
    service = SessionService(engine=engine, tools=lambda offline: registry(), offline=False)
    events = service.ask(QUESTION)
    started = next(events)
    assert isinstance(started, RunStarted) and started.mode == "fold"
    for event in events:  # the app (or the machine) stops right after the first tool result
        if isinstance(event, ToolResulted):
            break
    events.close()  # type: ignore[attr-defined]
    run = service.latest_run(started.session_id)
    assert run is not None and run.status == "running" and run.mode == "fold"

    save_settings(Settings(mode="react", max_steps=3))
    assert service.agent_config().mode == "react"  # a new question would now run in react mode
    resume = next(c for c in commands_for("research") if c.action == "resume_run")
    resumed: list[RunStarted] = []
    original_resume = service.resume

    def watched_resume(run_id: str, **options):  # type: ignore[no-untyped-def]
        for event in original_resume(run_id, **options):
            if isinstance(event, RunStarted):
                resumed.append(event)
            yield event

    service.resume = watched_resume  # type: ignore[method-assign]

    async def scenario() -> None:
        app = make_app(service)
        async with app.run_test(size=SIZE) as pilot:
            screen = research(app)
            app.call_later(screen.open_session, started.session_id)
            await until(pilot, lambda: screen.session_id == started.session_id, what="the session")
            await until(pilot, lambda: any("interrupted" in n.message for n in app._notifications))
            app.call_later(app.run_command, resume)
            await until(
                pilot,
                lambda: (
                    service.latest_run(started.session_id).status == "finished"  # type: ignore[union-attr]
                    and not screen.running
                ),
                what="the resumed run to finish",
            )

    asyncio.run(scenario())
    assert [(e.mode, e.resumed, e.max_steps) for e in resumed] == [("fold", True, 5)]
    assert len(model.prompts) == 2
    # The second round was prompted the fold way, with the run's own limit of 5 rounds.
    assert FOLD_MARKER.format(n=2, limit=5) in model.prompts[1]
    finished = service.latest_run(started.session_id)
    assert finished is not None and (finished.id, finished.answer) == (run.id, "100 C.")
