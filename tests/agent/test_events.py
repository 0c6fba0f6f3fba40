"""The typed event stream: its order, its numbers, and how streamed text is labelled."""

from __future__ import annotations

import random

import pytest

from deepresearch_local.agent.config import AgentConfig
from deepresearch_local.agent.events import (
    ContextUsage,
    ErrorEvent,
    RunFinished,
    RunStarted,
    StepStarted,
    TokenDelta,
)
from deepresearch_local.agent.runner import Researcher
from deepresearch_local.agent.stream import DeltaLabeler
from deepresearch_local.engines.base import common_prefix_len
from deepresearch_local.engines.scripted import ScriptedEngine
from tests.agent.conftest import ANSWER, FINDINGS, QUESTION, call_turn, check_events, run, scripted
from tests.agent.scripted_tools import registry

SEARCH_TURN = call_turn("search", think="Look it up.", query=["boiling point"])
FOLD_TURN = "<think>Found it.</think>\n<report>\n- boils at 100 C [1]\n</report>\n<answer>100 C</answer>"


def compact(types: list[str]) -> list[str]:
    return [t for t in types if t != "token_delta"]


def test_event_sequence_of_a_react_run() -> None:
    engine = ScriptedEngine(
        respond=scripted(SEARCH_TURN, f"<think>Enough.</think>\n<answer>{ANSWER}</answer>")
    )
    result = run(engine)
    assert compact([e.type for e in result.events]) == [
        "run_started",
        "step_started", "context_usage", "context_usage", "tool_called", "tool_resulted",
        "step_started", "context_usage", "context_usage", "answer_ready",
        "report_ready",
        "finished",
    ]  # fmt: skip
    started = result.events[0]
    assert isinstance(started, RunStarted)
    assert (started.question, started.mode, started.resumed) == (QUESTION, "react", False)
    assert (started.model, started.backend, started.context_tokens) == ("scripted", "scripted", 32768)
    # React mode: upstream's 10,000 output tokens fit a 32K context, the rest is the prompt's.
    assert started.budget_tokens == 32768 - 10_000 == result.researcher.budget
    assert result.engine.requests[0].request.max_tokens == 10_000
    assert started.max_steps == AgentConfig().max_llm_calls
    assert [e.step for e in result.of(StepStarted)] == [1, 2]


def test_fold_run_reports_its_report_updates() -> None:
    engine = ScriptedEngine(respond=scripted(SEARCH_TURN, FOLD_TURN))
    result = run(engine, config=AgentConfig(mode="fold"))
    types = compact([e.type for e in result.events])
    assert types[-7:] == [
        "step_started", "context_usage", "context_usage", "report_updated", "answer_ready", "report_ready",
        "finished",
    ]  # fmt: skip
    updated = [e for e in result.events if e.type == "report_updated"]
    assert [e.to_dict() for e in updated] == [
        {"type": "report_updated", "step": 2, "report": "- boils at 100 C [1]"}
    ]


