"""React mode's limits: ReSum restarts, the forced final answer, the call and time limits, loop
detection, and cancellation from another thread."""

from __future__ import annotations

import re
import threading
import types
from collections.abc import Callable

import pytest

from deepresearch_local.agent import prompts
from deepresearch_local.agent import state as state_module
from deepresearch_local.agent.config import AgentConfig
from deepresearch_local.agent.events import (
    AgentEvent,
    Cancelled,
    ErrorEvent,
    Notice,
    RunFinished,
    StepStarted,
    TokenDelta,
)
from deepresearch_local.agent.runner import Researcher
from deepresearch_local.engines.scripted import ScriptedEngine
from tests.agent.conftest import ANSWER, ANSWER_TURN, QUESTION, call_turn, check_events, run, scripted
from tests.agent.scripted_tools import registry

BUDGET = 5000  # two 600-word pages fit; a third prompt passes 90 % of it
SUMMARY = "- station-1 and station-2 were read; both list rainfall measurements."
SUMMARY_TURN = f"<think>Condense.</think>\n<summary>\n{SUMMARY}\n</summary>"


def visit(n: int) -> str:
    return call_turn("visit", url=[f"https://example.test/station-{n}"], goal="rainfall")


def search(query: str) -> str:
    return call_turn("search", query=[query])


def last_user_turn(prompt: str) -> str:
    return prompt.rsplit("<|im_start|>user\n", 1)[1].split("<|im_end|>", 1)[0]


def react(budget: int = BUDGET, **changes: object) -> AgentConfig:
    return AgentConfig(mode="react", budget_tokens=budget, **changes)  # type: ignore[arg-type]


# ---------------------------------------------------------------- ReSum


def test_resum_summarizes_and_restarts_from_the_summary() -> None:
    engine = ScriptedEngine(respond=scripted(visit(1), visit(2), SUMMARY_TURN, ANSWER_TURN))
    tools = registry(visit_words=600)
    result = run(engine, tools=tools, config=react())
    assert result.kinds() == ["model", "tool", "model", "tool", "summary", "model", "report"]
    assert result.finished.termination == "answer"
    summary_step = result.steps[4]
    assert summary_step.data["summary"] == SUMMARY
    # The summary request is the whole history plus the ReSum instruction.
    asked = engine.requests[2].prompt
    assert "station-1 for the goal" in asked and "station-2 for the goal" in asked
    assert last_user_turn(asked).endswith(prompts.load("resum"))
    # The next prompt is exactly system + one user turn with the question and the summary.
    researcher = result.researcher
    expected = engine.render(
        [
            {"role": "system", "content": researcher.system_message()},
            {"role": "user", "content": prompts.render("resum_restart", question=QUESTION, summary=SUMMARY)},
        ]
    )
    # Upstream's system message: the tools block inside it, the date last.
    system = expected.split("<|im_end|>", 1)[0]
    assert system.endswith("</tool_call>\n\nCurrent date: 2025-03-14")
    assert '{"type": "function", "function": {"name": "visit"' in system
    assert engine.requests[3].prompt == expected
    notices = [n.message for n in result.of(Notice)]
    used = summary_step.data["prompt_tokens"]
    assert any(
        re.fullmatch(rf"Context nearly full \(\d+/{BUDGET}\): summarizing and restarting\.", m)
        for m in notices
    )
    assert engine.requests[2].prompt_tokens == used > BUDGET * 0.9
    # Every model call is counted, the summary included.
    assert result.finished.llm_calls == len(engine.requests) == 5
    assert result.finished.max_prompt_tokens == max(r.prompt_tokens for r in engine.requests)


