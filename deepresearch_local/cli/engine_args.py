"""The engine flags every command shares (``--model``, ``--backend``, ``--context`` ...), in one place,
and help texts whose defaults come from the saved settings (``saved_help``, for the run flags too).

A flag left out falls back to the saved settings, so ``--help`` says what that fallback is *now*:
the defaults are read from the settings when the help is printed (never when the parser is built,
so start-up stays instant and a broken settings file cannot break the command line).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from deepresearch_local.config import Settings

Defaults = Literal["settings", "run", "none"]
"""Where a flag left out comes from: the saved settings (ask, chat), the run being resumed, or
nowhere but the flags (benchmarks, whose figures must not depend on the settings)."""


def saved_help(text: str, describe: Callable[[Settings], str]) -> str:
    """``text`` followed by ``(default: ...)``, the default described from the settings at help time."""
    return SavedHelp(f"{text} (default: {{saved}})", describe)


class SavedHelp(str):
    """A help text whose ``{saved}`` is filled from the saved settings when argparse formats it."""

    describe: Callable[[Settings], str]

    def __new__(cls, template: str, describe: Callable[[Settings], str]) -> SavedHelp:
        text = super().__new__(cls, template)
        text.describe = describe
        return text

    def __mod__(self, params: Any) -> str:
        return str.__mod__(str(self).replace("{saved}", saved_text(self.describe).replace("%", "%%")), params)


def saved_text(describe: Callable[[Settings], str]) -> str:
    from deepresearch_local.config import load_settings
    from deepresearch_local.errors import DeepResearchError

    try:
        return describe(load_settings())
    except DeepResearchError:
        return "from your settings (unreadable now: run `deepresearch paths` to find the file)"


def _default_model(settings: Settings) -> str:
    if settings.model:
        return f"{settings.model}, the model setting"
    try:
        from deepresearch_local.weights.registry import Registry

        chosen = Registry().default_id()
    except Exception:  # the help must print even with a broken registry
        chosen = None
    if chosen:
        return f"{chosen}, your default model"
    return "your default model; none yet: `models use ID` sets it"


def _backend(settings: Settings) -> str:
    return f"{settings.backend}, the backend setting" if settings.backend != "auto" else "from the model"


def _base_url(settings: Settings) -> str:
    return f"{settings.base_url}, the base_url setting" if settings.base_url else "none"


def _constrain(settings: Settings) -> str:
    return f"{settings.constrain_tool_calls}, the constrain_tool_calls setting"


def _context(settings: Settings) -> str:
    if settings.context_tokens:
        return f"{settings.context_tokens:,}, the context_tokens setting; the upstream preset takes what fits"
    return "what fits here"


_FLAGS: tuple[tuple[str, str, Callable[[Settings], str], str], ...] = (
    # flag, help, its saved default, its default without settings
    ("--model", "a registered model id, a .gguf file or an MLX folder", _default_model, "your default model"),
    ("--backend", "the inference backend", _backend, "from the model"),
    ("--base-url", "OpenAI-compatible server, e.g. http://127.0.0.1:8080/v1", _base_url, "none"),
    ("--context", "context tokens to allocate", _context, "what fits here"),
)


def _help(text: str, describe: Callable[[Settings], str], plain: str, defaults: Defaults) -> str:
    if defaults == "settings":
        return saved_help(text, describe)
    if defaults == "run":
        return f"{text} (default: as the run was started)"
    return f"{text} (default: {plain})"


def add_engine_arguments(
    p: argparse.ArgumentParser, *, defaults: Defaults = "settings", model_required: bool = False
) -> None:
    """Add the engine flags; each help names the default that applies when the flag is left out."""
    kinds: dict[str, dict[str, Any]] = {
        "--model": {"required": model_required},
        "--backend": {"choices": ["llama.cpp", "mlx", "openai"]},
        "--base-url": {},
        "--context": {"type": int},
    }
    for flag, text, describe, plain in _FLAGS:
        help_text = text if flag == "--model" and model_required else _help(text, describe, plain, defaults)
        p.add_argument(flag, help=help_text, **kinds[flag])
    p.add_argument("--gpu-layers", type=int, help="layers to offload to the GPU (llama.cpp)")
    p.add_argument(
        "--cpu-moe",
        type=int,
        metavar="N",
        dest="cpu_moe_layers",
        help="MoE expert offload (llama.cpp): every layer on the GPU except the routed experts of the "
        "first N layers, which stay in RAM (-1: all of them; default: the plan `doctor` shows)",
    )
    p.add_argument(
        "--kv-type",
        choices=["f16", "q8_0", "q4_0"],
        help="KV cache type (default: planned for the model here: f16, or q8_0 where the full-size "
        "cache leaves too little context, as `doctor` recommends)",
    )
    p.add_argument(
        "--constrain-tool-calls",
        choices=["auto", "on", "off"],
        help=_help(
            "hold tool calls to the tools' schemas with a grammar (llama.cpp, MLX); auto: for builds of "
            "3 bits and below",
            _constrain,
            "auto",
            defaults,
        ),
    )
    p.add_argument("--scripted", metavar="FILE", help=argparse.SUPPRESS)  # tests: a scripted engine
