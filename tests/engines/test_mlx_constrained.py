"""Grammar-constrained actions on the MLX engine with the real 0.5B model (the test GGUF converted
to an MLX folder): a prompt that asks for a search yields a schema-valid call in every sample
(unconstrained, the same prompt is measured and printed, not asserted); thinking is generated
freely and the grammar takes over in the same generation, with the KV cache holding prompt and
thought; an answer still comes out closed. Then, on the tiny model: the notice where the grammar
library is missing, and the auto setting by the build's bit width.

The model runs at about 1 tok/s on MLX's x86 CPU backend, so the samples are few and short."""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from deepresearch_local.agent.protocol import ParsedTurn, parse_turn
from deepresearch_local.engines.base import GenerationRequest, Sampling, collect
from tests.support import test_models
from tests.support.mlx_qwen import ensure_mlx_qwen
from tests.support.tiny_fixtures import tiny_moe  # noqa: F401  (until the conftest imports it)
from tests.support.tiny_moe import TinyModel

pytest.importorskip("mlx.core")
pytest.importorskip("mlx_lm")

from deepresearch_local.engines import mlx_grammar
from deepresearch_local.engines.mlx import MLXEngine, UnconstrainedWarning

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
SAMPLES = 3
MESSAGES = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": QUESTION}]


@pytest.fixture(scope="module")
def engine(qwen05b: Path) -> Iterator[MLXEngine]:
    folder = ensure_mlx_qwen(qwen05b, test_models.QWEN_05B.sha256, test_models.cache_dir())
    eng = MLXEngine(folder, context_tokens=2048)
    yield eng
    eng.unload()


def _valid_search(turn: ParsedTurn) -> bool:
    """The call names the declared tool and its arguments match the schema."""
    call = turn.tool_call
    if call is None or call.name != "search" or set(call.arguments) != {"query"}:
        return False
    query = call.arguments["query"]
    return isinstance(query, list) and len(query) >= 1 and all(isinstance(q, str) for q in query)


def _generate(engine: MLXEngine, prompt: str, constrain: bool, sampling: Sampling, max_tokens: int) -> str:
    request = GenerationRequest(
        prompt=prompt,
        tools=[SEARCH],
        constrain_tool_calls=constrain,
        max_tokens=max_tokens,
        sampling=sampling,
    )
    return collect(engine.generate(request)).text


def test_every_constrained_call_is_valid(engine: MLXEngine) -> None:
    """The prompt opens the call (the model must write one): constrained, every sample is a
    schema-valid call; the same prompt unconstrained is measured."""
    prompt = engine.render(MESSAGES, tools=[SEARCH]) + "<tool_call>\n"
    free, bound = [], []
    for seed in range(SAMPLES):
        sampling = Sampling(temperature=0.7, seed=seed)
        free.append(parse_turn("<tool_call>\n" + _generate(engine, prompt, False, sampling, 56)))
        bound.append(parse_turn("<tool_call>\n" + _generate(engine, prompt, True, sampling, 56)))
        assert engine.last_grammar_problem is None
    free_ok = sum(_valid_search(t) and not t.problems for t in free)
    print(
        f"\nMLX unconstrained: {SAMPLES - free_ok}/{SAMPLES} calls malformed or invalid; "
        f"problems: {sorted({p for t in free for p in t.problems})}"
    )
    for turn in bound:
        assert _valid_search(turn) and not turn.problems, turn.text
        assert turn.text.rstrip().endswith("</tool_call>"), turn.text


def test_thinking_is_free_and_the_grammar_takes_over_in_the_same_generation(engine: MLXEngine) -> None:
    prompt = engine.render(MESSAGES, tools=[SEARCH]) + "<think>\nI will search"
    assert mlx_grammar.grammar_plan(prompt, [SEARCH]).free_until_think_close
    free = _generate(engine, prompt, False, Sampling.greedy(), 64)
    assert engine.last_switch is None
    bound = _generate(engine, prompt, True, Sampling.greedy(), 64)
    switch = engine.last_switch
    assert "</think>" in bound and switch is not None, bound
    # The thought is the text the model writes without a grammar.
    assert bound.split("</think>")[0] == free.split("</think>")[0]
    # The grammar took over inside the same generation: the KV cache already held the prompt and
    # every free token (read from the cache at the switch), so nothing was prefilled again.
    assert switch.after_tokens > 0
    assert switch.reused_tokens == switch.total_tokens == engine.count_tokens(prompt) + switch.after_tokens
    assert engine.last_grammar_problem is None
    turn = parse_turn("<think>" + bound)
    assert _valid_search(turn), bound


def test_an_answer_still_comes_out_closed(engine: MLXEngine) -> None:
    args = '{"query": ["2022 Nobel Prize in Chemistry"]}'
    call = f'<tool_call>\n{{"name": "search", "arguments": {args}}}\n</tool_call>'
    result = (
        "<tool_response>\n1. [Nobel Prize in Chemistry 2022](https://www.nobelprize.org/prizes/chemistry/2022/)"
        " The prize was awarded jointly to Carolyn R. Bertozzi, Morten Meldal and K. Barry Sharpless.\n"
        "</tool_response>"
    )
    messages: list[dict[str, Any]] = [
        *MESSAGES,
        {"role": "assistant", "content": call},
        {"role": "user", "content": result + "\nNow give the final answer in one sentence."},
    ]
    prompt = engine.render(messages, tools=[SEARCH])
    text = _generate(engine, prompt, True, Sampling.greedy(), 100)
    turn = parse_turn(text)
    assert text.rstrip().endswith(("</answer>", "</tool_call>")), text
    assert turn.answer or _valid_search(turn), text
    assert engine.last_grammar_problem is None


# ---------------------------------------------------------------- the tiny model: no real weights needed


