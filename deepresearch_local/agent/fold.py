"""Fold mode: IterResearch-style rounds whose prompt stays flat however long the research runs.

Each round's prompt holds only the system message, the question, the current report and the
latest action with its (size-capped) result. The report the model rewrites every round is the
only memory carried forward; the full trajectory stays in the store.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from deepresearch_local.agent import prompts
from deepresearch_local.agent.steps import Step, latest_report, model_steps

EMPTY_REPORT = "(empty: nothing has been found yet)"


def truncate_to_tokens(text: str, limit: int, count: Callable[[str], int]) -> str:
    """The longest head of ``text`` within ``limit`` tokens, with a note saying what was cut."""
    if limit <= 0:
        return f"[{len(text)} characters left out: no room in the context]"
    if count(text) <= limit:
        return text
    lo, hi = 0, len(text)
    note_room = 24
    while hi - lo > 64:
        mid = (lo + hi) // 2
        if count(text[:mid]) + note_room <= limit:
            lo = mid
        else:
            hi = mid
    head = text[:lo]
    cut = head.rfind("\n")
    if cut > lo * 0.8:
        head = head[:cut]
    return f"{head}\n[... truncated: {len(head)} of {len(text)} characters shown]"


def capped_observation(step: Step, limit: int, count: Callable[[str], int]) -> str:
    """A tool step's observation within ``limit`` tokens; the loop's notes at its end stay whole."""
    observation = str(step.data["observation"])
    if count(observation) <= limit:
        return observation
    notes = str(step.data.get("notes") or "")
    body = observation[: -len(notes)] if notes and observation.endswith(notes) else observation
    return truncate_to_tokens(body, limit - (count(notes) if notes else 0), count) + notes


def _last_action_and_result(steps: Sequence[Step]) -> tuple[str, str, str, str]:
    """(action text, observation, the loop's notes on it, extra reminder) from the newest steps."""
    action, observation, notes, reminder = "(none yet: this is the first round)", "(none)", "", ""
    for step in reversed(steps):
        if step.kind == "model":
            call = step.data.get("tool_call")
            if call:
                action = "<tool_call>\n" + _call_json(call) + "\n</tool_call>"
            elif step.data.get("problems"):
                action = "(your reply could not be used)"
            break
    for step in reversed(steps):
        if step.kind == "tool":
            observation = step.data["observation"]
            notes = str(step.data.get("notes") or "")
            if notes and observation.endswith(notes):
                observation = observation[: -len(notes)]
            break
        if step.kind == "notice":
            observation = step.data["text"]
            break
        if step.kind == "model":
            break
    for step in reversed(steps):
        if step.kind == "forced":
            reminder = step.data["text"] + "\n\n"
            break
        if step.kind == "model":
            break
    return action, observation, notes, reminder


def _call_json(call: dict[str, Any]) -> str:
    import json

    return json.dumps({"name": call["name"], "arguments": call["arguments"]}, ensure_ascii=False)


def messages(
    system: str,
    question: str,
    steps: Sequence[Step],
    *,
    budget: int,
    max_rounds: int,
    observation_share: float,
    report_share: float,
    count: Callable[[str], int],
    fixed_overhead: int,
) -> list[dict[str, Any]]:
    """This round's prompt. ``fixed_overhead``: tokens of the system message with the tool schemas."""
    report = latest_report(steps) or EMPTY_REPORT
    report_cap = int(budget * report_share)
    if count(report) > report_cap:
        report = truncate_to_tokens(report, report_cap, count)
        report += "\n(This report is too long: condense it this round, keeping every fact and source.)"
    action, observation, notes, reminder = _last_action_and_result(steps)
    frame = prompts.render(
        "fold_round",
        question=question,
        round=len(model_steps(steps)) + 1,
        max_rounds=max_rounds,
        report=report,
        action=action,
        observation="",
        reminder=reminder,
    )
    room = budget - fixed_overhead - count(frame) - 16
    limit = min(room, int(budget * observation_share)) - (count(notes) if notes else 0)
    observation = truncate_to_tokens(observation, limit, count) + notes
    user = prompts.render(
        "fold_round",
        question=question,
        round=len(model_steps(steps)) + 1,
        max_rounds=max_rounds,
        report=report,
        action=action,
        observation=observation,
        reminder=reminder,
    )
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]
