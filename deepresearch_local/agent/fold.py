"""Fold mode: IterResearch-style rounds whose prompt stays flat however long the research runs.

Each round's prompt holds only the system message, the question, the current report and the
latest action with its (size-capped) result. The report the model rewrites every round is the
only memory carried forward; the full trajectory stays in the store. A result stays in the prompt
until a complete report has taken it in, so a failed or report-less turn never drops it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from deepresearch_local.agent import fold_keep, prompts, react
from deepresearch_local.agent.steps import Step, latest_report, model_steps, unabsorbed_tool_steps

EMPTY_REPORT = "(empty: nothing has been found yet)"
CONDENSE_NOTE = "(This report is too long: condense it this round, keeping every fact and source.)"


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


def _call_json(call: dict[str, Any]) -> str:
    import json

    return json.dumps({"name": call["name"], "arguments": call["arguments"]}, ensure_ascii=False)


def _action(tool_step: Step) -> str:
    return "<tool_call>\n" + _call_json(tool_step.data) + "\n</tool_call>"


def _body_and_notes(step: Step) -> tuple[str, str]:
    observation = str(step.data["observation"])
    notes = str(step.data.get("notes") or "")
    if notes and observation.endswith(notes):
        observation = observation[: -len(notes)]
    return observation, notes


def _since_last_turn(steps: Sequence[Step]) -> tuple[str, str]:
    """(what the loop said about the last turn, a forced-answer instruction) since the newest model turn."""
    notice, forced = "", ""
    for step in reversed(steps):
        if step.kind == "model":
            break
        if step.kind == "notice" and not notice:
            notice = str(step.data["text"])
        if step.kind == "forced" and not forced:
            forced = str(step.data["text"]) + "\n\n"
    return notice, forced


def tool_block(body: str) -> str:
    return f"<tool_response>\n{body}\n</tool_response>"


def _render(
    question: str,
    round_: int,
    max_rounds: int,
    report: str,
    earlier: str,
    action: str,
    result: str,
    reminder: str,
) -> str:
    return prompts.render(
        "fold_round",
        question=question,
        round=round_,
        max_rounds=max_rounds,
        report=report,
        earlier=earlier,
        action=action,
        observation=result,
        reminder=reminder,
    )


def messages(
    system: str,
    question: str,
    steps: Sequence[Step],
    *,
    budget: int,
    max_rounds: int,
    observation_share: float,
    report_cap: int,
    count: Callable[[str], int],
    fixed_overhead: int,
    keep_fraction: float = 0.0,
) -> list[dict[str, Any]]:
    """This round's prompt. ``fixed_overhead``: tokens of the rendered system message.

    ``keep_fraction`` > 0: earlier rounds stay in the prompt while it is under that share of the
    budget (``agent.fold_keep``); 0 folds every round."""
    if keep_fraction > 0:
        cap = int(budget * observation_share)
        rounds = _rounds_after(steps)

        def shown(step: Step) -> str:  # a kept result, with the round it opens inside its response
            tail = prompts.render("fold_next", round=rounds[step.index], max_rounds=max_rounds)
            return capped_observation(step, cap, count) + "\n\n" + tail

        threshold = min(keep_fraction, 1.0) * budget
        start = fold_keep.segment_start(
            steps, threshold=threshold, report_cap=report_cap, observation=shown, count=count
        )
        if start < len(steps):
            opening = folded(
                system, question, steps[:start], budget=budget, max_rounds=max_rounds,
                observation_share=observation_share, report_cap=report_cap, count=count,
                fixed_overhead=fixed_overhead,
            )  # fmt: skip
            return opening + react.history_messages(steps[start:], shown)
    return folded(
        system, question, steps, budget=budget, max_rounds=max_rounds, observation_share=observation_share,
        report_cap=report_cap, count=count, fixed_overhead=fixed_overhead,
    )  # fmt: skip


def folded(
    system: str,
    question: str,
    steps: Sequence[Step],
    *,
    budget: int,
    max_rounds: int,
    observation_share: float,
    report_cap: int,
    count: Callable[[str], int],
    fixed_overhead: int,
) -> list[dict[str, Any]]:
    """A folded prompt: the system message and one user turn.

    It shows the newest complete report and every tool result that no complete report has
    taken in yet (normally just the latest; more when a round left its report out), so a turn that
    could not be used loses nothing: the next one sees the same report and the same results."""
    report = latest_report(steps) or EMPTY_REPORT
    condense = count(report) > report_cap
    if condense:
        report += "\n" + CONDENSE_NOTE
    pending = unabsorbed_tool_steps(steps)
    notice, reminder = _since_last_turn(steps)
    round_ = len(model_steps(steps)) + 1
    latest = pending[-1] if pending else None
    action = _action(latest) if latest else "(none yet: this is the first round)"
    notice_text = f"\n\n{notice}" if notice else ""

    def frame(report_text: str, earlier: str) -> int:
        return count(_render(question, round_, max_rounds, report_text, earlier, action, "", reminder))

    fixed = fixed_overhead + 16 + count(notice_text) + 8
    if condense:  # shown whole, so nothing is lost while the model condenses it, as far as it fits
        room_for_report = budget - fixed - frame("", "") - int(budget * observation_share) // 2
        if count(report) > room_for_report:
            report = truncate_to_tokens(report, room_for_report, count) + "\n" + CONDENSE_NOTE
    room = budget - fixed - frame(report, "")
    cap = int(budget * observation_share)
    shown: list[str] = []  # newest first
    for i, step in enumerate(reversed(pending)):
        body, notes = _body_and_notes(step)
        extra = 0 if i == 0 else count(_earlier_entry(step, "")) + 4
        limit = min(room - extra, cap) - (count(notes) if notes else 0)
        text = truncate_to_tokens(body, limit, count) + notes
        room -= count(text) + extra
        shown.append(text)
    if latest is None:
        result = tool_block(notice) if notice else "(none)"
        earlier = ""
    else:
        result = tool_block(shown[0] + notice_text)
        earlier = "".join(_earlier_entry(step, text) for step, text in zip(pending[:-1], reversed(shown[1:])))
    user = _render(question, round_, max_rounds, report, earlier, action, result, reminder)
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]


def _earlier_entry(step: Step, text: str) -> str:
    return prompts.render("fold_earlier", action=_action(step), observation=tool_block(text)) + "\n\n"


def _rounds_after(steps: Sequence[Step]) -> dict[int, int]:
    """The round each tool result opens (by step index): one more than the model turns before it."""
    rounds, turns = {}, 0
    for step in steps:
        turns += step.kind == "model"
        if step.kind == "tool":
            rounds[step.index] = turns + 1
    return rounds
