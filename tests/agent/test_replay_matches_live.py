"""A replayed run shows exactly what the live run showed, for every kind of step.

Each scenario runs the real loop with a scripted engine and the real store, then compares the
live event stream with ``session_replay.replay_run`` of the same run, ``RunStarted`` and
``RunFinished`` included. Left out of the comparison, as ``agent.step_events`` documents:
``TokenDelta`` and ``ContextUsage`` (live-only: the stream as it was generated; replay stands in
for them).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from deepresearch_local.agent.config import AgentConfig
from deepresearch_local.agent.events import (
    AgentEvent,
    Cancelled,
    ContextUsage,
    Notice,
    RunStarted,
    TokenDelta,
    ToolResulted,
)
from deepresearch_local.engines.scripted import ScriptedEngine
from deepresearch_local.library import Library
from deepresearch_local.session_replay import replay_run
from deepresearch_local.tools.base import ToolRegistry
from deepresearch_local.tools.local import local_tools
from tests.agent.conftest import ANSWER_TURN, Run, call_turn, fold_turn, run, scripted
from tests.agent.test_integrity import VISIT, resum_run

LIVE_ONLY = (TokenDelta, ContextUsage)


def shown(events: list[AgentEvent]) -> list[AgentEvent]:
    return [e for e in events if not isinstance(e, LIVE_ONLY)]


def assert_replay_matches(result: Run) -> None:
    live = shown(result.events)
    replayed = shown(replay_run(result.store, result.finished.run_id))
    assert isinstance(replayed[0], RunStarted) and replayed[0].budget_tokens > 0
    assert replayed == live


def react_tools_unusable_loop() -> Run:
    """React: a tool call and its result, an unusable reply, the same call repeated until the loop
    is forced to answer, the answer and the report."""
    same = call_turn("search", query=["boiling point"])
    engine = ScriptedEngine(respond=scripted(same, "I am not sure.", same, same, ANSWER_TURN))
    return run(engine, config=AgentConfig(mode="react"))


def fold_forced_paths() -> Run:
    """Fold: a call without its report asked again, unusable turns until an answer is forced."""
    first = fold_turn("- F1: three articles [https://example.test/boiling-point/1]", "search", query=["a"])
    junk = "Nothing to add."
    turns = [first, call_turn("search", query=["b"]), junk, junk, junk, ANSWER_TURN]
    engine = ScriptedEngine(respond=scripted(*turns))
    return run(engine, config=AgentConfig(mode="fold", unusable_retries=1, max_output_tokens=256))


def fold_call_limit() -> Run:
    turns = [fold_turn("- nothing yet", "search", query=["a"]), fold_turn("- a: 3", "search", query=["b"])]
    engine = ScriptedEngine(respond=scripted(*turns, ANSWER_TURN))
    return run(engine, config=AgentConfig(mode="fold", max_llm_calls=2))


def time_limit() -> Run:
    engine = ScriptedEngine(respond=scripted(ANSWER_TURN))
    return run(engine, config=AgentConfig(mode="react", max_minutes=0))


def resum_refused_then_used() -> Run:
    return resum_run(VISIT[0], "<think>Condense.</think>\n<summary>\n- rainfall at station-1\n</summary>")


def resum_forced() -> Run:
    cut = "<think>" + "Let me recall what the pages said. " * 5
    return resum_run(cut, "<think>Condense.</think>\n<summary>\n- station-1 rainfall")


def report_repeats() -> Run:
    """The report pass loops: it is stopped, and the report step carries the notice."""
    findings = "\n".join(["- Water boils at 100 C at sea level [1]."] * 40)
    engine = ScriptedEngine(
        respond=scripted(call_turn("search", query=["boiling"]), ANSWER_TURN, findings=findings)
    )
    return run(engine, config=AgentConfig(mode="react"))


def cancelled() -> Run:
    def cancel_after_result(event: AgentEvent, researcher: object) -> None:
        if isinstance(event, ToolResulted):
            researcher.cancel.cancel()  # type: ignore[attr-defined]

    engine = ScriptedEngine(respond=scripted(call_turn("search", query=["boiling"])))
    return run(engine, config=AgentConfig(mode="fold"), on_event=cancel_after_result)


@pytest.fixture
def library(tmp_path: Path) -> Iterator[Library]:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "kettle.md").write_text("# Kettles\n\nWater boils at 100 C at sea level.\n")
    with Library() as lib:
        lib.add(docs, "docs")
        yield lib


SCENARIOS: list[Callable[[], Run]] = [
    react_tools_unusable_loop,
    fold_forced_paths,
    fold_call_limit,
    time_limit,
    resum_refused_then_used,
    resum_forced,
    report_repeats,
    cancelled,
]


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.__name__ for s in SCENARIOS])
def test_a_replay_shows_what_the_live_run_showed(scenario: Callable[[], Run]) -> None:
    assert_replay_matches(scenario())


def test_a_seeded_library_run_replays_its_opening_search(library: Library) -> None:
    engine = ScriptedEngine(respond=scripted(ANSWER_TURN))
    tools = ToolRegistry(local_tools(library))
    result = run(engine, tools=tools, config=AgentConfig(mode="fold"), offline=True)
    assert result.kinds() == ["seed", "tool", "model", "report"]
    assert_replay_matches(result)


def test_the_scenarios_cover_every_step_kind_and_notice() -> None:
    results = [scenario() for scenario in SCENARIOS]
    kinds = {step.kind for r in results for step in r.steps}
    assert kinds == {"model", "tool", "notice", "forced", "summary", "report"}  # seed: the test above
    reasons = {s.data["reason"] for r in results for s in r.steps if s.kind in ("notice", "forced")}
    assert reasons == {"format", "report", "unusable", "loop", "max_llm_calls", "timeout", "context"}
    notices = {e.message.split(" (")[0].split(":")[0] for r in results for e in r.of(Notice)}
    assert {
        "Unusable reply",
        "The model repeated the same search call.",
        "The summary could not be used",
    } <= notices
    assert any("repeating itself in the report" in e.message for r in results for e in r.of(Notice))
    assert any(r.of(Cancelled) and r.finished.termination == "cancelled" for r in results)
