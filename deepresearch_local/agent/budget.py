"""How a context is shared between the prompt and one turn's output.

One function decides both, so the arithmetic that sizes prompts also sizes turns: the prompt
budget plus the output limit never exceed the context. Fold mode's turn must hold its thinking,
the whole rewritten report and the next call, so its output limit grows with the report cap;
react mode follows upstream's 10,000 output tokens where the context allows it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from deepresearch_local.agent.config import AgentConfig

UPSTREAM_OUTPUT = 10_000
"""Upstream Tongyi's output tokens per call."""
REACT_OUTPUT_SHARE = 3
"""React mode takes at most a third of the context for one turn's output."""
DEFAULT_CONTEXT = 32768
"""Assumed when the engine cannot say (a server that does not report its context)."""


@dataclass(frozen=True)
class TurnSizes:
    budget: int
    """Prompt tokens a model call may use."""
    max_output: int
    """Tokens one model turn may generate."""
    report_cap: int
    """Fold mode: tokens the carried report may take (it must fit in one turn with the thinking)."""


def turn_sizes(context: int | None, config: AgentConfig) -> TurnSizes:
    """The budget, the output limit and the report cap for ``config`` in a ``context``-token context.

    With a known context, ``budget + max_output <= context`` always holds (the output is capped at
    half the context, so a prompt always has room)."""
    ctx = context or DEFAULT_CONTEXT
    share = config.report_share
    if config.max_output_tokens:
        out = config.max_output_tokens
    elif config.mode == "react":
        out = min(UPSTREAM_OUTPUT, ctx // REACT_OUTPUT_SHARE)
    elif config.budget_tokens:  # the report cap follows the budget given
        out = math.ceil(share * min(config.budget_tokens, ctx) + config.think_tokens)
    else:  # out = share * (ctx - out) + think, solved for out
        out = math.ceil((share * ctx + config.think_tokens) / (1 + share))
    out = max(1, min(out, ctx // 2))
    fits = ctx - out
    if not config.budget_tokens:
        budget = fits
    else:
        budget = min(config.budget_tokens, fits) if context else config.budget_tokens
    think = min(config.think_tokens, out // 2)
    report_cap = max(0, min(int(budget * share), out - think))
    return TurnSizes(budget, out, report_cap)
