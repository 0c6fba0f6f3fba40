"""Grounded from the first step: an offline run over a library opens with a search of it (``agent.seed``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from deepresearch_local.agent.config import AgentConfig
from deepresearch_local.engines.scripted import ScriptedEngine
from deepresearch_local.library import Library
from deepresearch_local.tools.base import ToolRegistry
from deepresearch_local.tools.local import local_tools
from tests.agent.conftest import ANSWER_TURN, run, scripted

QUESTION = "Which shelf holds the blue archive box?"
FACT = "The blue archive box is kept on shelf 14 in the north storage room."


@pytest.fixture
def library(tmp_path: Path) -> Iterator[Library]:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "archive.md").write_text(f"# Archive handbook\n\n{FACT}\n\nThe red box moved to shelf 3.\n")
    with Library() as lib:
        lib.add(docs, "docs")
        yield lib


def tools(library: Library) -> ToolRegistry:
    return ToolRegistry(local_tools(library))


@pytest.mark.parametrize("mode", ["fold", "react"])
def test_an_offline_run_over_a_library_starts_from_a_search_of_it(library: Library, mode: str) -> None:
    engine = ScriptedEngine(respond=scripted(ANSWER_TURN))
    result = run(engine, tools=tools(library), config=AgentConfig(mode=mode), offline=True, question=QUESTION)  # type: ignore[arg-type]
    assert result.kinds() == ["seed", "tool", "model", "report"]
    seed, searched = result.steps[0], result.steps[1]
    assert seed.data["tool_call"] == {"name": "local_search", "arguments": {"query": [QUESTION]}}
    assert searched.data["name"] == "local_search" and "shelf 14" in searched.data["observation"]
    first = result.model_prompts[0]
    # In the model's own format: the call as it writes calls, the result in <tool_response>.
    assert '<tool_call>\n{"name": "local_search", "arguments": {"query": ["Which shelf' in first
    assert "<tool_response>\n" in first and "shelf 14" in first.rsplit("<tool_response>", 1)[1]
    if mode == "fold":
        assert "(round 1 of at most" in first  # the seed is no round and no model call
    assert result.finished.llm_calls == 2  # the answer and the report pass, not the seed
    evidence = result.store.evidence(result.finished.run_id)
    assert any(str(e["source"]).endswith("archive.md") for e in evidence)  # citable like any result


def test_the_setting_turns_it_off(library: Library) -> None:
    engine = ScriptedEngine(respond=scripted(ANSWER_TURN))
    config = AgentConfig(mode="fold", seed_library_search=False)
    result = run(engine, tools=tools(library), config=config, offline=True, question=QUESTION)
    assert result.kinds() == ["model", "report"]


def test_no_seed_online_or_without_a_library() -> None:
    with Library() as empty:
        engine = ScriptedEngine(respond=scripted(ANSWER_TURN))
        result = run(engine, tools=tools(empty), config=AgentConfig(mode="fold"), offline=True)
        assert result.kinds() == ["model", "report"]


def test_online_runs_are_not_seeded(library: Library) -> None:
    engine = ScriptedEngine(respond=scripted(ANSWER_TURN))
    result = run(engine, tools=tools(library), config=AgentConfig(mode="fold"), offline=False)
    assert result.kinds() == ["model", "report"]
