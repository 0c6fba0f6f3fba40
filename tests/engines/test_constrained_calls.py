"""Grammar-constrained actions with the real 0.5B model on llama.cpp: a prompt that asks for a
search yields a schema-valid call in every sample (unconstrained, the same prompt is measured
and printed, not asserted); thinking is generated freely and the switch to the grammar reuses
the KV cache; an answer still comes out closed; the auto setting; the grammar for the real tools."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from deepresearch_local.agent.protocol import ParsedTurn, parse_turn
from deepresearch_local.engines.base import GenerationRequest, Sampling, collect
from deepresearch_local.engines.constrained import file_type_bits, plan_for
from deepresearch_local.engines.llamacpp import LlamaCppEngine
from deepresearch_local.engines.tool_grammar import constrain_by_default, quant_bits, turn_grammar

SEARCH = {
    "type": "function",
    "function": {
        "name": "search",
        "description": "Search the web. Returns the top results for each query.",
        "parameters": {
            "type": "object",
            "properties": {"query": {"type": "array", "items": {"type": "string"}, "minItems": 1}},
            "required": ["query"],
        },
    },
}
SYSTEM = (
    "You are a deep research assistant. You never answer from memory: first call a tool inside "
    "<tool_call></tool_call> tags. Only when tool results are in the conversation, give the final "
    "answer inside <answer></answer>."
)
QUESTION = "Search the web: who won the 2022 Nobel Prize in Chemistry?"
SAMPLES = 8


@pytest.fixture(scope="module")
def engine(qwen05b: Path) -> Iterator[LlamaCppEngine]:
    # One thread: the test machine is shared, and llama.cpp's threads spin when starved.
    eng = LlamaCppEngine(qwen05b, context_tokens=2048, n_threads=1)
    yield eng
    eng.unload()


def _valid_search(turn: ParsedTurn) -> bool:
    """The call names the declared tool and its arguments match the schema."""
    call = turn.tool_call
    if call is None or call.name != "search" or set(call.arguments) != {"query"}:
        return False
    query = call.arguments["query"]
    return isinstance(query, list) and len(query) >= 1 and all(isinstance(q, str) for q in query)


def _sample(engine: LlamaCppEngine, prompt: str, constrain: bool, seed: int, max_tokens: int = 56) -> str:
    request = GenerationRequest(
        prompt=prompt,
        tools=[SEARCH],
        constrain_tool_calls=constrain,
        max_tokens=max_tokens,
        sampling=Sampling(temperature=0.7, seed=seed),
    )
    return collect(engine.generate(request)).text


@pytest.mark.timeout(1800)  # dozens of constrained calls: under a minute quiet, many more when loaded
def test_every_constrained_call_is_valid(engine: LlamaCppEngine) -> None:
    """The prompt opens the call (the model must write one): constrained, every sample is a
    schema-valid call; the same prompt unconstrained is measured."""
    messages = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": QUESTION}]
    prompt = engine.render(messages, tools=[SEARCH]) + "<tool_call>\n"
    free = [parse_turn("<tool_call>\n" + _sample(engine, prompt, False, s)) for s in range(SAMPLES)]
    bound = [parse_turn("<tool_call>\n" + _sample(engine, prompt, True, s)) for s in range(SAMPLES)]
    free_ok = sum(_valid_search(t) and not t.problems for t in free)
    print(
        f"\nunconstrained: {SAMPLES - free_ok}/{SAMPLES} calls malformed or invalid; "
        f"problems: {sorted({p for t in free for p in t.problems})}"
    )
    for turn in bound:
        assert _valid_search(turn) and not turn.problems, turn.text


def test_every_constrained_turn_is_usable(engine: LlamaCppEngine) -> None:
    """Left to choose, the model may answer instead; either way the turn is well-formed."""
    messages = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": QUESTION}]
    prompt = engine.render(messages, tools=[SEARCH])
    for seed in range(SAMPLES // 2):
        turn = parse_turn(_sample(engine, prompt, True, seed, max_tokens=80))
        if turn.tool_call is not None:
            assert _valid_search(turn), turn.text
            assert all("inside <answer>" in p for p in turn.problems), turn.problems
        else:
            assert turn.answer and not turn.problems, turn.text


def test_thinking_is_free_and_the_switch_reuses_the_cache(engine: LlamaCppEngine) -> None:
    messages = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": QUESTION}]
    prompt = engine.render(messages, tools=[SEARCH]) + "<think>\nI will search"
    assert plan_for(prompt, [SEARCH]).free_until_think_close

    def greedy(constrain: bool) -> str:
        request = GenerationRequest(
            prompt=prompt, tools=[SEARCH], constrain_tool_calls=constrain, max_tokens=64,
            sampling=Sampling.greedy(),
        )  # fmt: skip
        return collect(engine.generate(request)).text

    free = greedy(False)
    bound = greedy(True)
    switch = engine.last_switch
    assert "</think>" in bound and switch is not None, bound
    # The thought is the same text the model writes without a grammar.
    assert bound.split("</think>")[0] == free.split("</think>")[0]
    # Only the last free token is evaluated again: no re-prefill of prompt or thought.
    assert switch.total_tokens - switch.reused_tokens <= 1
    assert switch.reused_tokens > switch.after_tokens > 0
    turn = parse_turn("<think>" + bound.split("<think>", 1)[-1] if "<think>" in bound else "<think>" + bound)
    assert _valid_search(turn), bound


def test_an_answer_still_comes_out_closed(engine: LlamaCppEngine) -> None:
    args = '{"query": ["2022 Nobel Prize in Chemistry"]}'
    call = f'<tool_call>\n{{"name": "search", "arguments": {args}}}\n</tool_call>'
    result = (
        "<tool_response>\n1. [Nobel Prize in Chemistry 2022](https://www.nobelprize.org/prizes/chemistry/2022/)"
        " "
        "The prize was awarded jointly to Carolyn R. Bertozzi, Morten Meldal and K. Barry Sharpless.\n"
        "</tool_response>"
    )
    messages: list[dict[str, Any]] = [
        {"role": "system", "content": SYSTEM},
        {"role": "user", "content": QUESTION},
        {"role": "assistant", "content": call},
        {"role": "user", "content": result + "\nNow give the final answer."},
    ]
    prompt = engine.render(messages, tools=[SEARCH])
    request = GenerationRequest(
        prompt=prompt, tools=[SEARCH], constrain_tool_calls=True, max_tokens=120, sampling=Sampling.greedy()
    )
    text = collect(engine.generate(request)).text
    turn = parse_turn(text)
    assert text.rstrip().endswith(("</answer>", "</tool_call>")), text
    assert turn.answer or _valid_search(turn), text


def test_auto_setting() -> None:
    assert quant_bits("MOSTLY_IQ3_M") == 3 and quant_bits("MOSTLY_IQ2_XXS") == 2
    assert quant_bits("MOSTLY_Q4_K_M") == 4 and quant_bits("BF16") == 16
    assert file_type_bits(15) == 4 and file_type_bits("27") == 3 and file_type_bits(None) is None
    assert constrain_by_default("Tongyi-DeepResearch-30B-A3B", 3)
    assert not constrain_by_default("Tongyi-DeepResearch-30B-A3B", 4)
    assert not constrain_by_default("Qwen2.5-Coder-0.5B-Instruct", 4)  # see constrain_by_default
    assert constrain_by_default("Qwen2.5-Coder-0.5B-Instruct", 2)


def test_grammar_for_the_real_tools_compiles() -> None:
    import llama_cpp

    from deepresearch_local.tools.base import schema_of
    from deepresearch_local.tools.local import local_tools
    from deepresearch_local.tools.python_sandbox import PythonInterpreter
    from deepresearch_local.tools.search import ScholarTool, WebSearchTool
    from deepresearch_local.tools.visit import VisitTool

    tools = [
        schema_of(t)
        for t in (WebSearchTool(), ScholarTool(), VisitTool(), PythonInterpreter(), *local_tools())
    ]
    grammar = turn_grammar(tools)
    for tool in tools:
        assert f'"\\"{tool["function"]["name"]}\\""' in grammar
    assert 'obj3 nl "<code>" code-body' in grammar  # PythonInterpreter: {} then <code>...</code>
    llama_cpp.LlamaGrammar.from_string(grammar, verbose=False)  # raises on a malformed grammar
