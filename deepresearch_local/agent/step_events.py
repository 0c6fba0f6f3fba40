"""What a run shows for each committed step: one mapping, used live and on replay.

The loop yields ``events_of(step, ...)`` as it commits a step, and ``session_replay.replay_run``
yields the same for each stored step, so a replayed run shows exactly what the live one showed.

Some events exist before their step does: a model turn is announced (``StepStarted``) before the
model is called, a tool call (``ToolCalled``) before the tool runs, a ReSum attempt (its first
``Notice``) before the summary is written. ``events_of`` lists them first; the live loop, which
already yielded that opening event, asks for the rest with ``announced=True``.

Live-only, never replayed from here: ``TokenDelta`` and ``ContextUsage`` (the stream as it was
generated and its speeds), and ``ErrorEvent`` (an engine failure ends the run, it is no step).
A model call cut off by a cancel is not committed, so its opening event (``StepStarted``, or the
ReSum attempt's first ``Notice``) is live-only too. ``Cancelled`` and ``RunFinished`` close the run,
not a step: ``replay_run`` rebuilds them from the run's row.
"""

from __future__ import annotations

from deepresearch_local.agent.events import (
    AgentEvent,
    AnswerReady,
    Notice,
    ReportReady,
    ReportUpdated,
    StepStarted,
    ToolCalled,
    ToolResulted,
)
from deepresearch_local.agent.step_kinds import (
    ForcedStep,
    ModelStep,
    NoticeStep,
    ReportStep,
    SummaryStep,
    ToolStep,
    TypedStep,
)

REPORT_ASKED = "The reply left out its report: asking again."


def unusable_message(problems: str) -> str:
    return f"Unusable reply: {problems or 'no action'}."


def summarizing_message(used: int, budget: int) -> str:
    full = f"Context nearly full ({used}/{budget})" if used else "Context nearly full"
    return f"{full}: summarizing and restarting."


def loop_message(name: str) -> str:
    return f"The model repeated the same {name} call."


def events_of(step: TypedStep, *, turn: int, max_steps: int, announced: bool = False) -> list[AgentEvent]:
    """The events a run shows for ``step``; ``turn``: model turns committed up to and including it.

    ``announced``: leave out the opening event the live loop yielded before the step existed."""
    opening, rest = _events(step, turn, max_steps)
    return rest if announced else opening + rest


def _events(step: TypedStep, turn: int, max_steps: int) -> tuple[list[AgentEvent], list[AgentEvent]]:
    if isinstance(step, ModelStep):
        rest: list[AgentEvent] = []
        if step.report:
            rest.append(ReportUpdated(turn, step.report))
        if step.answer:
            rest.append(AnswerReady(step.answer))
        return [StepStarted(turn, max_steps)], rest
    if isinstance(step, ToolStep):
        result = ToolResulted(
            turn, step.name, step.summary, step.observation, step.error, list(step.evidence_ids)
        )
        rest = [result, Notice(turn, loop_message(step.name))] if step.loop_notice else [result]
        return [ToolCalled(turn, step.name, dict(step.arguments))], rest
    if isinstance(step, NoticeStep):
        message = REPORT_ASKED if step.reason == "report" else unusable_message(step.problems)
        return [], [Notice(turn, message)]
    if isinstance(step, ForcedStep):
        return [], [Notice(turn, step.message)]
    if isinstance(step, SummaryStep):
        refused = [] if step.valid else [Notice(turn, f"The summary could not be used: {step.problem}.")]
        return [Notice(turn, summarizing_message(step.used, step.budget))], list(refused)
    if isinstance(step, ReportStep):
        notice: list[AgentEvent] = [Notice(turn, step.notice)] if step.notice else []
        return [], [*notice, ReportReady(step.markdown, step.path, step.citations, step.dropped)]
    return [], []  # a seed step shows through its tool step; an unknown kind shows nothing
