"""What ``ask``'s run flags default to, described from the saved settings when ``--help`` is printed.

The upstream preset (saved or given) overrides several settings; each text says which applies.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from deepresearch_local.config import Settings


def _upstream(settings: Settings) -> bool:
    return settings.preset == "upstream"


def mode(settings: Settings) -> str:
    if _upstream(settings):
        return "react, the upstream preset"
    if settings.mode != "auto":
        return f"{settings.mode}, the mode setting"
    return "fold when the model has under 48 GB to work in, else react"


def max_steps(settings: Settings) -> str:
    if _upstream(settings):
        return "100, the upstream preset"
    return f"{settings.max_steps}, the max_steps setting"


def max_minutes(settings: Settings) -> str:
    return "150, the upstream preset" if _upstream(settings) else "60"


def max_output_tokens(settings: Settings) -> str:
    if _upstream(settings):
        return "10,000, the upstream preset"
    if settings.max_output_tokens:
        return f"{settings.max_output_tokens:,}, the max_output_tokens setting"
    return "sized from the context; upstream uses 10,000"


def fold_keep_fraction(settings: Settings) -> str:
    return f"{settings.fold_keep_fraction:g}, the fold_keep_fraction setting"


def preset(settings: Settings) -> str:
    return f"{settings.preset}, the preset setting"


def temperature(settings: Settings) -> str:
    if _upstream(settings):
        return "0.6, the upstream preset"
    return f"{settings.sampling.temperature:g}, the sampling.temperature setting"
