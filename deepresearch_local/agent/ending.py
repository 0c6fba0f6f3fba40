"""How a run ends, read from its committed steps: its termination, its answer, its report."""

from __future__ import annotations

from collections.abc import Sequence

from deepresearch_local.agent import steps as S
from deepresearch_local.agent.events import Termination

FORCED_TERMINATION: dict[str, tuple[Termination, Termination]] = {
    # reason: (termination with an answer, termination without one)
    "max_llm_calls": ("forced_answer", "max_llm_calls"),
    "timeout": ("forced_answer", "timeout"),
    "context": ("forced_answer", "context_exhausted"),
    "loop": ("loop_forced_answer", "no_answer"),
    "unusable": ("forced_answer", "no_answer"),
}

Ending = tuple[Termination, str | None]
"""How a run ended and its answer, if any."""


def final_answer(steps: Sequence[S.Step]) -> str | None:
    for step in reversed(steps):
        if step.kind == "model" and step.data.get("answer"):
            return str(step.data["answer"])
    return None


def answered(steps: Sequence[S.Step]) -> Ending:
    """The ending of a run that has its answer (after a forced instruction, a forced answer)."""
    reason = S.forced_reason(steps)
    return (FORCED_TERMINATION[reason][0] if reason else "answer"), final_answer(steps)


def unanswered(steps: Sequence[S.Step]) -> Ending:
    """The ending of a run whose forced final turn brought no answer."""
    reason = S.forced_reason(steps) or "max_llm_calls"
    return FORCED_TERMINATION[reason][1], None


def final_report(steps: Sequence[S.Step]) -> str | None:
    for step in reversed(steps):
        if step.kind == "report":
            return str(step.data["markdown"])
    return None