def test_without_the_library_the_engine_says_so_once(
    tiny_moe: TinyModel,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(mlx_grammar, "missing", lambda: "the llguidance package is not installed")
    eng = MLXEngine(tiny_moe.mlx_dir, context_tokens=512)
    messages = [{"role": "user", "content": "Find the answer."}]

    def request(constrain: bool) -> GenerationRequest:
        return GenerationRequest(
            messages=messages, tools=[SEARCH], constrain_tool_calls=constrain, max_tokens=6,
            sampling=Sampling.greedy(),
        )  # fmt: skip

    try:
        plain = collect(eng.generate(request(False)))
        with pytest.warns(UnconstrainedWarning, match="not constrained: the llguidance package"):
            first = collect(eng.generate(request(True)))
        with warnings.catch_warnings():
            warnings.simplefilter("error", UnconstrainedWarning)
            second = collect(eng.generate(request(True)))  # said once: no second warning
    finally:
        eng.unload()
    assert eng.unconstrained == "the llguidance package is not installed"
    assert eng.info.details["unconstrained"] == eng.unconstrained
    assert first.token_ids == second.token_ids == plain.token_ids  # generation goes on unconstrained
    assert eng.last_switch is None


@pytest.mark.parametrize(
    ("quantization", "setting", "constrained"),
    [({"bits": 3, "group_size": 64}, "auto", True), ({"bits": 4, "group_size": 64}, "auto", False),
     (None, "auto", False), (None, "on", True), ({"bits": 2, "group_size": 64}, "off", False)],
)  # fmt: skip
def test_the_auto_setting_reads_the_build_bits(
    tmp_path: Path, quantization: dict[str, int] | None, setting: Any, constrained: bool
) -> None:
    config: dict[str, Any] = {"model_type": "qwen3_moe", "max_position_embeddings": 4096}
    if quantization:
        config["quantization"] = quantization
    (tmp_path / "config.json").write_text(json.dumps(config), "utf-8")
    eng = MLXEngine(tmp_path, constrain_tool_calls=setting)
    assert eng._constrain(GenerationRequest(prompt="x", tools=[SEARCH])) is constrained
    assert eng._constrain(GenerationRequest(prompt="x", tools=[SEARCH], constrain_tool_calls=True))
    assert not eng._constrain(GenerationRequest(prompt="x", tools=[SEARCH], constrain_tool_calls=False))


@pytest.mark.parametrize("arguments", ["llama.cpp converter", "llguidance json"])
def test_the_llama_grammar_for_the_real_tools_holds_on_llguidance(
    tiny_moe: TinyModel,  # noqa: F811
    arguments: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The same GBNF the llama.cpp engine uses, converted: well-formed actions pass, the rest fail.
    Its arguments come from llama.cpp's schema converter, or (what the MLX engine uses, as on a
    Mac without llama-cpp-python, which the test hides) from llguidance's own JSON support."""
    import sys

    import llguidance

    from deepresearch_local.engines.tool_grammar import after_think_grammar
    from deepresearch_local.tools.base import Tool, schema_of
    from deepresearch_local.tools.local import local_tools
    from deepresearch_local.tools.python_sandbox import PythonInterpreter
    from deepresearch_local.tools.search import ScholarTool, WebSearchTool
    from deepresearch_local.tools.visit import VisitTool

    instances: list[Tool] = [WebSearchTool(), ScholarTool(), VisitTool(), PythonInterpreter(), *local_tools()]
    tools = [schema_of(t) for t in instances]
    if arguments == "llguidance json":
        for name in [m for m in sys.modules if m == "llama_cpp" or m.startswith("llama_cpp.")]:
            monkeypatch.delitem(sys.modules, name)
        monkeypatch.setitem(sys.modules, "llama_cpp", None)  # importing it now fails, as on a Mac
        assert mlx_grammar.missing() is None
        plan = mlx_grammar.grammar_plan("<|im_start|>assistant\n", tools)
        assert plan.free_until_think_close is False and "%json" in plan.lark
        lark = mlx_grammar.grammar_plan("<|im_start|>assistant\n<think>\n", tools).lark
    else:
        lark = mlx_grammar.lark_of(after_think_grammar(tools))
    assert llguidance.LLMatcher.validate_grammar(llguidance.LLMatcher.grammar_from_lark(lark)) == ""
    eng = MLXEngine(tiny_moe.mlx_dir)
    try:
        tokenizer = mlx_grammar.ll_tokenizer(eng.tokenizer)
        encode = eng.tokenizer.encode  # the model's own tokens: <tool_call> is one added token
        assert len(encode("<tool_call>", add_special_tokens=False)) == 1
    finally:
        eng.unload()

    def accepted(text: str) -> bool:
        matcher = llguidance.LLMatcher(tokenizer, lark, log_level=0)
        return matcher.consume_tokens(encode(text, add_special_tokens=False)) and matcher.is_accepting()

    def call(name: str, arguments: str, code: str = "") -> str:
        return f'<tool_call>\n{{"name": "{name}", "arguments": {arguments}}}\n{code}</tool_call>'

    assert accepted("\n" + call("search", '{"query": ["a", "b"]}'))
    assert accepted(call("search", '{"query":["a"]}'))
    assert accepted(call("visit", '{"url": "https://x.org", "goal": "g"}'))
    assert accepted(call("PythonInterpreter", "{}", "<code>\nprint(1)\n</code>\n"))
    assert accepted("<report>Found: 1871.</report>\n<answer>The answer is 1871.</answer>")
    assert not accepted(call("browse", '{"query": ["a"]}'))  # an unknown tool
    assert not accepted(call("search", "{}"))  # a required argument missing
    assert not accepted(call("search", '{"query": "a"}'))  # the wrong type
    assert not accepted("<answer>unclosed")
