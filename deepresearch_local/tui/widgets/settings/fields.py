"""The settings as form fields: kinds, choices and limits, with the help text taken from the
docstring under each field of ``config.Settings`` (one source of truth for what a setting means).

Plain Python, no Textual: :func:`parse_form` turns the form's strings into ``Settings`` or
says, per field, what is wrong with them.
"""

from __future__ import annotations

import ast
import inspect
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any

from deepresearch_local.config import SamplingSettings, Settings
from deepresearch_local.hardware.fit import MIN_AGENT_CONTEXT


@dataclass(frozen=True)
class Field:
    key: str
    """``backend``, or ``sampling.temperature`` for the nested sampling settings."""
    label: str
    kind: str
    """"choice", "bool", "int", "float" or "text"."""
    choices: tuple[str, ...] = ()
    low: float | None = None
    high: float | None = None


FIELDS = (
    Field("backend", "Backend", "choice", ("auto", "llama.cpp", "mlx", "openai")),
    Field("model", "Model", "text"),
    Field("base_url", "Server URL", "text"),
    Field("context_tokens", "Context budget", "int", low=0, high=1_048_576),
    Field("constrain_tool_calls", "Tool-call grammar", "choice", ("auto", "on", "off")),
    Field("mode", "Mode", "choice", ("auto", "fold", "react")),
    Field("max_steps", "Max steps", "int", low=1, high=1000),
    Field("max_output_tokens", "Max output tokens", "int", low=0, high=131_072),
    Field("fold_keep_fraction", "Fold keeps rounds up to", "float", low=0.0, high=1.0),
    Field("offline", "Offline", "bool"),
    Field("seed_library_search", "Start from the library", "bool"),
    Field("allow_composed_urls", "Allow composed URLs", "bool"),
    Field("allow_unisolated_python", "Unsandboxed Python", "bool"),
    Field("search_region", "Search region", "text"),
    Field("search_provider", "Search provider", "choice", ("ddgs", "searxng", "serper", "brave", "tavily")),
    Field("search_url", "Search URL", "text"),
    Field("search_api_key", "Search API key", "text"),
    Field("preset", "Preset", "choice", ("laptop", "upstream")),
    Field("embedding_model", "Embedding model", "text"),
    Field("sampling.temperature", "Temperature", "float", low=0.0, high=2.0),
    Field("sampling.top_p", "Top-p", "float", low=0.01, high=1.0),
    Field("sampling.presence_penalty", "Presence penalty", "float", low=-2.0, high=2.0),
)
REGIONS: tuple[str, ...] = ("auto", "us-en", "uk-en", "ca-en", "au-en", "in-en", "de-de", "fr-fr", "es-es")
REGIONS += ("it-it", "nl-nl", "pl-pl", "br-pt", "ru-ru", "jp-jp", "kr-kr", "cn-zh", "tw-tzh", "wt-wt")
"""DuckDuckGo region codes offered as suggestions (any code is accepted)."""


@lru_cache(maxsize=1)
def field_docs() -> dict[str, str]:
    """``{"backend": "Inference backend; …", "sampling.top_p": …}`` from the docstrings in config.py."""
    import deepresearch_local.config as config

    try:
        tree = ast.parse(inspect.getsource(config))
    except (OSError, TypeError):  # no source (a frozen build): the form works without help text
        return {}
    docs: dict[str, str] = {}
    prefixes = {Settings.__name__: "", SamplingSettings.__name__: "sampling."}
    for node in tree.body:
        if not isinstance(node, ast.ClassDef) or node.name not in prefixes:
            continue
        for field, after in zip(node.body, node.body[1:]):
            if (
                isinstance(field, ast.AnnAssign)
                and isinstance(field.target, ast.Name)
                and isinstance(after, ast.Expr)
                and isinstance(after.value, ast.Constant)
                and isinstance(after.value.value, str)
            ):
                docs[prefixes[node.name] + field.target.id] = " ".join(after.value.value.split())
    return docs


def form_values(settings: Settings) -> dict[str, Any]:
    """The value each field shows (strings for text and numbers, bool for switches)."""
    out: dict[str, Any] = {}
    for f in FIELDS:
        value = _get(settings, f.key)
        out[f.key] = value if f.kind in ("bool", "choice") else _text(value)
    return out


def _get(settings: Settings, key: str) -> Any:
    if key.startswith("sampling."):
        return getattr(settings.sampling, key.removeprefix("sampling."))
    return getattr(settings, key)


def _text(value: Any) -> str:
    return repr(value) if isinstance(value, float) else str(value)


def _number(f: Field, raw: str) -> tuple[float | int | None, str]:
    text = raw.strip()
    try:
        value: float | int = int(text) if f.kind == "int" else float(text)
    except ValueError:
        what = "a whole number" if f.kind == "int" else "a number"
        return None, f"{f.label} must be {what}, not {text!r}."
    if (f.low is not None and value < f.low) or (f.high is not None and value > f.high):
        low = int(f.low) if f.kind == "int" and f.low is not None else f.low
        high = int(f.high) if f.kind == "int" and f.high is not None else f.high
        return None, f"{f.label} must be between {low} and {high}."
    return value, ""


def parse_form(
    values: dict[str, Any], base: Settings | None = None
) -> tuple[Settings | None, dict[str, str]]:
    """(settings, {}) when every field is valid, else (None, {field: what is wrong}). Settings the
    form does not show keep their values from ``base`` (the file as loaded)."""
    errors: dict[str, str] = {}
    top: dict[str, Any] = {}
    sampling: dict[str, Any] = {}
    for f in FIELDS:
        raw = values[f.key]
        value: Any
        if f.kind in ("int", "float"):
            value, problem = _number(f, str(raw))
            if problem:
                errors[f.key] = problem
                continue
        elif f.kind == "choice" and raw not in f.choices:
            errors[f.key] = f"{f.label} must be one of {', '.join(f.choices)}."
            continue
        else:
            value = raw.strip() if isinstance(raw, str) else bool(raw)
        (sampling if f.key.startswith("sampling.") else top)[f.key.removeprefix("sampling.")] = value
    if top.get("backend") == "openai" and not str(top.get("base_url", "")).startswith(
        ("http://", "https://")
    ):
        errors["base_url"] = "The openai backend needs the server's URL, e.g. http://127.0.0.1:8080/v1."
    if 0 < int(top.get("context_tokens") or 0) < MIN_AGENT_CONTEXT:
        errors["context_tokens"] = (
            f"The agent needs at least {MIN_AGENT_CONTEXT} tokens of context (0 = what fits here)."
        )
    if not top.get("search_region"):
        errors["search_region"] = 'Give a region code such as "us-en", or "auto".'
    if errors:
        return None, errors
    base = base or Settings()
    return replace(base, **top, sampling=replace(base.sampling, **sampling)), {}
