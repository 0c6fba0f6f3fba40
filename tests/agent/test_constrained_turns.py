"""The research turns hand the engine the run's tool schemas, so an engine that can constrain its
output (llama.cpp with a GBNF grammar, ``EngineSpec.constrain_tool_calls``) keeps each action
well-formed; ReSum summaries and the report pass, which must write prose, get no tools."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from deepresearch_local.agent.config import AgentConfig
from deepresearch_local.agent.events import RunFinished
from deepresearch_local.agent.protocol import parse_turn
from deepresearch_local.agent.runner import Researcher
from deepresearch_local.engines.scripted import ScriptedEngine
from deepresearch_local.store.sessions import SessionStore
from tests.agent.conftest import ANSWER_TURN, TODAY, call_turn, is_report_prompt, run, scripted
from tests.agent.scripted_tools import registry

SUMMARY_TURN = "<think>Condense.</think>\n<summary>\n- two stations were read.\n</summary>"


def _names(tools: Any) -> list[str]:
    return [t["function"]["name"] for t in tools]


def _visit(n: int) -> str:
    return call_turn("visit", url=[f"https://example.test/station-{n}"], goal="rainfall")


def test_each_research_turn_carries_the_tool_schemas_and_the_report_pass_none() -> None:
    engine = ScriptedEngine(respond=scripted(call_turn("search", query=["boiling point"]), ANSWER_TURN))
    tools = registry()
    result = run(engine, tools=tools, config=AgentConfig(mode="fold"))
    turns = [r.request for r in engine.requests if not is_report_prompt(r.prompt)]
    reports = [r.request for r in engine.requests if is_report_prompt(r.prompt)]
    assert len(turns) == 2 and len(reports) == 1, result.kinds()
    expected = tools.schemas(offline=False)
    assert len(expected) >= 2
    for request in turns:
        assert request.tools is not None and list(request.tools) == expected
        assert request.constrain_tool_calls is None  # the engine's own setting decides
    assert reports[0].tools is None


def test_an_offline_run_offers_only_the_offline_tools() -> None:
    engine = ScriptedEngine(respond=scripted(ANSWER_TURN))
    tools = registry()
    run(engine, tools=tools, config=AgentConfig(mode="react", write_report=False), offline=True)
    (turn,) = engine.requests
    offline_names = _names(tools.schemas(offline=True))
    assert turn.request.tools is not None and _names(turn.request.tools) == offline_names
    assert offline_names != _names(tools.schemas(offline=False))  # the test means something


def test_a_summary_request_is_not_constrained() -> None:
    engine = ScriptedEngine(respond=scripted(_visit(1), _visit(2), SUMMARY_TURN, ANSWER_TURN))
    run(engine, tools=registry(visit_words=600), config=AgentConfig(mode="react", budget_tokens=5000))
    summary = [r.request for r in engine.requests if "<summary>" in r.prompt and "station-2" in r.prompt]
    requests = [r.request for r in engine.requests if not is_report_prompt(r.prompt)]
    assert len(requests) == 4
    assert requests[2].tools is None and summary  # the ReSum request writes prose, not an action
    assert all(r.tools for i, r in enumerate(requests) if i != 2)


def test_the_real_llama_cpp_engine_gets_the_schemas_and_keeps_the_call_valid(qwen05b: Path) -> None:
    """With the real 0.5B model and constraint on, the engine builds its grammar from the run's
    schemas, and the first turn is an action the loop can take: an answer, or a declared tool with
    its required arguments."""
    from deepresearch_local.engines.base import Sampling
    from deepresearch_local.engines.constrained import plan_for
    from deepresearch_local.engines.llamacpp import LlamaCppEngine

    engine = LlamaCppEngine(qwen05b, context_tokens=4096, n_threads=1, constrain_tool_calls="on")
    seen: list[Any] = []
    generate = engine.generate

    def recording(request: Any, cancel: Any = None) -> Any:
        seen.append(request)
        return generate(request, cancel)

    engine.generate = recording  # type: ignore[method-assign]
    config = AgentConfig(
        mode="react",
        max_llm_calls=1,
        max_output_tokens=160,
        write_report=False,
        enable_thinking=False,
        sampling=Sampling.greedy(),
    )
    tools = registry()
    try:
        with SessionStore() as store:
            researcher = Researcher(engine, tools, store, config, today=TODAY)
            events = list(researcher.ask("Search the web: at what temperature does water boil?"))
            finished = events[-1]
            assert isinstance(finished, RunFinished)
            steps = store.steps(finished.run_id)
    finally:
        engine.unload()
    assert events and seen and seen[0].tools is not None
    assert _names(seen[0].tools) == _names(tools.schemas())
    # The engine compiled the grammar built from exactly these schemas for this prompt.
    assert plan_for(seen[0].prompt, tools.schemas()).grammar in engine._grammars
    first = next(s for s in steps if s.kind == "model")
    turn = parse_turn(first.data["text"])
    print(f"\nfirst turn ({first.data['finish']}): {first.data['text'][:300]!r}")
    assert turn.tool_call is not None or turn.answer, first.data
    if turn.tool_call is not None:
        tool = tools.get(turn.tool_call.name)
        assert tool is not None, turn.tool_call
        assert set(tool.parameters.get("required", [])) <= set(turn.tool_call.arguments)
