"""Which embedding model the library uses: the ``embedding_model`` setting, or one named for a run.

A name is resolved like a research model (a registered id, a downloaded catalog variant, or a path
to a GGUF file); a catalog entry also gives the model's query and passage prefixes. One embedder
per model is kept for the life of the process, so the CLI, the agent's tools and the TUI share it.
"""

from __future__ import annotations

import threading
from pathlib import Path

from deepresearch_local.library.embedding.llama_embedder import Embedder
from deepresearch_local.library.embedding.spec import EmbeddingSpec

_OPEN: dict[str, Embedder] = {}
_LOCK = threading.Lock()


def _spec(name: str, path: Path) -> EmbeddingSpec:
    """The facts about the model: named by its catalog variant when the registry knows it (so
    vectors stay tied to the model, not to a file name), else by the file."""
    from deepresearch_local.weights.registry import Registry

    entry = Registry().find(name)
    variant = entry.variant if entry is not None else None
    return EmbeddingSpec(id=variant or path.stem)


def open_embedder(name: str) -> Embedder:
    """The embedder for a model name or path (loaded on first use); raises ``ModelError``
    saying what to do when there is no such model."""
    from deepresearch_local.weights.registry import resolve_model

    path = resolve_model(name)
    key = str(path.resolve())
    with _LOCK:
        if key not in _OPEN:
            _OPEN[key] = Embedder(path, _spec(name, path))
        return _OPEN[key]


def configured_embedder(missing_ok: bool = False) -> Embedder | None:
    """The embedder the settings name, or None when none is set. With ``missing_ok``, a set model
    that cannot be found also gives None (the agent's search then falls back to keywords)."""
    from deepresearch_local.config import load_settings
    from deepresearch_local.errors import DeepResearchError

    name = load_settings().embedding_model.strip()
    if not name:
        return None
    try:
        return open_embedder(name)
    except DeepResearchError:
        if missing_ok:
            return None
        raise
