"""Named run presets: the laptop defaults, or upstream Tongyi DeepResearch's own run settings.

``upstream`` is what the published benchmark numbers were measured with: the react loop over the
full history, up to 128K tokens of context, 100 model calls, 150 minutes, 10,000 output tokens
a turn, temperature 0.6, top-p 0.95, presence penalty 1.1. It needs a machine that holds a long
context (``deepresearch models list`` shows how much fits here); the laptop defaults trade some
of that away (see the README, "Upstream preset")."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from deepresearch_local.errors import UsageError

if TYPE_CHECKING:
    from deepresearch_local.agent.config import AgentConfig

PRESETS = ("laptop", "upstream")

LAPTOP_CONTEXT_CAP = 32_768
"""The most context the laptop defaults allocate on their own (llama.cpp)."""
UPSTREAM_CONTEXT_CAP = 131_072
"""Upstream's context: the preset allocates the largest that fits here, up to this."""


def check_preset(name: str) -> str:
    if name not in PRESETS:
        raise UsageError(
            f"Unknown preset {name!r}: use one of {', '.join(PRESETS)} (--preset or the preset setting)."
        )
    return name


def context_cap(name: str) -> int:
    return UPSTREAM_CONTEXT_CAP if check_preset(name) == "upstream" else LAPTOP_CONTEXT_CAP


def apply_preset(config: AgentConfig, name: str) -> AgentConfig:
    """``config`` with the preset's limits and sampling (flags given on top still win)."""
    if check_preset(name) != "upstream":
        return config
    from deepresearch_local.engines.base import Sampling

    return dataclasses.replace(
        config,
        mode="react",
        max_llm_calls=100,
        max_minutes=150.0,
        max_output_tokens=10_000,
        sampling=Sampling(temperature=0.6, top_p=0.95, presence_penalty=1.1),
    )
