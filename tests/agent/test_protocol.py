"""Malformed and odd model outputs: what the parser makes of each, and what a whole run does with it.

Every case goes through ``parse_turn`` and through a full ``Researcher`` run in both modes: the
loop either continues (the next prompt names the problem, or carries the tool's result) or ends
with a clear termination. It never crashes, and the event stream stays well formed.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from deepresearch_local.agent.config import AgentConfig
from deepresearch_local.agent.protocol import (
    STOP_STRINGS,
    cut_hallucinated_response,
    final_answer_salvage,
    loads_tolerant,
    parse_tool_call,
    parse_turn,
    tool_response,
)
from deepresearch_local.engines.scripted import ScriptedEngine
from tests.agent.conftest import ANSWER, ANSWER_TURN, call_turn, run, scripted
from tests.agent.protocol_cases import CASES, MAX_OUT, Case
from tests.agent.scripted_tools import registry


def test_there_are_at_least_thirty_cases() -> None:
    assert len(CASES) >= 30
    assert len({c.id for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_parse_turn(case: Case) -> None:
    parsed = parse_turn(case.text)
    got_call = (parsed.tool_call.name, parsed.tool_call.arguments) if parsed.tool_call else None
    assert got_call == case.call
    assert parsed.answer == case.answer
    if case.problem is None:
        assert parsed.problems == ()
    else:
        assert any(case.problem in p for p in parsed.problems), parsed.problems
    assert parsed.extra_tool_calls == case.extra
    if case.think is not None:
        assert parsed.think == case.think
    if case.report is not None:
        assert parsed.report == case.report
    assert "<tool_response>" not in parsed.text


@pytest.mark.parametrize("mode", ["react", "fold"])
@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_full_run(case: Case, mode: str) -> None:
    tools = registry()
    engine = ScriptedEngine(respond=scripted(case.text, ANSWER_TURN))
    config = AgentConfig(mode=mode, max_output_tokens=MAX_OUT)  # type: ignore[arg-type]
    result = run(engine, tools=tools, config=config)
    finished = result.finished
    prompts = result.model_prompts
    if case.ends is not None:
        assert finished.termination == case.ends
        assert finished.answer == case.answer
        assert len(prompts) == 1
    else:
        assert finished.termination == "answer"
        assert finished.answer == ANSWER
        assert len(prompts) == 2
        assert case.notice in prompts[1]
        if case.absent:
            assert case.absent not in prompts[1]
        if case.report is not None and mode == "fold":  # the carried report holds no action markup
            assert f"<report>\n{case.report}\n</report>" in prompts[1]
    for name in ("search", "visit", "PythonInterpreter", "parse_file"):
        tool: Any = tools.get(name)
        expected = [case.call[1]] if case.ran and case.call and case.call[0] == name else []
        assert tool.calls == expected, name
    # The first turn is committed as stored, cut before any invented tool response.
    first = result.steps[0]
    assert first.kind == "model"
    assert "<tool_response>" not in first.data["text"]
    assert result.store.run(finished.run_id).termination == finished.termination


def test_thinking_cut_by_the_token_limit_is_reported_as_such() -> None:
    thinking = "<think>" + " ".join(f"idea{i}" for i in range(400))
    engine = ScriptedEngine(respond=scripted(thinking, ANSWER_TURN))
    result = run(engine, config=AgentConfig(mode="react", max_output_tokens=MAX_OUT))
    first = result.steps[0]
    assert first.data["finish"] == "length"
    assert first.data["completion_tokens"] == MAX_OUT
    assert engine.requests[0].request.max_tokens == MAX_OUT


def test_a_turn_that_loops_is_stopped_early_and_the_model_told_why() -> None:
    loop = "<think>I should look up the boiling point. " + "Then I check it again, and again. " * 300
    engine = ScriptedEngine(respond=scripted(loop, ANSWER_TURN), chunk_tokens=2)
    result = run(engine, config=AgentConfig(mode="react", max_output_tokens=4096))
    first = result.steps[0]
    assert first.data["finish"] == "repetition"
    assert first.data["completion_tokens"] < engine.count_tokens(loop) / 10  # stopped after a few repeats
    assert first.data["text"].count("Then I check it again") == 1  # stored without the repeats
    assert "(the reply kept repeating itself and was stopped)" in engine.requests[1].prompt
    assert result.finished.termination == "answer"


def test_a_tool_that_needs_the_network_is_refused_offline() -> None:
    tools = registry()
    engine = ScriptedEngine(respond=scripted(call_turn("search", query=["x"]), ANSWER_TURN))
    result = run(engine, tools=tools, offline=True)
    assert (
        "Error: the tool 'search' is not available offline. Available tools: PythonInterpreter, "
        in (result.model_prompts[1])
    )
    assert tools.get("search").calls == []  # type: ignore[union-attr]
    assert '"name": "search"' not in result.model_prompts[0].split("<|im_end|>")[0]


def test_a_model_that_never_follows_the_format_ends_at_the_call_limit() -> None:
    engine = ScriptedEngine(respond=lambda prompt: "I am not sure what to do.")
    result = run(engine, config=AgentConfig(mode="react", max_llm_calls=4))
    assert result.finished.termination == "max_llm_calls"
    assert result.finished.llm_calls == 5  # four turns and the forced final one
    assert len(engine.requests) == 5
    assert result.kinds() == [*(["model", "notice"] * 4), "forced", "model"]


def test_tool_results_go_back_as_a_user_turn_in_tool_response_tags() -> None:
    engine = ScriptedEngine(respond=scripted(call_turn("search", query=["boiling point"]), ANSWER_TURN))
    result = run(engine)
    observation = result.steps[1].data["observation"]
    assert tool_response(observation) == f"<tool_response>\n{observation}\n</tool_response>"
    assert (
        f"<|im_start|>user\n<tool_response>\n{observation}\n</tool_response><|im_end|>"
        in (result.model_prompts[1])
    )
    assert engine.requests[0].request.stop == STOP_STRINGS == ("\n<tool_response>", "<tool_response>")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ('{"a": 1}', {"a": 1}),
        ("{'a': 1,}", {"a": 1}),
        ('```json\n{"a": [1, 2,]}\n```', {"a": [1, 2]}),
        ('{"a": 1 /* one */}', {"a": 1}),
        ('Here: {"a": {"b": "}"}} ok', {"a": {"b": "}"}}),
        ("[1, 2]", [1, 2]),
        ('{"s": "\\udc80x"}', {"s": "\ufffdx"}),
    ],
)
def test_loads_tolerant(raw: str, expected: Any) -> None:
    assert loads_tolerant(raw) == expected


@pytest.mark.parametrize("raw", ["", "{", "not json", "[" * 5000, '{"a": ' * 3000, "}{"])
def test_loads_tolerant_raises_value_error_only(raw: str) -> None:
    with pytest.raises(ValueError):
        loads_tolerant(raw)


def test_parse_tool_call_keeps_the_code_out_of_the_json() -> None:
    call, problem = parse_tool_call(
        '{"name": "PythonInterpreter", "arguments": {"x": 1}}\n<code>a = "}"</code>'
    )
    assert problem is None and call is not None
    assert (call.name, call.arguments) == ("PythonInterpreter", {"x": 1, "code": 'a = "}"'})
    assert call.key() == 'PythonInterpreter{"code": "a = \\"}\\"", "x": 1}'


def test_cut_hallucinated_response() -> None:
    assert (
        cut_hallucinated_response("a\n<tool_call>x</tool_call>\n<tool_response>y")
        == "a\n<tool_call>x</tool_call>"
    )
    assert cut_hallucinated_response("no response here") == "no response here"


def test_stored_arguments_survive_json_round_trip() -> None:
    engine = ScriptedEngine(respond=scripted(call_turn("search", query=["naïve café ☕"]), ANSWER_TURN))
    result = run(engine)
    stored = result.steps[0].data["tool_call"]
    assert stored == {"name": "search", "arguments": {"query": ["naïve café ☕"]}}
    assert json.loads(json.dumps(stored)) == stored


def test_a_loop_after_a_tool_call_keeps_the_call_and_its_code_exactly() -> None:
    code = 'print("-" * 40)\nprint("totals per station")\nprint("-" * 40)\nprint("totals per station")'
    call = (
        '<tool_call>\n{"name": "PythonInterpreter", "arguments": {}}\n'
        f"<code>\n{code}\n</code>\n</tool_call>"
    )
    turn = "<think>Count them.</think>\n" + call + "\nDone, the totals are printed above.\n" * 20
    engine = ScriptedEngine(respond=scripted(turn, ANSWER_TURN), chunk_tokens=2)
    result = run(engine, config=AgentConfig(mode="react", max_output_tokens=4096))
    first = result.steps[0]
    assert first.data["finish"] == "repetition"
    assert first.data["text"].endswith(call)  # the code's repeated lines are untouched
    assert first.data["tool_call"]["name"] == "PythonInterpreter"
    assert result.steps[1].kind == "tool"


@pytest.mark.parametrize(
    ("text", "answer"),
    [
        ("<think>It says 1871.</answer>", "It says 1871."),  # the answer written as thinking
        ("<think>Checked.</think>\nBuilt in 1871.</answer>", "Built in 1871."),  # opened never
        ("Built in 1871.</answer>", "Built in 1871."),
        ("<think>x</think><report>r</report>Built in 1871.</answer>", "Built in 1871."),
    ],
)
def test_the_final_turn_takes_an_answer_closed_but_never_opened(text: str, answer: str) -> None:
    parsed = final_answer_salvage(parse_turn(text))
    assert parsed.answer == answer
    assert any("never opened with <answer>" in p for p in parsed.problems)


@pytest.mark.parametrize(
    "text",
    [
        "I am not sure what to do.",  # nothing marks untagged text as an answer
        "<think>Still looking</think>",
        '<think>x</think><tool_call>{"name": "search", "arguments": {"query": ["a"]}}</tool_call>',
        "<think>x</think></answer>",  # marked, but empty
        "<think>x</think><answer>1871</answer>",  # a proper answer stays as parsed
    ],
)
def test_the_final_turn_salvage_leaves_everything_else_as_parsed(text: str) -> None:
    parsed = parse_turn(text)
    assert final_answer_salvage(parsed) == parsed


def test_a_forced_final_answer_closed_but_never_opened_reaches_the_user() -> None:
    """The 0.5B model's forced answer, written as thinking closed by </answer>: an answer, with exit 0."""
    engine = ScriptedEngine(respond=scripted(*(["I am not sure."] * 2), "<think>It is 42.</answer>"))
    result = run(engine, config=AgentConfig(mode="react", max_llm_calls=2))
    assert result.finished.termination == "forced_answer"
    assert result.finished.answer == "It is 42."
    # Only the final turn is read this generously: the same reply earlier is a format problem.
    early = parse_turn("<think>It is 42.</answer>")
    assert early.answer is None
