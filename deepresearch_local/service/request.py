"""``RunRequest``: what one run asks for on top of the saved settings."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class RunRequest:
    """Per-run overrides. ``None`` (or False, or empty) leaves the value to the saved settings."""

    model: str | None = None
    """A registered id, a catalog variant, a .gguf file or an MLX folder; for a server its model id."""
    backend: str | None = None
    base_url: str | None = None
    context: int | None = None
    gpu_layers: int | None = None
    cpu_moe_layers: int | None = None
    """MoE expert offload: the experts of the first N blocks in RAM, every block on the GPU (-1: all)."""
    kv_type: str | None = None
    constrain_tool_calls: str | None = None
    """Grammar-constrained tool calls (llama.cpp): "auto", "on" or "off"; None: the setting."""
    scripted: str | None = None
    """A scripted-model file (tests): no real model is loaded."""
    mode: str | None = None
    max_steps: int | None = None
    max_minutes: float | None = None
    budget: int | None = None
    near_budget: str | None = None
    max_output_tokens: int | None = None
    fold_keep_fraction: float | None = None
    temperature: float | None = None
    preset: str | None = None
    offline: bool = False
    docs: tuple[Path, ...] = ()
    output: Path | None = None
    """Where the report is written (default: next to the session data)."""
    allow_composed_urls: bool = False
    allow_unisolated_python: bool = False
