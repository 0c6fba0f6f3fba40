"""The committed steps of a run, and what can be derived from them.

A run's state is nothing but its list of steps in the store: every model output and every tool
result is committed before the next model call, so a killed run resumes from exactly here.

Each kind of step is a typed dataclass in ``agent.step_kinds`` (its fields, its serialization,
how old rows read); ``Step`` is a stored row as the loop reads it (``typed`` gives the dataclass).
The events a run shows for a step come from ``agent.step_events.events_of``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from deepresearch_local.agent.step_kinds import TypedStep, step_from_dict


@dataclass(frozen=True)
class Step:
    index: int
    kind: str
    data: dict[str, Any]

    @property
    def typed(self) -> TypedStep:
        return step_from_dict(self.kind, self.data)


def model_steps(steps: Sequence[Step]) -> list[Step]:
    return [s for s in steps if s.kind == "model"]


def valid_summary(step: Step) -> bool:
    return step.kind == "summary" and bool(step.data.get("valid", True))


def llm_calls(steps: Sequence[Step]) -> int:
    return sum(1 for s in steps if s.kind in ("model", "summary"))


def has_complete_report(step: Step) -> bool:
    return bool(step.data.get("report")) and bool(step.data.get("report_complete", True))


def _memory(step: Step) -> bool:
    """A model turn whose report counts: an unusable turn is asked again with the same report and
    results, so what it wrote (even a complete report) does not replace them."""
    return step.kind == "model" and is_usable(step) and bool(step.data.get("report"))


def latest_report(steps: Sequence[Step]) -> str:
    """The newest complete report written in a model turn (fold mode's memory).

    A report cut off mid-way never replaces a complete one; only while no complete report exists
    does the newest cut one stand in (it is all there is)."""
    cut = ""
    for step in reversed(steps):
        if not _memory(step):
            continue
        if has_complete_report(step):
            return str(step.data["report"])
        cut = cut or str(step.data["report"])
    return cut


def unabsorbed_tool_steps(steps: Sequence[Step]) -> list[Step]:
    """Tool results no complete report has taken in yet: those after the newest model turn with a
    complete report (each round's report absorbs the result that round showed)."""
    start = 0
    for i in range(len(steps) - 1, -1, -1):
        if _memory(steps[i]) and has_complete_report(steps[i]):
            start = i + 1
            break
    return [s for s in steps[start:] if s.kind == "tool"]


def is_usable(step: Step) -> bool:
    """A model turn with an action the loop can take (a tool call or an answer)."""
    return bool(step.data.get("tool_call") or step.data.get("answer"))


def unusable_streak(steps: Sequence[Step]) -> int:
    """How many model turns in a row, up to now, had neither a tool call nor an answer."""
    count = 0
    for step in reversed(steps):
        if step.kind == "model":
            if is_usable(step):
                break
            count += 1
        elif step.kind == "tool":
            break
    return count


def forced_reason(steps: Sequence[Step]) -> str | None:
    for step in reversed(steps):
        if step.kind == "forced":
            return str(step.data["reason"])
    return None


def elapsed(steps: Sequence[Step]) -> float:
    for step in reversed(steps):
        if "elapsed" in step.data:
            return float(step.data["elapsed"])
    return 0.0


def repeated_calls(steps: Sequence[Step], key: str) -> int:
    """How many of the latest consecutive tool calls (before this one) had the same key."""
    count = 0
    for step in reversed(steps):
        if step.kind != "tool":
            continue
        if step.data.get("key") == key:
            count += 1
        else:
            break
    return count


def loop_notices(steps: Sequence[Step]) -> int:
    return sum(1 for s in steps if s.kind == "tool" and s.data.get("loop_notice"))
