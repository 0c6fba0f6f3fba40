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

Catalog models (``library.embedding.models``, imported on demand): ``pull_embedding_model(
"bge-small-en-v1.5-q8_0")`` downloads and registers one (English; "bge-m3-q8_0" and
"multilingual-e5-large-q8_0" are multilingual) in its own registry, apart from agent models;
``embedder_for()`` gives an ``Embedder`` for the default (first pulled) one, ``embedder_for(id
or path)`` for another, with the prefixes, pooling and token limit of its catalog entry.
Tests use the real all-MiniLM-L6-v2 (the ``minilm_gguf`` / ``minilm`` fixtures).
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
