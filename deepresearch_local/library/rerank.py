"""Where an optional re-ranker (a small local embedding or cross-encoder model) plugs in later.

``Library.search`` takes the fused BM25 candidates, hands them to a ``Reranker`` if one is given,
and keeps the first ``k`` of its order. None ships yet: this is the seam, not an implementation.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from deepresearch_local.library.model import Hit


@runtime_checkable
class Reranker(Protocol):
    candidates: int
    """How many BM25 candidates to fetch for re-ranking (more costs time, may find more)."""

    def rerank(self, queries: Sequence[str], hits: Sequence[Hit]) -> list[Hit]:
        """Return ``hits`` reordered best first (drop any that should not be shown)."""
        ...
