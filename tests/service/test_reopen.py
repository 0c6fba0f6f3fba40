"""A stored run reopens exactly as it was started, in the CLI and in the app alike: its engine, its
mode and limits, its offline flag and its permissions, whatever the settings say by then.

Runs are interrupted the way a killed process leaves them (status "running", steps kept), then the
settings switch to react mode, fewer steps, online and nothing allowed. The scripted model answers
by fold round (``select: round``): only a run that really continues in fold mode gets its answer.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from deepresearch_local.agent.events import AgentEvent, RunFinished, RunStarted, ToolResulted
from deepresearch_local.cli import resume_cmd
from deepresearch_local.cli.main import build_parser, main
from deepresearch_local.cli.research import request_from_args, start_run
from deepresearch_local.config import Settings, load_settings, save_settings
from deepresearch_local.engines.scripted import ScriptedEngine
from deepresearch_local.service import sessions
from deepresearch_local.service.build import make_researcher, prepare_run
from deepresearch_local.service.meta import RunMeta
from deepresearch_local.service.sessions import SessionService
from deepresearch_local.store.sessions import SessionStore
from deepresearch_local.tools.base import ToolContext, ToolRegistry, ToolResult
from tests.agent.conftest import fold_turn, is_report_prompt

QUESTION = "Where is the blue box?"
STARTED = Settings(
    mode="fold", max_steps=5, offline=True, allow_composed_urls=True, allow_unisolated_python=True
)
CHANGED = Settings(mode="react", max_steps=3)
FOLD_ANSWER = "<think>Found it.</think>\n<report>- Shelf 14 [1].</report>\n<answer>Shelf 14.</answer>"
FIRST_TURN = fold_turn("- Nothing yet.", "local_search", query=["blue box"])
SECOND_TURN = fold_turn("- A note mentions a shelf [1].", "local_search", query=["shelf 14"])
Seen = tuple[str, int, bool, bool, bool]
"""(mode, max steps, offline, allow_composed_urls, allow_unisolated_python) of a resumed run."""


def _script(tmp_path: Path) -> Path:
    path = tmp_path / "script.json"
    script = {"replies": [FIRST_TURN, SECOND_TURN, FOLD_ANSWER], "select": "round"}
    path.write_text(json.dumps(script), "utf-8")
    return path


def _docs(tmp_path: Path) -> Path:
    docs = tmp_path / "docs"
    docs.mkdir(exist_ok=True)
    (docs / "notes.md").write_text("# Notes\n\nThe blue box is on shelf 14.\n", "utf-8")
    return docs


def _interrupt(events: Iterator[AgentEvent]) -> RunStarted:
    """Run until the first tool result, then drop the run as a killed process would."""
    started = next(events)
    assert isinstance(started, RunStarted) and started.mode == "fold"
    for event in events:
        if isinstance(event, ToolResulted):
            break
    events.close()  # type: ignore[attr-defined]
    return started


def _cli_run(tmp_path: Path) -> RunStarted:
    """A run started the way ``deepresearch ask`` starts it, interrupted after its first tool result."""
    save_settings(STARTED)
    argv = ["ask", QUESTION, "--scripted", str(_script(tmp_path)), "--docs", str(_docs(tmp_path)), "--json"]
    run = prepare_run(load_settings(), request_from_args(build_parser().parse_args(argv)))
    researcher = start_run(run, quiet=True)
    started = _interrupt(researcher.ask(QUESTION))
    researcher.store.close()
    save_settings(CHANGED)
    return started


def _seen(researcher: Any) -> Seen:
    context = researcher.context
    config = researcher.config
    return (config.mode, config.max_llm_calls, researcher.offline, context.allow_composed_urls,
            context.allow_unisolated_python)  # fmt: skip


def _stored(run_id: str) -> RunMeta:
    with SessionStore() as store:
        return RunMeta.from_dict(store.run(run_id).config["meta"])


def test_a_cli_fold_run_resumes_in_the_cli_as_it_was_started(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    started = _cli_run(tmp_path)
    meta = _stored(started.run_id)
    assert meta.permissions.allow_composed_urls and meta.permissions.allow_unisolated_python
    assert meta.engine.scripted == str(tmp_path / "script.json") and meta.docs == (str(_docs(tmp_path)),)
    seen: list[Seen] = []

    def watched(run: Any, quiet: bool) -> Any:
        researcher = start_run(run, quiet)
        seen.append(_seen(researcher))
        return researcher

    monkeypatch.setattr(resume_cmd, "start_run", watched)
    capsys.readouterr()
    assert main(["sessions", "resume", started.session_id, "--json"]) == 0
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert seen == [("fold", 5, True, True, True)]
    first, last = events[0], events[-1]
    assert (first["type"], first["mode"], first["resumed"]) == ("run_started", "fold", True)
    assert first["max_steps"] == 5
    assert (last["run_id"], last["answer"]) == (started.run_id, "Shelf 14.")


def test_a_cli_fold_run_resumes_in_the_app_as_it_was_started(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The app reopens the run's own engine (here the scripted file ``ask`` was given)."""
    started = _cli_run(tmp_path)
    seen: list[Seen] = []
    real = make_researcher

    def watched(*args: Any) -> Any:
        researcher = real(*args)
        seen.append(_seen(researcher))
        return researcher

    monkeypatch.setattr(sessions, "make_researcher", watched)
    service = SessionService()
    try:
        assert service.agent_config().mode == "react"  # a new question would run in react mode
        events = list(service.resume(started.run_id))
    finally:
        service.close()
    assert seen == [("fold", 5, True, True, True)]
    first, last = events[0], events[-1]
    assert isinstance(first, RunStarted) and (first.mode, first.resumed, first.max_steps) == ("fold", True, 5)
    assert isinstance(last, RunFinished) and last.answer == "Shelf 14."


