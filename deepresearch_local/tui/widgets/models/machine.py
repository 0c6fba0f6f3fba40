"""This machine in words, for the models screen and the first-run setup (probed once per folder)."""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

from rich.text import Text

from deepresearch_local.units import human_bytes

if TYPE_CHECKING:
    from deepresearch_local.hardware.probe import Hardware
    from deepresearch_local.weights.recommend import Recommendation


def probe_here() -> Hardware:
    """The hardware facts (``doctor``'s probe), cached: probing runs a subprocess for MLX."""
    from deepresearch_local.paths import get_paths

    return _probe(str(get_paths().models_dir))


@lru_cache(maxsize=4)
def _probe(models_dir: str) -> Hardware:
    from pathlib import Path

    from deepresearch_local.hardware.probe import probe

    return probe(Path(models_dir))


def machine_line(hw: Hardware) -> str:
    """``linux x86_64, 8 threads, 24.0 GiB RAM, no GPU; llama.cpp on cpu``."""
    gpus = ", ".join(f"{g.name} ({human_bytes(g.memory_total_bytes)})" for g in hw.gpus) or "no GPU"
    ram = f"{human_bytes(hw.ram_total_bytes)} {'unified memory' if hw.unified_memory else 'RAM'}"
    engines = [f"{b.name} on {b.device}" for b in hw.backends if b.available] or ["no local engine installed"]
    return f"{hw.os} {hw.arch}, {hw.cpu_cores_logical} threads, {ram}, {gpus}; {', '.join(engines)}"


def recommendation_text(rec: Recommendation) -> Text:
    text = Text()
    if rec.variant:
        text.append("★ Recommended: ", style="bold")
        text.append(rec.variant, style="bold cyan")
        text.append(f". {rec.why}")
    else:
        text.append("Nothing in the catalog runs well here. ", style="bold yellow")
        text.append(rec.why)
    return text
