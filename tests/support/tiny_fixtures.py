"""Pytest fixture for the tiny qwen3moe model (import it into a conftest to use it)."""

from __future__ import annotations

import pytest

from tests.support.tiny_moe import TinyModel, write_tiny_moe


@pytest.fixture(scope="session")
def tiny_moe(tmp_path_factory: pytest.TempPathFactory) -> TinyModel:
    """The tiny random-weight qwen3moe model as GGUF and as an MLX/HF folder (seed 0, written once)."""
    return write_tiny_moe(tmp_path_factory.mktemp("tiny-moe"), seed=0)
