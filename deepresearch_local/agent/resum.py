"""React mode near its budget: summarize the research so far and restart (ReSum), or force the answer.

A summary is only used when it is one: a closed ``<summary>`` with no tool call in it. Otherwise
(the model called a tool, or was cut off mid-thought) the request is made once more without the
tools in the system message; if that fails too, an answer is forced from the full history (its
observations shown smaller until the prompt fits) instead of restarting from nothing. Every
attempt, valid or not, is a committed ``summary`` step.
"""

from __future__ import annotations

from collections.abc import Iterator

from deepresearch_local.agent import prompts, react
from deepresearch_local.agent import steps as S
from deepresearch_local.agent.events import AgentEvent, Notice, TokenDelta
from deepresearch_local.agent.generation import Generated, stream
from deepresearch_local.agent.state import RunState
from deepresearch_local.agent.step_events import events_of, summarizing_message
from deepresearch_local.agent.step_kinds import ForcedStep, SummaryStep

FORCED_TEXT = {
    "max_llm_calls": "the maximum number of model calls",
    "timeout": "the time limit",
    "context": "the memory available for this research",
    "loop": "repeating the same action",
}
MAX_SUMMARIES = 8
"""Restarts per run; after that the answer is forced."""


def _failed_attempts(steps: list[S.Step]) -> int:
    """Invalid summary attempts at the end of the history (since the last model turn)."""
    count = 0
    for step in reversed(steps):
        if step.kind != "summary" or S.valid_summary(step):
            break
        count += 1
    return count


def force_for_context(state: RunState, message: str) -> Iterator[AgentEvent]:
    """Commit the instruction to answer now, the context being spent (``message`` tells the user)."""
    step = ForcedStep("context", prompts.render("forced_answer", reason=FORCED_TEXT["context"]), message)
    state.commit(step.kind, step.to_dict())
    yield from events_of(step, turn=state.turn, max_steps=state.config.max_llm_calls)


def near_budget(state: RunState, used: int) -> Iterator[AgentEvent]:
    """React mode near the budget (the next prompt takes ``used`` tokens): summarize and restart
    (ReSum), or force the answer."""
    steps, prompter = state.steps, state.prompter
    summaries = sum(1 for s in steps if S.valid_summary(s))
    last_is_summary = any(S.valid_summary(s) for s in steps[-2:])
    full = f"Context nearly full ({used}/{prompter.budget})"
    if state.config.near_budget == "force_answer" or last_is_summary or summaries >= MAX_SUMMARIES:
        yield from force_for_context(state, f"{full}: asking for a final answer.")
        return
    failed = _failed_attempts(steps)
    if failed >= 2:
        yield from force_for_context(
            state, f"{full} and no usable summary came back: asking for a final answer."
        )
        return
    with_tools = failed == 0  # the retry shows no tools, so the model cannot call one
    turn = state.turn
    yield Notice(turn, summarizing_message(used, prompter.budget))  # the summary step's opening event
    share = state.config.observation_share
    system = prompter.system_message(tools=with_tools)
    count = state.call.engine.count_tokens
    while True:  # the request must fit too: show the observations smaller until it does
        msgs = react.summary_request(system, state.prompt_question, steps, prompter.observation(share))
        prompt = prompter.render(msgs)
        if count(prompt) <= prompter.budget or share < 0.05:
            break
        share /= 2
    result: Generated | None = None
    for event in stream(state.call, prompt, prompter.max_output):  # prose: no tools to constrain to
        if isinstance(event, Generated):
            result = event
        elif isinstance(event, TokenDelta):
            yield event
    assert result is not None
    if result.cancelled:
        return
    summary, problem = summary_text(result.text)
    if problem and result.reason == "length":
        problem += f" (it reached the {prompter.max_output}-token limit)"
    prompt_tokens = count(prompt)
    state.stats.add(result, prompt_tokens)  # counted like on resume (RunStats.from_steps)
    step = SummaryStep(
        summary=summary,
        valid=problem is None,
        problem=problem,
        text=result.text,
        tools=with_tools,
        prompt_tokens=prompt_tokens,
        completion_tokens=result.completion_tokens,
        reused_tokens=result.reused_tokens,
        used=used,
        budget=prompter.budget,
    )
    state.commit(step.kind, step.to_dict())
    yield from events_of(step, turn=turn, max_steps=state.config.max_llm_calls, announced=True)


def summary_text(text: str) -> tuple[str, str | None]:
    """(the summary, None) for a closed ``<summary>`` without a tool call; ("", why) otherwise."""
    from deepresearch_local.agent.protocol import _between, _without_think, cut_hallucinated_response

    text = cut_hallucinated_response(text)
    if "<think>" in text and "</think>" not in text:
        return "", "it was cut off while thinking"
    action = _without_think(text)
    if "<tool_call>" in action:
        return "", "it called a tool instead of summarizing"
    inner = _between(action, "summary")
    if inner is None:
        cut = "<summary>" in action
        return "", "it was cut off before </summary>" if cut else "it has no <summary></summary>"
    if not inner.strip():
        return "", "the <summary> is empty"
    return inner.strip(), None
