"""Which embedding model the library uses: the ``embedding_model`` setting, else the default
embedding model (the first one pulled), else none (keyword search alone).

A name is a downloaded catalog variant, an id in the embedding registry, or a path to a GGUF
file (``embedding.models.embedder_for`` resolves it, with the catalog's prefixes and pooling). One
embedder per model is kept for the life of the process, so the CLI, the agent's tools and the TUI
share it.
"""

from __future__ import annotations

import threading

from deepresearch_local.library.embedding.llama_embedder import Embedder

_OPEN: dict[str, Embedder] = {}
_LOCK = threading.Lock()


def open_embedder(name: str | None) -> Embedder:
    """The embedder for a model name or path, or (None) the default embedding model; loaded on
    first use. Raises ``ModelError`` saying what to do when there is no such model."""
    from deepresearch_local.library.embedding.models import embedder_for

    key = name or ""
    with _LOCK:
        if key not in _OPEN:
            _OPEN[key] = embedder_for(name)
        return _OPEN[key]


def configured_embedder(missing_ok: bool = False) -> Embedder | None:
    """The embedder the settings name, else the default embedding model, else None. A model that
    is named but cannot be found is an error, or None with ``missing_ok`` (the agent's search then
    falls back to keywords)."""
    from deepresearch_local.config import load_settings
    from deepresearch_local.errors import DeepResearchError
    from deepresearch_local.library.embedding.models import embedding_registry

    name = load_settings().embedding_model.strip()
    if not name and embedding_registry().default_id() is None:
        return None
    try:
        return open_embedder(name or None)
    except DeepResearchError:
        if missing_ok:
            return None
        raise
