"""Fold mode that keeps earlier rounds while they fit: react's prefill, fold's bounded prompt.

With a keep threshold (``AgentConfig.fold_keep_fraction`` of the budget), a round's prompt is the
previous round's prompt, the model's turn as it wrote it and the new result, so an engine's KV
prefix cache reuses everything up to the new result (as in react mode). The round folds (the
question, the newest complete report and the results no report has taken in, as in "fold every
round") when the prompt would cross the threshold, and whenever the last turn needs fold's own
handling: a turn that could not be used, a call without a complete report, a turn with a format
problem (its report is then shown folded, in proper form), a report past its cap, a forced answer,
a notice. So every integrity rule of fold mode holds unchanged: a kept round only
ever follows a clean turn whose report took in the result before it.

Whether a round kept or folded is decided from the committed steps alone (the recorded size of
the previous prompt and turn, plus the new result), so a resumed run rebuilds the same prompts.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from deepresearch_local.agent.protocol import tool_response
from deepresearch_local.agent.steps import Step, has_complete_report

FRAMING = 32
"""Tokens allowed for the chat template's framing of one kept turn and its result (role markers,
end-of-turn tokens): the estimate of a kept prompt errs on the large side."""


def keeps(
    steps: Sequence[Step],
    *,
    threshold: float,
    report_cap: int,
    observation: Callable[[Step], str],
    count: Callable[[str], int],
) -> bool:
    """Whether the round after ``steps`` extends the previous round's prompt rather than folding.

    Only after a clean turn (a tool call with a complete report within its cap, not forced) whose
    result is the one step since, and only while that prompt, its turn and the result (as shown)
    stay within ``threshold`` tokens."""
    if threshold <= 0 or len(steps) < 2:
        return False
    model, tool = steps[-2], steps[-1]
    if model.kind != "model" or tool.kind != "tool":
        return False
    data = model.data
    if not data.get("tool_call") or data.get("forced") or not has_complete_report(model):
        return False
    if data.get("problems"):
        return False  # e.g. a report whose closing tag was forgotten: show it folded, in proper form
    prompt_tokens, completion_tokens = data.get("prompt_tokens"), data.get("completion_tokens")
    if not isinstance(prompt_tokens, int) or not isinstance(completion_tokens, int):
        return False  # a turn stored without its sizes: nothing to estimate from, so fold
    if count(str(data["report"])) > report_cap:
        return False  # the model must condense it: fold's prompt says so
    grown = prompt_tokens + completion_tokens + count(tool_response(observation(tool))) + FRAMING
    return grown <= threshold


def segment_start(
    steps: Sequence[Step],
    *,
    threshold: float,
    report_cap: int,
    observation: Callable[[Step], str],
    count: Callable[[str], int],
) -> int:
    """How many steps the prompt of the round that opened the current segment was built from.

    ``len(steps)``: this round folds. Otherwise this round's prompt is that round's folded prompt
    followed by every turn and result since (each kept round adds one turn and its result)."""
    start = len(steps)
    while keeps(
        steps[:start], threshold=threshold, report_cap=report_cap, observation=observation, count=count
    ):
        start -= 2
    return start
