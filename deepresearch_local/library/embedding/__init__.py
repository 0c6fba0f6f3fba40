"""Sentence embeddings for hybrid (keyword + vector) library search.

Usage: ``emb = Embedder(path_to_gguf, EmbeddingSpec(id=..., query_prefix=..., document_prefix=...))``
(or ``Embedder(path)`` for a model without prefixes); ``emb.embed_documents(chunks, progress=cb,
cancel=token)`` returns a float32 numpy matrix, one L2-normalised row per chunk (so a dot
product is the cosine), and ``emb.embed_query(text)`` one row for a query. ``emb.id``,
``emb.dim`` and ``emb.max_tokens`` describe the model (``dim``/``max_tokens`` load it); store
``emb.id`` beside the vectors. Inputs longer than ``max_tokens`` are cut (``emb.last_stats``
counts them, with texts/s and tokens/s); ``progress(done, total)`` runs after each batch; a
set ``cancel.cancelled`` raises ``EmbeddingCancelled`` between batches. Loading is lazy and
thread-safe, calls are serialised; a missing, non-GGUF or non-embedding file raises
``ModelError`` saying what to do. ``TextEmbedder`` is the protocol the search code should
depend on (tests may fake it).
"""

from __future__ import annotations

from deepresearch_local.library.embedding.llama_embedder import Embedder
from deepresearch_local.library.embedding.spec import (
    EmbeddingCancelled,
    EmbeddingSpec,
    EmbedProgress,
    EmbedStats,
    TextEmbedder,
)

__all__ = [
    "EmbedProgress",
    "EmbedStats",
    "Embedder",
    "EmbeddingCancelled",
    "EmbeddingSpec",
    "TextEmbedder",
]
