"""A research turn: the prompt within the budget, the model's streamed reply, its committed step.

Before the model is called the limits are checked (call count, time, the budget); a limit
commits a ``forced`` step instead, and the next turn is the final one. The turn streams with the
run's tool schemas, so an engine that can constrain its output keeps the action well-formed.
"""

from __future__ import annotations

from collections.abc import Iterator

from deepresearch_local.agent import prompts
from deepresearch_local.agent import steps as S
from deepresearch_local.agent.events import AgentEvent, ContextUsage, StepStarted
from deepresearch_local.agent.generation import Generated, stream
from deepresearch_local.agent.protocol import final_answer_salvage, parse_turn
from deepresearch_local.agent.resum import FORCED_TEXT, force_for_context, near_budget
from deepresearch_local.agent.state import RunState
from deepresearch_local.agent.step_events import events_of
from deepresearch_local.agent.step_kinds import ForcedStep, ModelStep
from deepresearch_local.errors import ContextOverflow


def limit_reached(state: RunState) -> str | None:
    """The limit the run has reached ("max_llm_calls", "timeout"), if any."""
    if S.llm_calls(state.steps) >= state.config.max_llm_calls:
        return "max_llm_calls"
    if state.elapsed() >= state.config.max_minutes * 60:
        return "timeout"
    return None


def next_turn(state: RunState) -> Iterator[AgentEvent]:
    """The model's turn, or, at a limit not yet announced, the instruction to answer now."""
    limit = limit_reached(state)
    if limit and S.forced_reason(state.steps) is None:
        text = prompts.render("forced_answer", reason=FORCED_TEXT[limit])
        message = f"Limit reached ({FORCED_TEXT[limit]}): asking for a final answer."
        step = ForcedStep(limit, text, message)
        state.commit(step.kind, step.to_dict())
        yield from events_of(step, turn=state.turn, max_steps=state.config.max_llm_calls)
        return
    yield from model_turn(state)


def model_turn(state: RunState) -> Iterator[AgentEvent]:
    cfg, prompter, steps = state.config, state.prompter, state.steps
    budget = prompter.budget
    index = state.turn + 1
    forced = S.forced_reason(steps) is not None and steps[-1].kind == "forced"
    if forced:  # the last call must fit: show the observations smaller rather than give up
        prompt = prompter.fitted(state.prompt_question, steps, budget)
    else:
        prompt = prompter.render(prompter.messages(state.prompt_question, steps))
    used = state.call.engine.count_tokens(prompt)
    if cfg.mode == "react" and not forced and used > budget * cfg.summarize_at:
        yield from near_budget(state, used)
        return
    if used > budget:
        if forced:
            raise ContextOverflow(
                f"The final prompt needs {used} tokens but the budget is {budget}. Allocate a "
                "larger context (--context) or budget (--budget), or ask a shorter question."
            )
        message = f"The prompt ({used} tokens) no longer fits the budget ({budget})."
        yield from force_for_context(state, message)
        return
    yield StepStarted(index, cfg.max_llm_calls)  # after the budget checks: once per model step
    yield ContextUsage(index, used, budget)
    result: Generated | None = None
    for event in stream(state.call, prompt, prompter.max_output, tools=prompter.schemas()):
        if isinstance(event, Generated):
            result = event
        else:
            yield event
    assert result is not None
    state.stats.add(result, used)
    yield ContextUsage(index, used, budget, result.reused_tokens, result.decode_tps, result.prefill_tps)
    if result.cancelled:
        return  # nothing committed: the turn is redone on resume
    step = _model_step(result, used, state.elapsed(), forced)
    state.commit(step.kind, step.to_dict())
    yield from events_of(step, turn=index, max_steps=cfg.max_llm_calls, announced=True)


def _model_step(result: Generated, used: int, elapsed: float, forced: bool) -> ModelStep:
    parsed = parse_turn(result.text)
    if forced:  # the final turn: an answer the model wrote without its tags still reaches the user
        parsed = final_answer_salvage(parsed)
    call = parsed.tool_call
    return ModelStep(
        text=parsed.text,
        think=parsed.think,
        tool_call={"name": call.name, "arguments": call.arguments} if call else None,
        answer=parsed.answer,
        report=parsed.report,
        report_complete=parsed.report_complete,
        problems=list(parsed.problems),
        extra_tool_calls=parsed.extra_tool_calls,
        prompt_tokens=used,
        completion_tokens=result.completion_tokens,
        reused_tokens=result.reused_tokens,
        finish=result.reason,
        elapsed=elapsed,
        forced=forced,
    )