def test_a_summary_that_does_not_make_room_forces_the_answer() -> None:
    huge = "<summary>\n" + "".join(f"fact{i} " for i in range(1750)) + "\n</summary>"
    engine = ScriptedEngine(respond=scripted(visit(1), visit(2), huge, ANSWER_TURN))
    result = run(engine, tools=registry(visit_words=600), config=react())
    assert result.kinds() == ["model", "tool", "model", "tool", "summary", "forced", "model", "report"]
    assert result.finished.termination == "forced_answer"
    assert result.steps[5].data["reason"] == "context"
    final = engine.requests[3].prompt
    assert prompts.render("forced_answer", reason="the memory available for this research") in final
    assert BUDGET * 0.9 < engine.requests[3].prompt_tokens <= BUDGET


def test_a_summary_too_large_for_the_budget_ends_with_context_exhausted() -> None:
    huge = "<summary>\n" + "".join(f"fact{i} " for i in range(2500)) + "\n</summary>"
    engine = ScriptedEngine(respond=scripted(visit(1), visit(2), huge))
    result = run(engine, tools=registry(visit_words=600), config=react())
    assert result.finished.termination == "context_exhausted"
    assert result.finished.answer is None
    errors = result.of(ErrorEvent)
    assert len(errors) == 1 and f"but the budget is {BUDGET}. Allocate a larger context" in errors[0].message
    assert result.kinds() == ["model", "tool", "model", "tool", "summary", "forced"]
    assert len(engine.requests) == 3  # the over-budget prompt never reached the engine
    assert result.store.run(result.finished.run_id).status == "finished"


# ---------------------------------------------------------------- forced answer near the budget


def test_force_answer_option_answers_when_told() -> None:
    engine = ScriptedEngine(respond=scripted(visit(1), visit(2), ANSWER_TURN))
    result = run(engine, tools=registry(visit_words=600), config=react(near_budget="force_answer"))
    assert result.kinds() == ["model", "tool", "model", "tool", "forced", "model", "report"]
    assert result.finished.termination == "forced_answer"
    assert result.finished.answer == ANSWER
    last = last_user_turn(engine.requests[2].prompt)
    assert last.endswith(prompts.render("forced_answer", reason="the memory available for this research"))
    assert last.startswith("<tool_response>\nThe useful information in https://example.test/station-2")
    assert "summary" not in result.kinds()


def test_force_answer_option_without_an_answer_ends_with_context_exhausted() -> None:
    tools = registry(visit_words=600)
    engine = ScriptedEngine(respond=scripted(visit(1), visit(2), visit(3)))
    result = run(engine, tools=tools, config=react(near_budget="force_answer"))
    assert result.finished.termination == "context_exhausted"
    assert result.finished.answer is None
    assert result.kinds() == ["model", "tool", "model", "tool", "forced", "model"]
    assert len(tools.get("visit").calls) == 2  # type: ignore[union-attr]  # the forced turn's call never runs


# ---------------------------------------------------------------- call and time limits


@pytest.mark.parametrize(
    ("final", "termination"), [(ANSWER_TURN, "forced_answer"), (search("d"), "max_llm_calls")]
)
def test_call_limit_forces_one_final_call(final: str, termination: str) -> None:
    engine = ScriptedEngine(respond=scripted(search("a"), search("b"), search("c"), final))
    result = run(engine, config=react(budget=20000, max_llm_calls=3))
    assert result.finished.termination == termination
    forced = [s for s in result.steps if s.kind == "forced"]
    assert [s.data["reason"] for s in forced] == ["max_llm_calls"]
    assert last_user_turn(engine.requests[3].prompt).endswith(
        prompts.render("forced_answer", reason="the maximum number of model calls")
    )
    assert "Limit reached (the maximum number of model calls): asking for a final answer." in [
        n.message for n in result.of(Notice)
    ]
    model_steps = [s for s in result.steps if s.kind == "model"]
    assert [s.data["forced"] for s in model_steps] == [False, False, False, True]
    research_calls = 4  # three turns and the forced final call
    assert result.finished.llm_calls == research_calls + (1 if termination == "forced_answer" else 0)
    assert result.finished.answer == (ANSWER if termination == "forced_answer" else None)
    assert result.store.run(result.finished.run_id).termination == termination


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now


