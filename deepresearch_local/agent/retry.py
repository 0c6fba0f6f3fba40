"""What the loop does with a turn it cannot use as it is.

A turn with neither a tool call nor an answer (thinking cut by the output limit, a loop stopped by
the repetition guard, broken JSON) gets a format reminder. In fold mode the next round shows the
same report and the same results again, so nothing the model had not yet taken in is lost; after
``unusable_retries`` such turns in a row an answer is forced, with those results still shown.

A fold turn that calls a tool without a complete report, in a round that showed a result, is asked
once more with a reminder that names ``<report>``; if that fails too, the tool runs and the result
the report left out stays in the next round's prompt (``steps.unabsorbed_tool_steps``).
Every reminder is a committed step, so a resumed run makes the same decision.
"""

from __future__ import annotations

from collections.abc import Iterator

from deepresearch_local.agent import prompts
from deepresearch_local.agent import steps as S
from deepresearch_local.agent.config import AgentConfig
from deepresearch_local.agent.events import AgentEvent
from deepresearch_local.agent.state import RunState
from deepresearch_local.agent.step_events import events_of, unusable_message
from deepresearch_local.agent.step_kinds import ForcedStep, NoticeStep

UNUSABLE_TEXT = "replies that could not be used"


def problems_text(max_output: int, last: S.Step) -> str:
    problems = "; ".join(last.data.get("problems") or []) or "no action"
    if last.data.get("finish") == "length":
        problems += f" (the reply reached the {max_output}-token limit: keep the thinking short)"
    elif last.data.get("finish") == "repetition":
        problems += " (the reply kept repeating itself and was stopped)"
    return problems


def remind(state: RunState, last: S.Step) -> Iterator[AgentEvent]:
    """A turn with neither a usable tool call nor an answer: tell the model what went wrong."""
    steps = state.steps
    problems = problems_text(state.prompter.max_output, last)
    names = ", ".join(state.tool_names())
    fold = state.config.mode == "fold"
    text = prompts.render(
        "fold_format_reminder" if fold else "format_reminder", problems=problems, tools=names
    )
    index = len(S.model_steps(steps))
    if fold and S.unusable_streak(steps) > state.config.unusable_retries and S.forced_reason(steps) is None:
        forced = prompts.render("forced_answer", reason=UNUSABLE_TEXT)
        message = unusable_message(problems) + " Too many in a row: asking for a final answer."
        step: ForcedStep | NoticeStep = ForcedStep("unusable", f"{text}\n\n{forced}", message)
    else:
        step = NoticeStep(text, "format", problems)
    state.commit(step.kind, step.to_dict())
    yield from events_of(step, turn=index, max_steps=state.config.max_llm_calls)


def report_left_out(config: AgentConfig, steps: list[S.Step], last: S.Step) -> bool:
    """A fold turn with a tool call but no complete report, in a round that showed a result the
    report has not taken in, and not already the answer to a report reminder."""
    if config.mode != "fold" or S.has_complete_report(last) or last.data.get("forced"):
        return False
    before = steps[: last.index]
    if not S.unabsorbed_tool_steps(before):
        return False  # nothing to lose: the first round, or the result was already taken in
    asked = before[-1].kind == "notice" and before[-1].data.get("reason") == "report"
    return not asked


def ask_for_report(state: RunState) -> Iterator[AgentEvent]:
    step = NoticeStep(prompts.load("report_reminder"), "report")
    state.commit(step.kind, step.to_dict())
    yield from events_of(step, turn=state.turn, max_steps=state.config.max_llm_calls)
