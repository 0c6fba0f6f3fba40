"""``--kv-type`` reaches the MLX engine as its own quantized cache (it was dropped before: an MLX
run always kept the full-size cache whatever the plan said)."""

from __future__ import annotations

import pytest

from deepresearch_local.engines.base import GenerationRequest, Sampling, collect
from deepresearch_local.engines.factory import EngineSpec, mlx_kv_bits, open_engine
from deepresearch_local.errors import UsageError
from tests.support.tiny_fixtures import tiny_moe  # noqa: F401  (fixture)
from tests.support.tiny_moe import TinyModel

pytest.importorskip("mlx_lm")


@pytest.mark.parametrize(("kv_type", "bits"), [("f16", None), ("q8_0", 8), ("q4_0", 4)])
def test_the_kv_type_becomes_the_mlx_cache(tiny_moe: TinyModel, kv_type: str, bits: int | None) -> None:  # noqa: F811
    spec = EngineSpec(model=str(tiny_moe.mlx_dir), backend="mlx", kv_type=kv_type, context_tokens=512)
    engine = open_engine(spec)
    try:
        out = collect(
            engine.generate(
                GenerationRequest(
                    prompt="The capital of France is", max_tokens=4, sampling=Sampling(temperature=0)
                )
            )
        )
        assert out.completion_tokens > 0
        details = engine.info.details
        assert details["kv_bits"] == bits
        assert tiny_moe.head_dim % int(details["kv_group_size"]) == 0  # 32 here: 64 does not divide it
    finally:
        engine.unload()


def test_an_unknown_kv_type_is_refused_with_the_choices() -> None:
    with pytest.raises(UsageError, match="MLX takes --kv-type f16, q8_0, q4_0"):
        mlx_kv_bits("f32")
