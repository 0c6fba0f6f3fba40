"""Sentence embeddings from a GGUF embedding model (BERT, XLM-R, nomic-bert …) in llama.cpp.

Texts are tokenised, cut to ``max_tokens`` (keeping the closing separator token), packed into
batches of up to ``batch_tokens`` tokens, one sequence each, and pooled by llama.cpp (the pooling
the GGUF declares, or the spec's). Vectors come back as float32 rows, L2-normalised. The model
loads on first use; one ``Llama`` per embedder, every call serialised by a lock, so one embedder
can be shared between threads. Cancellation and progress are checked/reported between batches.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from deepresearch_local.errors import ModelError
from deepresearch_local.library.embedding.spec import (
    Cancellable,
    EmbeddingCancelled,
    EmbeddingSpec,
    EmbedProgress,
    EmbedStats,
)

if TYPE_CHECKING:
    from deepresearch_local.library.embedding.spec import Matrix, Vector

DEFAULT_MAX_TOKENS = 512
# Tokens per llama.cpp batch default to ``max_tokens``: the sequences of one batch are attended
# to together (masked), so its cost grows with the square of the batch. Measured on a CPU
# (all-MiniLM-L6-v2 F16, one thread, 1,000-character chunks of ~390 tokens): 512-token batches
# embedded 3.4 chunks per CPU-second, 1,024-token ones 2.5, 2,048-token ones 1.5. Short texts
# (queries) still share a batch.


def embedder_threads() -> int:
    from deepresearch_local.engines.llamacpp import default_threads

    return default_threads()


def _check_gguf(path: Path) -> None:
    if not path.is_file():
        raise ModelError(
            f"No embedding model at {path}. Download one with `deepresearch models pull "
            "bge-small-en-v1.5-q8_0` (English) or `multilingual-e5-small-q8_0`, or give the path "
            "of a GGUF embedding model."
        )
    with path.open("rb") as fh:
        magic = fh.read(4)
    if magic != b"GGUF":
        raise ModelError(
            f"{path} is not a GGUF file (it starts with {magic!r}). Embedding models must be GGUF: "
            "download a GGUF build, or convert a BERT sentence-transformers folder with "
            "`deepresearch_local.weights.bert_gguf`."
        )


class Embedder:
    """A GGUF embedding model in llama.cpp (see the package docstring for usage)."""

    def __init__(
        self,
        model_path: str | Path,
        spec: EmbeddingSpec | None = None,
        *,
        n_threads: int | None = None,
        batch_tokens: int | None = None,
        gpu_layers: int = 0,
    ) -> None:
        self.model_path = Path(model_path).expanduser()
        self.spec = spec or EmbeddingSpec()
        self.n_threads = n_threads or embedder_threads()
        self.gpu_layers = gpu_layers
        self._requested_batch = batch_tokens
        self._llm: Any = None
        self._lock = threading.RLock()
        self._max_tokens = 0
        self._dim = 0
        self._suffix: list[int] = []
        self.last_stats: EmbedStats | None = None

    # ------------------------------------------------------------ facts

    @property
    def id(self) -> str:
        return self.spec.id or self.model_path.stem

    @property
    def dim(self) -> int:
        self.load()
        return self._dim

    @property
    def max_tokens(self) -> int:
        self.load()
        return self._max_tokens

    # ------------------------------------------------------------ lifecycle

    def load(self) -> None:
        """Load the model (idempotent, thread-safe); raises ``ModelError`` with what to do."""
        with self._lock:
            if self._llm is not None:
                return
            _check_gguf(self.model_path)
            from deepresearch_local.engines.llamacpp import _import_llama_cpp, closed_at_exit

            llama_cpp = _import_llama_cpp()
            pooling = {
                None: llama_cpp.LLAMA_POOLING_TYPE_UNSPECIFIED,
                "mean": llama_cpp.LLAMA_POOLING_TYPE_MEAN,
                "cls": llama_cpp.LLAMA_POOLING_TYPE_CLS,
                "last": llama_cpp.LLAMA_POOLING_TYPE_LAST,
            }[self.spec.pooling]
            wanted = self.spec.max_tokens or DEFAULT_MAX_TOKENS
            batch = max(self._requested_batch or wanted, wanted)
            try:
                llm = llama_cpp.Llama(
                    model_path=str(self.model_path),
                    embedding=True,
                    n_ctx=batch,
                    n_batch=batch,
                    n_ubatch=batch,
                    n_threads=self.n_threads,
                    n_threads_batch=self.n_threads,
                    n_gpu_layers=self.gpu_layers,
                    pooling_type=pooling,
                    verbose=False,
                )
                closed_at_exit(llm)
            except (ValueError, RuntimeError, OSError) as exc:
                raise ModelError(
                    f"llama.cpp could not load the embedding model {self.model_path.name}: {exc}. The file "
                    "may be incomplete or of an architecture this llama.cpp does not know: delete it and "
                    "download it again (`deepresearch models pull ...`), or update llama-cpp-python."
                ) from exc
            if llm.pooling_type() == llama_cpp.LLAMA_POOLING_TYPE_NONE:
                llm.close()
                raise ModelError(
                    f"{self.model_path.name} declares no pooling, so it gives one vector per token, not "
                    "per text: it is not a sentence-embedding model. Pick an embedding model from the "
                    "catalog, or set its pooling (mean, cls or last) in the catalog entry."
                )
            dim = int(llm.n_embd())
            if self.spec.dim and self.spec.dim != dim:
                llm.close()
                raise ModelError(
                    f"{self.model_path.name} gives {dim}-dimensional vectors, but its catalog entry "
                    f"{self.id!r} says {self.spec.dim}: the file is another model than the entry names."
                )
            trained = int(llm._model.n_ctx_train()) or wanted
            self._max_tokens = min(wanted, trained, batch)
            empty = llm.tokenize(b"", add_bos=True, special=False)
            self._suffix = list(empty[1:]) if len(empty) > 1 else []
            self._dim = dim
            self._llm = llm

    def unload(self) -> None:
        with self._lock:
            if self._llm is not None:
                self._llm.close()
                self._llm = None

    # ------------------------------------------------------------ tokens

    def _tokens(self, text: str) -> tuple[list[int], bool]:
        """The model's tokens for one text, cut to ``max_tokens``; (tokens, was it cut)."""
        tokens: list[int] = self._llm.tokenize(text.encode("utf-8"), add_bos=True, special=False)
        limit = self._max_tokens
        if len(tokens) <= limit:
            return tokens, False
        suffix = self._suffix if self._suffix and tokens[-len(self._suffix) :] == self._suffix else []
        return tokens[: limit - len(suffix)] + suffix, True

    def count_tokens(self, text: str) -> int:
        """Tokens this text takes before truncation (with the model's special tokens)."""
        with self._lock:
            self.load()
            return len(self._llm.tokenize(text.encode("utf-8"), add_bos=True, special=False))

    # ------------------------------------------------------------ embedding

    def embed(
        self,
        texts: Sequence[str],
        *,
        progress: EmbedProgress | None = None,
        cancel: Cancellable | None = None,
    ) -> Matrix:
        """One normalised float32 row per text, as given (no prefix added)."""
        import numpy as np

        from deepresearch_local.engines.llamacpp import _import_llama_cpp

        llama_cpp = _import_llama_cpp()
        with self._lock:
            self.load()
            llm = self._llm
            start = time.perf_counter()
            out = np.zeros((len(texts), self._dim), dtype=np.float32)
            n_tokens = n_cut = n_batches = 0
            pending: list[int] = []
            used = 0
            n_seq_max = int(llm.context_params.n_seq_max)
            limit = int(llm.n_batch)

            def flush() -> None:
                nonlocal pending, used, n_batches
                llm._ctx.kv_cache_clear()
                llm._ctx.decode(llm._batch)
                for seq, row in enumerate(pending):
                    ptr = llama_cpp.llama_get_embeddings_seq(llm._ctx.ctx, seq)
                    out[row] = np.ctypeslib.as_array(ptr, shape=(self._dim,))
                llm._batch.reset()
                n_batches += 1
                if progress is not None:
                    progress(pending[-1] + 1, len(texts))
                pending, used = [], 0

            llm._batch.reset()
            if cancel is not None and cancel.cancelled:
                raise EmbeddingCancelled(0, len(texts))
            try:
                for row, text in enumerate(texts):
                    tokens, cut = self._tokens(text)
                    n_tokens += len(tokens)
                    n_cut += cut
                    if pending and (used + len(tokens) > limit or len(pending) >= n_seq_max):
                        flush()
                        if cancel is not None and cancel.cancelled:
                            raise EmbeddingCancelled(row, len(texts))
                    llm._batch.add_sequence(tokens, len(pending), True)
                    pending.append(row)
                    used += len(tokens)
                if pending:
                    flush()
            except RuntimeError as exc:
                raise ModelError(
                    f"llama.cpp failed while embedding with {self.model_path.name}: {exc}"
                ) from exc
            finally:
                llm._batch.reset()
                llm._ctx.kv_cache_clear()
            norms = np.linalg.norm(out, axis=1, keepdims=True)
            out /= np.where(norms > 0, norms, 1.0)
            self.last_stats = EmbedStats(len(texts), n_tokens, n_cut, time.perf_counter() - start, n_batches)
            return out

    def embed_documents(
        self,
        texts: Sequence[str],
        *,
        progress: EmbedProgress | None = None,
        cancel: Cancellable | None = None,
    ) -> Matrix:
        prefix = self.spec.document_prefix
        return self.embed([prefix + t for t in texts] if prefix else texts, progress=progress, cancel=cancel)

    def embed_query(self, text: str) -> Vector:
        row: Vector = self.embed([self.spec.query_prefix + text])[0]
        return row

    def __enter__(self) -> Embedder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.unload()