@pytest.mark.parametrize(("final", "termination"), [(ANSWER_TURN, "forced_answer"), (search("z"), "timeout")])
def test_time_limit_forces_one_final_call(
    monkeypatch: pytest.MonkeyPatch, final: str, termination: str
) -> None:
    clock = Clock()
    monkeypatch.setattr(state_module, "time", types.SimpleNamespace(monotonic=clock.monotonic))
    script = scripted(search("a"), search("b"), search("c"), final)

    def respond(prompt: str) -> str:
        clock.now += 50  # every model call takes 50 s
        return script(prompt)

    engine = ScriptedEngine(respond=respond)
    result = run(engine, config=react(budget=20000, max_minutes=2.0))  # 120 s: three calls fit, not four
    assert result.finished.termination == termination
    assert [s.data["reason"] for s in result.steps if s.kind == "forced"] == ["timeout"]
    assert [s.data["elapsed"] for s in result.steps if s.kind == "model"] == [50, 100, 150, 200]
    assert last_user_turn(engine.requests[3].prompt).endswith(
        prompts.render("forced_answer", reason="the time limit")
    )


# ---------------------------------------------------------------- loop detection


def test_loop_detection_notices_then_forces_an_answer() -> None:
    tools = registry()
    engine = ScriptedEngine(respond=scripted(search("same"), search("same"), search("same"), ANSWER_TURN))
    result = run(engine, tools=tools, config=react(budget=20000))
    assert result.kinds() == ["model", "tool", "model", "tool", "model", "tool", "forced", "model", "report"]
    assert result.finished.termination == "loop_forced_answer"
    notice = prompts.render("loop_notice", call="search")
    tool_steps = [s for s in result.steps if s.kind == "tool"]
    assert [notice in s.data["observation"] for s in tool_steps] == [False, True, True]
    assert notice not in engine.requests[1].prompt
    assert notice in engine.requests[2].prompt
    assert last_user_turn(engine.requests[3].prompt).endswith(
        prompts.render("forced_answer", reason="repeating the same action")
    )
    assert len(tools.get("search").calls) == 3  # type: ignore[union-attr]


def test_a_loop_that_goes_on_after_the_forced_call_ends_without_answer() -> None:
    engine = ScriptedEngine(respond=scripted(*[search("same")] * 4))
    result = run(engine, config=react(budget=20000))
    assert result.finished.termination == "no_answer"
    assert result.finished.answer is None
    assert result.kinds()[-2:] == ["forced", "model"]


def test_a_different_call_in_between_is_not_a_loop() -> None:
    turns = [search("a"), search("b"), search("a"), search("b"), ANSWER_TURN]
    engine = ScriptedEngine(respond=scripted(*turns))
    result = run(engine, config=react(budget=20000))
    assert result.finished.termination == "answer"
    assert not any(s.data.get("loop_notice") for s in result.steps if s.kind == "tool")


# ---------------------------------------------------------------- cancellation


def cancel_during_turn(turn: int, after: float = 0.05) -> Callable[[AgentEvent, Researcher], None]:
    """Cancel from a timer thread once the model has started writing turn ``turn``."""
    state = {"step": 0, "armed": False}

    def on_event(event: AgentEvent, researcher: Researcher) -> None:
        if isinstance(event, StepStarted):
            state["step"] = event.step
        if isinstance(event, TokenDelta) and state["step"] == turn and not state["armed"]:
            state["armed"] = True
            threading.Timer(after, researcher.cancel.cancel).start()

    return on_event


