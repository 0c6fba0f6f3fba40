"""Render chat messages with a model's own Jinja chat template (the one shipped in its weights).

llama-cpp-python's chat helpers cannot pass template arguments such as ``tools`` or
``enable_thinking``, so the llama.cpp backend renders prompts here, the way Hugging Face's
``apply_chat_template`` does. A built-in ChatML template with Qwen/Hermes tool declarations
serves models or servers that do not expose their own.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from functools import lru_cache
from importlib import resources
from typing import Any

from deepresearch_local.engines.base import Message, ToolSchema


def _raise(message: str) -> None:
    raise ValueError(f"chat template error: {message}")


def _tojson(
    value: Any, indent: int | None = None, ensure_ascii: bool = False, sort_keys: bool = False
) -> str:
    return json.dumps(value, indent=indent, ensure_ascii=ensure_ascii, sort_keys=sort_keys)


@lru_cache(maxsize=8)
def _compile(source: str) -> Any:
    from jinja2.ext import loopcontrols
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[loopcontrols])
    env.filters["tojson"] = _tojson
    env.globals["raise_exception"] = _raise
    env.globals["strftime_now"] = lambda fmt: datetime.now().strftime(fmt)
    return env.from_string(source)


def builtin_template() -> str:
    """ChatML with Qwen/Hermes-style tool declarations (the format Tongyi was trained on)."""
    return resources.files("deepresearch_local.engines").joinpath("chatml_tools.jinja").read_text("utf-8")


def render_chat(
    template: str,
    messages: Sequence[Message],
    *,
    tools: Sequence[ToolSchema] | None = None,
    enable_thinking: bool = True,
    add_generation_prompt: bool = True,
    bos_token: str = "",
    eos_token: str = "",
) -> str:
    """Render ``messages`` (and ``tools``) through ``template``."""
    return str(
        _compile(template).render(
            messages=[dict(m) for m in messages],
            tools=[dict(t) for t in tools] if tools else None,
            add_generation_prompt=add_generation_prompt,
            enable_thinking=enable_thinking,
            bos_token=bos_token,
            eos_token=eos_token,
        )
    )
