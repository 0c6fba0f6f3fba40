"""The committed steps of a run, and what can be derived from them.

A run's state is nothing but its list of steps in the store: every model output and every tool
result is committed before the next model call, so a killed run resumes from exactly here.

Step kinds and their data:
- ``model``: ``text`` (the turn as replayed), ``think``, ``tool_call`` ({name, arguments} or None),
  ``answer``, ``report``, ``problems``, ``prompt_tokens``, ``completion_tokens``, ``reused_tokens``,
  ``elapsed`` (run seconds so far), ``forced`` (this was the forced final call)
- ``tool``: ``name``, ``arguments``, ``observation`` (ends with ``notes``: what the loop told the model,
  e.g. a loop notice), ``error``, ``summary``, ``evidence_ids``, ``key``, ``loop_notice``
- ``notice``: ``text`` (said to the model as a user turn: a format reminder)
- ``forced``: ``reason`` ("max_llm_calls", "timeout", "loop", "context"), ``text``
- ``summary``: ``summary`` (ReSum: the history restarts from here), ``prompt_tokens``, ``completion_tokens``,
  ``reused_tokens``
- ``report``: ``markdown``, ``citations``, ``dropped``, ``flagged``, ``path``; ``prompt_tokens``,
  ``completion_tokens``, ``reused_tokens`` when the model wrote the findings
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Step:
    index: int
    kind: str
    data: dict[str, Any]


def model_steps(steps: Sequence[Step]) -> list[Step]:
    return [s for s in steps if s.kind == "model"]


def llm_calls(steps: Sequence[Step]) -> int:
    return sum(1 for s in steps if s.kind in ("model", "summary"))


def latest_report(steps: Sequence[Step]) -> str:
    """The newest report written in a model turn (fold mode's memory)."""
    for step in reversed(steps):
        if step.kind == "model" and step.data.get("report"):
            return str(step.data["report"])
    return ""


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
