"""How the context is shared between prompt and output: exact at the edges, and turns sized for the model.

Fold mode's turn must hold its thinking, the whole rewritten report and a call, so its output limit is
at least the report cap plus room to think; react mode gets upstream's 10,000 where the context
allows. Whatever the settings, prompt budget + output limit never exceed the context, and every real
request of a run stays within both.
"""

from __future__ import annotations

import itertools
import re

import pytest

from deepresearch_local.agent.budget import UPSTREAM_OUTPUT, turn_sizes
from deepresearch_local.agent.config import AgentConfig
from deepresearch_local.agent.events import Notice
from deepresearch_local.engines.scripted import ScriptedEngine
from tests.agent.conftest import ANSWER_TURN, fold_turn, run
from tests.agent.scripted_tools import registry

CONTEXTS = (2048, 4096, 8191, 8192, 16384, 32768, 131072)
BUDGETS = (None, 1000, 6000, 28672, 10**6)
OUTPUTS = (None, 256, 4096, 10_000, 10**6)


@pytest.mark.parametrize("mode", ["fold", "react"])
def test_prompt_plus_output_never_exceeds_the_context(mode: str) -> None:
    for context, budget, output in itertools.product(CONTEXTS, BUDGETS, OUTPUTS):
        config = AgentConfig(mode=mode, budget_tokens=budget, max_output_tokens=output)  # type: ignore[arg-type]
        sizes = turn_sizes(context, config)
        case = (context, budget, output)
        assert sizes.budget + sizes.max_output <= context, case
        assert sizes.budget >= context // 2 or (budget is not None and sizes.budget == budget), case
        assert 1 <= sizes.max_output <= context // 2, case
        if output is not None:
            assert sizes.max_output == min(output, context // 2), case
        if budget is None:  # nothing is left unused
            assert sizes.budget + sizes.max_output == context, case
        # A fold turn always has room for the whole report and some thinking besides.
        assert sizes.report_cap + min(config.think_tokens, sizes.max_output // 2) <= sizes.max_output, case
        assert sizes.report_cap <= int(sizes.budget * config.report_share), case


def test_fold_output_is_the_report_cap_plus_thinking() -> None:
    sizes = turn_sizes(32768, AgentConfig(mode="fold"))
    assert (sizes.budget, sizes.max_output, sizes.report_cap) == (23630, 9138, 7089)
    assert sizes.report_cap + 2048 + 1 == sizes.max_output  # one token of rounding, no more
    assert sizes.report_cap == int(0.3 * sizes.budget)
    # The numbers: a 4,096-token turn cannot rewrite a report of 0.3 x 28K; its cap follows the turn.
    fixed = turn_sizes(32768, AgentConfig(mode="fold", max_output_tokens=4096))
    assert (fixed.budget, fixed.report_cap) == (28672, 4096 - 2048)


def test_react_output_is_upstreams_where_the_context_allows() -> None:
    assert turn_sizes(32768, AgentConfig(mode="react")).max_output == UPSTREAM_OUTPUT
    assert turn_sizes(131072, AgentConfig(mode="react")).max_output == UPSTREAM_OUTPUT
    assert turn_sizes(16384, AgentConfig(mode="react")).max_output == 16384 // 3
    unknown = turn_sizes(None, AgentConfig(mode="react", budget_tokens=50_000))
    assert (unknown.budget, unknown.max_output) == (50_000, UPSTREAM_OUTPUT)  # a server that cannot say


@pytest.mark.parametrize("mode", ["fold", "react"])
def test_every_request_of_a_run_fits_at_the_edge(mode: str) -> None:
    """Prompts pushed to the budget by long pages: each request's prompt and output fit the context,
    and the output a turn gets is never cut below its limit by the prompt."""
    context = 6144
    page = fold_turn(
        "- the long page is about rain", "visit", url=["https://example.test/long-page"], goal="rain"
    )
    pages = [page.replace("long-page", f"long-{n}") for n in range(3)]

    def respond(prompt: str) -> str:
        if "Write the findings section" in prompt or "reached the limit of this research" in prompt:
            return ANSWER_TURN
        return pages[min(prompt.count("<tool_response>"), 2)] if "long-2" not in prompt else ANSWER_TURN

    engine = ScriptedEngine(respond=respond, context_tokens=context)
    config = AgentConfig(mode=mode, near_budget="force_answer")  # type: ignore[arg-type]
    result = run(engine, tools=registry(visit_words=600), config=config)
    sizes = result.researcher.sizes
    assert sizes.budget + sizes.max_output == context
    research = [r for r in engine.requests if "Write the findings section" not in r.prompt]
    assert max(r.prompt_tokens for r in research) > sizes.budget * 0.7  # near the edge
    if mode == "react":  # the history outgrew the budget; the forced prompt was shown smaller to fit
        full = [int(m) for n in result.of(Notice) for m in re.findall(r"nearly full \((\d+)/", n.message)]
        assert full and full[0] > sizes.budget
    for r in engine.requests:
        assert r.prompt_tokens + r.request.max_tokens <= context
    for r in research:
        assert r.prompt_tokens <= sizes.budget
        assert r.request.max_tokens == sizes.max_output
    assert result.finished.answer is not None


def test_a_long_research_on_a_small_budget_ends_with_an_answer_in_both_modes() -> None:
    """``deepresearch bench context --steps 60 --budget 8192``: react used to run out of context after
    its eight summaries with no answer at all; its forced prompt now shows observations smaller."""
    from deepresearch_local.bench.context import bench

    result = bench(60, 8192)
    for mode in ("react", "fold"):
        figures = result[mode]
        assert figures["answered"], (mode, figures["termination"])
        assert figures["max_prompt_tokens"] <= 8192
        assert figures["peak_context_tokens"] <= result["context_tokens"]
    assert result["react"]["summaries"] == 8 and result["react"]["termination"] == "forced_answer"
    assert result["fold"]["termination"] == "answer"
