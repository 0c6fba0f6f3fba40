"""MoE expert offload through llama.cpp's tensor buffer overrides, on the CPU build CI has.

The tiny qwen3moe model (Tongyi-DeepResearch's architecture) has real ``ffn_*_exps`` tensors: the
override must reach llama.cpp (read back from its load log), and the model must still answer with
the same greedy tokens as without it. On a CPU-only build every tensor is in RAM either way, so
the placement changes nothing but the code path, which is what runs on a GPU machine."""

from __future__ import annotations

from pathlib import Path

import pytest

from deepresearch_local.engines.base import GenerationRequest, Sampling, collect
from deepresearch_local.engines.llamacpp import LlamaCppEngine
from deepresearch_local.engines.tensor_overrides import check_patterns, expert_patterns
from deepresearch_local.errors import UsageError
from tests.support.tiny_moe import TinyModel

PROMPT = "The agent thinks first, then calls a tool:"


def _greedy(engine: LlamaCppEngine) -> str:
    request = GenerationRequest(prompt=PROMPT, max_tokens=12, sampling=Sampling.greedy())
    return collect(engine.generate(request)).text


def test_expert_patterns_follow_llama_cpp_plans() -> None:
    assert expert_patterns(None) == () and expert_patterns(0) == ()
    assert expert_patterns(-1) == (r"\.ffn_(up|down|gate)_exps",)
    assert expert_patterns(48, n_layers=48) == expert_patterns(-1)  # every block: one pattern
    two = expert_patterns(2, n_layers=48)
    assert two == (r"^blk\.0\.ffn_(up|down|gate)_exps", r"^blk\.1\.ffn_(up|down|gate)_exps")
    import re

    assert re.search(two[1], "blk.1.ffn_down_exps.weight")
    assert not re.search(two[1], "blk.11.ffn_down_exps.weight")  # block 11 stays on the GPU
    assert not re.search(two[0], "blk.0.ffn_down_shexp.weight")  # shared experts stay too


def test_an_invalid_pattern_is_refused_before_loading() -> None:
    with pytest.raises(UsageError, match="not a valid regular expression"):
        check_patterns([r"blk\.(0|1\.ffn"])
    with pytest.raises(UsageError, match="empty tensor pattern"):
        check_patterns([" "])


def test_experts_in_ram_reach_llama_cpp_and_the_model_answers(tiny_moe: TinyModel) -> None:
    plain = LlamaCppEngine(tiny_moe.gguf_path, context_tokens=512, kv_type="f32")
    try:
        expected = _greedy(plain)
    finally:
        plain.unload()
    engine = LlamaCppEngine(
        tiny_moe.gguf_path, context_tokens=512, kv_type="f32", cpu_tensors=expert_patterns(-1)
    )
    try:
        engine.load()
        experts = {
            f"blk.{i}.ffn_{p}_exps.weight" for i in range(tiny_moe.n_layers) for p in ("up", "down", "gate")
        }
        assert set(engine.overridden_tensors) == experts
        assert engine.info.details["overridden_tensors"] == len(experts)
        assert _greedy(engine) == expected
    finally:
        engine.unload()


def test_the_first_blocks_only(tiny_moe: TinyModel) -> None:
    engine = LlamaCppEngine(tiny_moe.gguf_path, context_tokens=512, cpu_tensors=expert_patterns(1, 2))
    try:
        engine.load()
        assert sorted(engine.overridden_tensors) == [
            f"blk.0.ffn_{p}_exps.weight" for p in ("down", "gate", "up")
        ]
    finally:
        engine.unload()


def test_expert_offload_on_a_dense_model_says_what_to_do(qwen05b: Path) -> None:
    engine = LlamaCppEngine(qwen05b, context_tokens=1024, cpu_tensors=expert_patterns(-1))
    with pytest.raises(UsageError, match="mixture-of-experts model"):
        engine.load()
    # Nothing is left half-loaded: the same engine loads without the override.
    engine.cpu_tensors = ()
    try:
        engine.load()
        assert engine.overridden_tensors == []
    finally:
        engine.unload()
