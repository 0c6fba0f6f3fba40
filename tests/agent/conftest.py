"""Helpers for agent-loop tests: a scripted model, the real session store, and event checks."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any, TypeVar, get_args

from deepresearch_local.agent.config import AgentConfig
from deepresearch_local.agent.events import (
    AgentEvent,
    AnswerReady,
    Cancelled,
    RunFinished,
    RunStarted,
    StepStarted,
    Termination,
    TokenDelta,
    ToolCalled,
    ToolResulted,
)
from deepresearch_local.agent.runner import Researcher
from deepresearch_local.engines.scripted import ScriptedEngine
from deepresearch_local.store.records import StepRecord
from deepresearch_local.store.sessions import SessionStore
from deepresearch_local.tools.base import ToolRegistry
from tests.agent.scripted_tools import registry

QUESTION = "What is the boiling point of water at sea level?"
ANSWER = "Water boils at 100 C at sea level."
ANSWER_TURN = f"<think>I have enough to answer.</think>\n<answer>{ANSWER}</answer>"
FINDINGS = "- An article discusses the boiling point of water in detail [1]."
REPORT_MARKER = "Write the findings section of the final research report"
TODAY = date(2025, 3, 14)

E = TypeVar("E")


def tool_call(name: str, **arguments: Any) -> str:
    """One well-formed ``<tool_call>`` block."""
    body = json.dumps({"name": name, "arguments": arguments}, ensure_ascii=False)
    return f"<tool_call>\n{body}\n</tool_call>"


def call_turn(name: str, think: str = "I should look this up.", **arguments: Any) -> str:
    """A well-formed assistant turn calling one tool."""
    return f"<think>{think}</think>\n{tool_call(name, **arguments)}"


def fold_turn(report: str, name: str, think: str = "Noted.", **arguments: Any) -> str:
    """A well-formed fold turn: thinking, the whole report, one tool call."""
    return f"<think>{think}</think>\n<report>\n{report}\n</report>\n{tool_call(name, **arguments)}"


def is_report_prompt(prompt: str) -> bool:
    return REPORT_MARKER in prompt


def scripted(*turns: str, findings: str = FINDINGS) -> Callable[[str], str]:
    """A ``respond`` callable: the report pass gets ``findings``, every other call the next turn."""
    queue = list(turns)

    def respond(prompt: str) -> str:
        if is_report_prompt(prompt):
            return findings
        assert queue, "the loop asked the model more often than the script expected"
        return queue.pop(0)

    return respond


@dataclass
class Run:
    events: list[AgentEvent]
    engine: ScriptedEngine
    store: SessionStore
    researcher: Researcher

    @property
    def finished(self) -> RunFinished:
        last = self.events[-1]
        assert isinstance(last, RunFinished)
        return last

    def of(self, kind: type[E]) -> list[E]:
        return [e for e in self.events if isinstance(e, kind)]

    @property
    def steps(self) -> list[StepRecord]:
        return self.store.steps(self.finished.run_id)

    @property
    def prompts(self) -> list[str]:
        return [r.prompt for r in self.engine.requests]

    @property
    def model_prompts(self) -> list[str]:
        """Prompts of the research turns (not the report pass)."""
        return [p for p in self.prompts if not is_report_prompt(p)]

    def kinds(self) -> list[str]:
        return [s.kind for s in self.steps]


def run(
    engine: ScriptedEngine,
    *,
    tools: ToolRegistry | None = None,
    config: AgentConfig | None = None,
    question: str = QUESTION,
    session_id: str | None = None,
    store: SessionStore | None = None,
    offline: bool = False,
    on_event: Callable[[AgentEvent, Researcher], None] | None = None,
) -> Run:
    """Run one question to the end with the real store; the event stream is checked on the way out."""
    store = store or SessionStore()
    researcher = Researcher(
        engine,
        tools if tools is not None else registry(),
        store,
        config or AgentConfig(mode="react"),
        offline=offline,
        today=TODAY,
    )
    events: list[AgentEvent] = []
    for event in researcher.ask(question, session_id):
        events.append(event)
        if on_event is not None:
            on_event(event, researcher)
    check_events(events)
    return Run(events, engine, store, researcher)


def check_events(events: Iterable[AgentEvent]) -> None:
    """The stream's invariants: one RunStarted first, one RunFinished last, every ToolCalled directly
    followed by its ToolResulted, steps counted up, every event serializable as a JSON line."""
    events = list(events)
    assert isinstance(events[0], RunStarted), events[0]
    assert isinstance(events[-1], RunFinished), events[-1]
    assert sum(isinstance(e, RunStarted) for e in events) == 1
    assert sum(isinstance(e, RunFinished) for e in events) == 1
    finished = events[-1]
    assert finished.termination in get_args(Termination)
    for i, event in enumerate(events):
        json.loads(json.dumps(event.to_dict(), ensure_ascii=False))
        if isinstance(event, ToolCalled):
            after = events[i + 1]
            assert isinstance(after, ToolResulted), after
            assert (after.step, after.name) == (event.step, event.name)
        if isinstance(event, ToolResulted):
            before = events[i - 1]
            assert isinstance(before, ToolCalled), before
        if isinstance(event, TokenDelta):
            assert event.text, "empty token delta"
    steps = [e.step for e in events if isinstance(e, StepStarted)]
    assert steps == sorted(steps)
    assert len(steps) == len(set(steps))
    cancelled = [e for e in events if isinstance(e, Cancelled)]
    assert bool(cancelled) == (finished.termination == "cancelled")
    answers = [e for e in events if isinstance(e, AnswerReady)]
    if finished.termination in ("answer", "forced_answer", "loop_forced_answer"):
        assert finished.answer and answers and answers[-1].answer == finished.answer
    if finished.termination in ("max_llm_calls", "timeout", "context_exhausted", "no_answer"):
        assert finished.answer is None