class Recorder:
    """A library search that records what its context allowed at each call."""

    name = "local_search"
    description = "Search the local library."
    parameters: Mapping[str, Any] = {
        "type": "object",
        "properties": {"query": {"type": "array", "items": {"type": "string"}}},
        "required": ["query"],
    }
    needs_network = False

    def __init__(self) -> None:
        self.contexts: list[tuple[bool, bool, bool]] = []

    def call(self, arguments: Mapping[str, Any], context: ToolContext) -> ToolResult:
        self.contexts.append((context.offline, context.allow_composed_urls, context.allow_unisolated_python))
        return ToolResult("1. notes.md, lines 1-3: The blue box is on shelf 14.")


def _fold_model(prompts: list[str]) -> Callable[[str], str]:
    def respond(prompt: str) -> str:
        if is_report_prompt(prompt):
            return "- The blue box is on shelf 14 [1]."
        prompts.append(prompt)
        if "(round 3 of at most" in prompt:
            return FOLD_ANSWER
        return SECOND_TURN if "(round 2 of at most" in prompt else FIRST_TURN

    return respond


def test_an_app_fold_run_resumes_in_the_app_with_its_mode_offline_flag_and_permissions() -> None:
    save_settings(STARTED)
    prompts: list[str] = []
    recorder = Recorder()
    engine = ScriptedEngine(respond=_fold_model(prompts), context_tokens=32768)
    # Nothing but the engine and the tools given: config, offline and permissions come from the settings.
    service = SessionService(engine=engine, tools=lambda offline: ToolRegistry([recorder]))
    try:
        started = _interrupt(service.ask(QUESTION))
        called = len(recorder.contexts)
        assert called and set(recorder.contexts) == {(True, True, True)}
        save_settings(CHANGED)
        # A new question would now run online, in react mode, with 3 steps.
        assert service.offline() is False and service.agent_config() == service.prepare().config
        assert (service.agent_config().mode, service.agent_config().max_llm_calls) == ("react", 3)
        events = list(service.resume(started.run_id))
    finally:
        service.close()
    first, last = events[0], events[-1]
    assert isinstance(first, RunStarted) and (first.mode, first.resumed, first.max_steps) == ("fold", True, 5)
    assert isinstance(last, RunFinished) and last.answer == "Shelf 14."
    # The resumed run's own calls ran offline, with the run's permissions.
    assert len(recorder.contexts) > called and set(recorder.contexts) == {(True, True, True)}
    assert "(round 3 of at most 5)" in prompts[-1]


def test_an_app_run_resumes_in_the_cli_on_the_engine_given_there(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Engine flags given to ``sessions resume`` win; the rest is the run's own."""
    save_settings(STARTED)
    recorder = Recorder()
    engine = ScriptedEngine(respond=_fold_model([]), context_tokens=32768)
    service = SessionService(engine=engine, tools=lambda offline: ToolRegistry([recorder]))
    try:
        started = _interrupt(service.ask(QUESTION))
    finally:
        service.close()
    save_settings(CHANGED)
    seen: list[Seen] = []

    def watched(run: Any, quiet: bool) -> Any:
        researcher = start_run(run, quiet)
        seen.append(_seen(researcher))
        return researcher

    monkeypatch.setattr(resume_cmd, "start_run", watched)
    capsys.readouterr()
    argv = ["sessions", "resume", started.session_id, "--scripted", str(_script(tmp_path)), "--json"]
    assert main(argv) == 0
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert seen == [("fold", 5, True, True, True)]
    assert (events[0]["mode"], events[-1]["answer"]) == ("fold", "Shelf 14.")
