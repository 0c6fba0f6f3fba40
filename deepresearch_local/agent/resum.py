"""React mode near its budget: summarize the research so far and restart (ReSum), or force the answer."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from deepresearch_local.agent import prompts, react
from deepresearch_local.agent import steps as S
from deepresearch_local.agent.events import AgentEvent, Notice, TokenDelta
from deepresearch_local.agent.generation import Generated, generate
from deepresearch_local.agent.stats import RunStats

if TYPE_CHECKING:
    from deepresearch_local.agent.runner import Researcher

FORCED_TEXT = {
    "max_llm_calls": "the maximum number of model calls",
    "timeout": "the time limit",
    "context": "the memory available for this research",
    "loop": "repeating the same action",
}


def near_budget(
    researcher: Researcher, run_id: str, steps: list[S.Step], question: str, used: int, stats: RunStats
) -> Iterator[AgentEvent]:
    """React mode near the budget: summarize and restart (ReSum), or force the answer."""
    summaries = sum(1 for s in steps if s.kind == "summary")
    last_is_summary = any(s.kind == "summary" for s in steps[-2:])
    if researcher.config.near_budget == "force_answer" or last_is_summary or summaries >= 8:
        text = prompts.render("forced_answer", reason=FORCED_TEXT["context"])
        researcher._commit(run_id, steps, "forced", {"reason": "context", "text": text})
        yield Notice(
            len(steps), f"Context nearly full ({used}/{researcher.budget}): asking for a final answer."
        )
        return
    yield Notice(len(steps), f"Context nearly full ({used}/{researcher.budget}): summarizing and restarting.")
    share = researcher.config.observation_share
    while True:  # the request must fit too: show the observations smaller until it does
        msgs = react.summary_request(
            researcher.system_message(), question, steps, researcher._observation(share)
        )
        prompt = researcher.engine.render(
            msgs, tools=researcher._schemas(), enable_thinking=researcher.config.enable_thinking
        )
        if researcher.engine.count_tokens(prompt) <= researcher.budget or share < 0.05:
            break
        share /= 2
    result: Generated | None = None
    for event in generate(researcher, prompt, researcher.config.max_output_tokens):
        if isinstance(event, Generated):
            result = event
        elif isinstance(event, TokenDelta):
            yield event
    assert result is not None
    if result.cancelled:
        return
    summary = _summary_text(result.text)
    prompt_tokens = researcher.engine.count_tokens(prompt)
    stats.add(result, prompt_tokens)  # counted like on resume (RunStats.from_steps)
    researcher._commit(
        run_id,
        steps,
        "summary",
        {
            "summary": summary,
            "prompt_tokens": prompt_tokens,
            "completion_tokens": result.completion_tokens,
            "reused_tokens": result.reused_tokens,
        },
    )


def _summary_text(text: str) -> str:
    from deepresearch_local.agent.protocol import _between, _without_think

    inner = _between(text, "summary", allow_unclosed=True)
    return (inner if inner else _without_think(text) or text).strip()