def test_cancel_from_another_thread_mid_generation_commits_nothing_half_done() -> None:
    long_turn = "<think>" + "".join(f"thought{i} " for i in range(300)) + "</think>\n" + search("b")
    engine = ScriptedEngine(
        respond=scripted(search("a"), long_turn, ANSWER_TURN), chunk_tokens=1, delay=0.002
    )
    result = run(engine, on_event=cancel_during_turn(2))
    finished = result.finished
    assert finished.termination == "cancelled"
    assert len(result.of(Cancelled)) == 1
    assert result.kinds() == ["model", "tool"]  # the interrupted turn is not stored
    assert result.store.run(finished.run_id).status == "cancelled"
    partial = "".join(d.text for d in result.of(TokenDelta) if d.kind == "thinking")
    assert 0 < partial.count("thought") < 300
    # Resuming redoes the interrupted turn once and finishes.
    engine.respond, engine.delay = scripted(long_turn, ANSWER_TURN), 0.0
    resumed = Researcher(engine, registry(), result.store, AgentConfig(mode="react"))
    events = list(resumed.resume(finished.run_id))
    check_events(events)
    assert isinstance(events[-1], RunFinished) and events[-1].termination == "answer"
    kinds = [s.kind for s in result.store.steps(finished.run_id)]
    assert kinds == ["model", "tool", "model", "tool", "model", "report"]
    assert [s.index for s in result.store.steps(finished.run_id)] == list(range(6))


def test_cancel_during_the_report_pass_keeps_the_answer_and_resume_writes_the_report() -> None:
    findings = "".join(f"- Article part {i} discusses the boiling point in detail [1].\n" for i in range(100))
    turns = scripted(search("boiling point"), ANSWER_TURN, findings=findings)
    engine = ScriptedEngine(respond=turns, chunk_tokens=1, delay=0.001)
    state = {"armed": False}

    def on_event(event: AgentEvent, researcher: Researcher) -> None:
        if isinstance(event, TokenDelta) and event.kind == "report" and not state["armed"]:
            state["armed"] = True
            threading.Timer(0.05, researcher.cancel.cancel).start()

    result = run(engine, on_event=on_event)
    assert result.finished.termination == "cancelled"
    assert result.finished.answer == ANSWER
    assert result.kinds() == ["model", "tool", "model"]  # no half-written report step
    assert result.finished.report_path is None
    engine.delay = 0.0
    events = list(Researcher(engine, registry(), result.store, react()).resume(result.finished.run_id))
    check_events(events)
    last = events[-1]
    assert isinstance(last, RunFinished) and last.termination == "answer" and last.report_path
    assert [s.kind for s in result.store.steps(last.run_id)] == ["model", "tool", "model", "report"]
    with open(last.report_path, encoding="utf-8") as f:
        assert f.read().count("[1].") == 100


def test_a_run_cancelled_before_it_starts_asks_nothing() -> None:
    engine = ScriptedEngine(respond=scripted())
    result = run(engine, on_event=lambda event, researcher: researcher.cancel.cancel())
    assert result.finished.termination == "cancelled"
    assert engine.requests == []
    assert result.kinds() == []


def test_a_page_larger_than_the_context_is_cut_to_a_share_of_the_budget() -> None:
    page = call_turn("visit", url=["https://example.test/long-page"], goal="rainfall")
    engine = ScriptedEngine(respond=scripted(page, search("rain"), ANSWER_TURN), context_tokens=8192)
    config = AgentConfig(mode="react", max_output_tokens=2048)
    result = run(engine, tools=registry(visit_words=600), config=config)
    budget = 8192 - 2048
    assert result.finished.termination == "answer"
    assert all(r.prompt_tokens <= budget for r in engine.requests)
    stored = result.steps[1].data["observation"]
    assert len(stored) > 40_000  # the store keeps the whole page
    shown = last_user_turn(engine.requests[1].prompt)
    assert shown.endswith(f" of {len(stored)} characters shown]\n</tool_response>")
    assert engine.count_tokens(shown) <= budget * AgentConfig().observation_share + 20
    # The cut is the same every turn, so the prompt of turn 3 extends the prompt of turn 2.
    assert engine.requests[2].prompt.startswith(engine.requests[1].prompt)
