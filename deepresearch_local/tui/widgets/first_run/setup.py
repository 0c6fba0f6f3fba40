"""What the first-run choices write: the default model, the backend, the settings file.

Plain functions over ``config`` and ``weights.registry`` (no Textual), called from the setup's
worker threads or its handlers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from deepresearch_local.config import Settings, load_settings, save_settings
from deepresearch_local.errors import ConfigError
from deepresearch_local.paths import get_paths

if TYPE_CHECKING:
    from deepresearch_local.library import IndexReport


def current_settings() -> Settings:
    """The saved settings, or the defaults when the file is missing or unreadable."""
    try:
        return load_settings()
    except ConfigError:
        return Settings()


def ensure_settings_file() -> None:
    """Write the settings file if there is none, so the setup does not open by itself again."""
    if not get_paths().config_file.exists():
        save_settings(current_settings())


def use_local_model(model_id: str) -> None:
    """Make registered weights the default, and the settings point at local weights (not a server)."""
    from deepresearch_local.weights.registry import Registry

    Registry().set_default(model_id)
    settings = current_settings()
    if settings.backend == "openai" or settings.model not in ("", model_id):
        if settings.backend == "openai":
            settings.backend = "auto"
        settings.model = ""  # "" follows the registry's default
        save_settings(settings)


def use_server(base_url: str, model: str) -> None:
    """Research through an OpenAI-compatible server from now on."""
    settings = current_settings()
    settings.backend, settings.base_url, settings.model = "openai", base_url, model
    save_settings(settings)


def connect_server(url: str) -> str:
    """Check an OpenAI-compatible server (its model and context), make it the backend, and say so.

    Raises ``DeepResearchError`` (an ``EngineError``) with the reason when it cannot be used."""
    from deepresearch_local.engines.openai import OpenAIEngine

    engine = OpenAIEngine(url, timeout=30.0)
    try:
        engine.load()
        info = engine.info
    finally:
        engine.unload()
    use_server(engine.base_url, info.model)
    context = f"{info.context_tokens} tokens of context" if info.context_tokens else "context unknown"
    kind = info.details.get("server") or "server"
    return f"Model: {info.model} on the {kind} at {engine.base_url} ({context})"


def library_line(report: IndexReport) -> str:
    """``Documents: docs, 12 indexed, 2 skipped, 1 failed (15 files)``."""
    line = f"Documents: {report.folder}, {report.summary()} ({report.files} files)"
    if report.failed:
        line += "; the Library screen (F4) shows why files failed"
    return line
