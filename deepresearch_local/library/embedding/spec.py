"""What an embedder is: its protocol, the facts a catalog entry gives about a model, run figures."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, Protocol, runtime_checkable

from deepresearch_local.library.errors import LibraryError

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    Vector = npt.NDArray[np.float32]
    """One L2-normalised embedding, shape ``(dim,)``."""
    Matrix = npt.NDArray[np.float32]
    """One row per input text, shape ``(n, dim)``, rows L2-normalised."""

Pooling = Literal["mean", "cls", "last"]
EmbedProgress = Callable[[int, int], None]
"""Called after each batch with (texts done, texts in all)."""


@dataclass(frozen=True)
class EmbeddingSpec:
    """How to use one embedding model (from its catalog entry; every field is optional)."""

    id: str = ""
    """A stable name stored beside vectors, so an index knows which model made them."""
    query_prefix: str = ""
    """Put before a search query (e5: "query: ", nomic: "search_query: ", bge-en: an instruction)."""
    document_prefix: str = ""
    """Put before each stored passage (e5: "passage: ", nomic: "search_document: ")."""
    max_tokens: int | None = None
    """Longer inputs are cut to this many tokens; None: the model's trained context (at most 512)."""
    pooling: Pooling | None = None
    """Overrides the pooling written in the GGUF (None: use the file's)."""
    dim: int | None = None
    """The expected vector size; checked when the model loads."""


@dataclass(frozen=True)
class EmbedStats:
    """Figures from the last ``embed`` call."""

    texts: int
    tokens: int
    truncated: int
    """How many inputs were longer than ``max_tokens`` and were cut."""
    seconds: float
    batches: int

    @property
    def texts_per_second(self) -> float:
        return self.texts / self.seconds if self.seconds > 0 else 0.0

    @property
    def tokens_per_second(self) -> float:
        return self.tokens / self.seconds if self.seconds > 0 else 0.0


class EmbeddingCancelled(LibraryError):
    """Raised between batches when the cancel token is set; ``done`` texts were embedded."""

    title = "Embedding cancelled"

    def __init__(self, done: int, total: int) -> None:
        super().__init__(f"Embedding was cancelled after {done} of {total} texts; run it again to finish.")
        self.done, self.total = done, total


@runtime_checkable
class TextEmbedder(Protocol):
    """What the library's vector search needs from a model."""

    @property
    def id(self) -> str: ...

    @property
    def dim(self) -> int: ...

    @property
    def max_tokens(self) -> int: ...

    def embed_documents(
        self,
        texts: Sequence[str],
        *,
        progress: EmbedProgress | None = None,
        cancel: Cancellable | None = None,
    ) -> Matrix:
        """Passages to store: the document prefix is added, rows are L2-normalised."""

    def embed_query(self, text: str) -> Vector:
        """A search query: the query prefix is added; L2-normalised."""


class Cancellable(Protocol):
    """Anything with a ``cancelled`` flag (``engines.base.CancelToken`` is one)."""

    @property
    def cancelled(self) -> bool: ...