def test_context_usage_and_totals_match_what_the_engine_saw() -> None:
    engine = ScriptedEngine(respond=scripted(SEARCH_TURN, call_turn("search", query=["altitude"]), FOLD_TURN))
    result = run(engine, config=AgentConfig(mode="react", budget_tokens=20000))
    usages = result.of(ContextUsage)
    model_requests = result.engine.requests[:3]
    # Two per step: before the call (prompt size) and after it (with cache reuse and speeds).
    assert [(u.step, u.used_tokens) for u in usages] == [
        (i // 2 + 1, model_requests[i // 2].prompt_tokens) for i in range(6)
    ]
    assert all(u.budget_tokens == 20000 for u in usages)
    tokens = [engine.tokens(r.prompt) for r in model_requests]
    outputs = [engine.tokens(s.data["text"]) for s in result.steps if s.kind == "model"]
    assert [u.reused_tokens for u in usages[1::2]] == [
        0,
        common_prefix_len(tokens[0] + outputs[0], tokens[1]),
        common_prefix_len(tokens[1] + outputs[1], tokens[2]),
    ]
    assert usages[3].reused_tokens > 0.8 * usages[3].used_tokens  # react prompts extend the last one
    finished = result.finished
    assert finished.llm_calls == len(engine.requests) == 4  # three turns and the report pass
    assert finished.prompt_tokens_total == sum(r.prompt_tokens for r in engine.requests)
    assert finished.max_prompt_tokens == max(r.prompt_tokens for r in engine.requests)
    assert finished.steps == 3
    # A resumed (here: already finished) run recounts the same numbers from its stored steps.
    again = list(
        Researcher(engine, registry(), result.store, result.researcher.config).resume(finished.run_id)
    )
    check_events(again)
    assert compact([e.type for e in again]) == ["run_started", "answer_ready", "report_ready", "finished"]
    assert isinstance(again[0], RunStarted) and again[0].resumed
    assert again[2].to_dict() == next(e for e in result.events if e.type == "report_ready").to_dict()
    last = again[-1]
    assert isinstance(last, RunFinished)
    for name in ("llm_calls", "max_prompt_tokens", "prompt_tokens_total", "reused_tokens_total",
                 "completion_tokens_total", "steps", "termination", "answer", "report_path"):  # fmt: skip
        assert getattr(last, name) == getattr(finished, name), name
    assert len(engine.requests) == 4  # nothing was asked again


def test_token_deltas_are_labelled_and_rebuild_the_output() -> None:
    engine = ScriptedEngine(respond=scripted(SEARCH_TURN, FOLD_TURN), chunk_tokens=1)
    result = run(engine, config=AgentConfig(mode="fold"))
    deltas = result.of(TokenDelta)
    by_kind: dict[str, str] = {}
    for d in deltas:
        by_kind[d.kind] = by_kind.get(d.kind, "") + d.text
    assert by_kind["thinking"] == "<think>Look it up.</think><think>Found it.</think>"
    assert by_kind["action"] == SEARCH_TURN.split("\n", 1)[1]
    assert by_kind["report"].startswith("<report>\n- boils at 100 C [1]\n</report>")
    assert by_kind["report"].endswith(FINDINGS)  # the report pass streams as report text
    assert by_kind["answer"] == "<answer>100 C</answer>"
    assert set(by_kind) == {"thinking", "action", "report", "answer", "text"}
    assert by_kind["text"].strip() == ""
    assert len(deltas) > 40  # one token at a time: tags arrived split across deltas


def test_an_engine_failure_is_an_error_event_and_a_failed_run() -> None:
    engine = ScriptedEngine([SEARCH_TURN])  # no reply left for the second call
    result = run(engine)
    errors = result.of(ErrorEvent)
    assert [e.to_dict()["type"] for e in errors] == ["error"]
    assert "no reply left" in errors[0].message
    assert result.finished.termination == "error"
    assert result.finished.to_dict()["type"] == "finished"
    assert result.store.run(result.finished.run_id).status == "failed"
    assert result.kinds() == ["model", "tool"]


# ---------------------------------------------------------------- DeltaLabeler


def label(chunks: list[str], start: str = "text") -> list[tuple[str, str]]:
    labeler = DeltaLabeler(start)  # type: ignore[arg-type]
    pieces = [p for c in chunks for p in labeler.feed(c)] + labeler.flush()
    merged: list[tuple[str, str]] = []
    for kind, text in pieces:
        if merged and merged[-1][0] == kind:
            merged[-1] = (kind, merged[-1][1] + text)
        else:
            merged.append((kind, text))
    return merged


TURN = (
    "<think>Is 3 < 4? Yes, a<b.</think>\n<report>- x [1]</report>\n"
    '<tool_call>\n{"name": "PythonInterpreter", "arguments": {}}\n<code>print(1 < 2)</code>\n</tool_call>'
    "<answer>done</answer> tail <"
)
LABELLED = [
    ("thinking", "<think>Is 3 < 4? Yes, a<b.</think>"),
    ("text", "\n"),
    ("report", "<report>- x [1]</report>"),
    ("text", "\n"),
    (
        "action",
        '<tool_call>\n{"name": "PythonInterpreter", "arguments": {}}\n'
        "<code>print(1 < 2)</code>\n</tool_call>",
    ),
    ("answer", "<answer>done</answer>"),
    ("text", " tail <"),
]


def test_labeler_whole_text() -> None:
    assert label([TURN]) == LABELLED


@pytest.mark.parametrize("seed", range(20))
def test_labeler_any_split_gives_the_same_labels(seed: int) -> None:
    rng = random.Random(seed)
    cuts = sorted(rng.sample(range(1, len(TURN)), rng.randint(1, 60)))
    chunks = [TURN[a:b] for a, b in zip([0, *cuts], [*cuts, len(TURN)])]
    assert label(chunks) == LABELLED


def test_labeler_one_character_at_a_time() -> None:
    assert label(list(TURN)) == LABELLED


def test_labeler_waits_for_a_possible_tag_and_flushes_the_rest() -> None:
    labeler = DeltaLabeler()
    assert labeler.feed("a </") == [("text", "a ")]
    assert labeler.feed("thin") == []
    assert labeler.flush() == [("text", "</thin")]


def test_labeler_starts_in_thinking_when_the_template_opened_it() -> None:
    assert label(["plan</th", "ink>\n<answer>x</answer>"], start="thinking") == [
        ("thinking", "plan</think>"),
        ("text", "\n"),
        ("answer", "<answer>x</answer>"),
    ]
