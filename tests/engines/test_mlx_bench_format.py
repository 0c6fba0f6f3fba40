"""``bench format`` on an MLX model folder (the tiny qwen3moe: the real 0.5B model is too slow on
MLX's x86 CPU backend for the bench's long prompts): both modes run on the MLX engine, the
constrained one under the grammar (no "not constrained" warning)."""

from __future__ import annotations

import argparse
import warnings

import pytest

from deepresearch_local.bench import format as fmt
from deepresearch_local.errors import UsageError
from tests.support.tiny_fixtures import tiny_moe  # noqa: F401  (until the conftest imports it)
from tests.support.tiny_moe import TinyModel

pytest.importorskip("mlx_lm")

from deepresearch_local.engines.mlx import UnconstrainedWarning


def test_bench_format_runs_mlx_in_both_modes(tiny_moe: TinyModel) -> None:  # noqa: F811
    args = argparse.Namespace(
        model=str(tiny_moe.mlx_dir), samples=1, limit=2, max_tokens=12, temperature=0.6, context=4096,
        threads=None, json=True,
    )  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("error", UnconstrainedWarning)  # the grammar really runs
        result = fmt.from_args(args)
    assert result["backend"] == "mlx" and result["model"] == tiny_moe.mlx_dir.name
    assert result["prompts"] == 2 and len(result["samples"]) == 4
    for name in ("free", "constrained"):
        mode = result["modes"][name]
        assert mode["turns"] == 2 and mode["clean"] + mode["repaired"] + mode["unusable"] == 2
    assert {s["constrained"] for s in result["samples"]} == {False, True}


def test_a_missing_model_is_named() -> None:
    args = argparse.Namespace(
        model="/nonexistent/model-folder", samples=1, limit=1, max_tokens=12, temperature=0.6, context=4096,
        threads=None, json=True,
    )  # fmt: skip
    with pytest.raises(UsageError, match=r"give a \.gguf file or an MLX model folder"):
        fmt.from_args(args)
