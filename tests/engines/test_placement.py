"""Where ``open_engine`` puts a llama.cpp model: the context, the GPU layers and, for a MoE model on
a GPU too small for it, the blocks whose experts stay in RAM (hardware/offload.py's plan)."""

from __future__ import annotations

from pathlib import Path

import pytest

from deepresearch_local.engines import factory
from deepresearch_local.engines.factory import EngineSpec, auto_placement, machine_budget, open_engine
from deepresearch_local.hardware.fit import GiB, MemoryBudget
from deepresearch_local.hardware.probe import probe_llama_cpp
from deepresearch_local.weights.catalog import find_variant
from tests.support.tiny_moe import TinyModel


def test_this_machine_budget_follows_the_llama_cpp_build() -> None:
    budget = machine_budget("llama.cpp")
    device = probe_llama_cpp().device
    assert budget.unified == (device == "metal")
    assert (budget.vram_bytes > 0) == (device == "cuda")
    assert machine_budget("mlx").unified


def test_a_moe_model_on_a_12_gb_gpu_gets_expert_offload(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    tongyi = find_variant("tongyi-30b-q4_k_m")
    assert tongyi is not None
    monkeypatch.setattr(
        factory, "machine_budget", lambda backend: MemoryBudget.for_machine(32 * GiB, 12 * GiB)
    )
    monkeypatch.setattr("deepresearch_local.weights.shapes.shape_of", lambda path: tongyi.shape)
    place = auto_placement(tmp_path / "tongyi.gguf", "llama.cpp", "f16", None, context=32768)
    assert place.context_tokens == 32768
    assert place.gpu_layers == 48 and 0 < place.cpu_moe_layers < 48
    # The user's own --gpu-layers wins over the plan.
    mine = auto_placement(tmp_path / "tongyi.gguf", "llama.cpp", "f16", 10, context=32768)
    assert (mine.gpu_layers, mine.cpu_moe_layers) == (10, 0)
    # No GPU: nothing to place.
    monkeypatch.setattr(factory, "machine_budget", lambda backend: MemoryBudget.for_machine(32 * GiB))
    assert auto_placement(tmp_path / "t.gguf", "llama.cpp", "f16", None, context=8192).gpu_layers == 0


def test_asked_expert_offload_reaches_the_engine(tiny_moe: TinyModel) -> None:
    spec = EngineSpec(str(tiny_moe.gguf_path), "llama.cpp", context_tokens=512, cpu_moe_layers=-1)
    engine = open_engine(spec)
    try:
        engine.load()
        details = engine.info.details
        assert details["gpu_layers"] == -1 and details["overridden_tensors"] == 3 * tiny_moe.n_layers
    finally:
        engine.unload()


def test_a_saved_context_still_gets_the_gpu_plan(
    monkeypatch: pytest.MonkeyPatch, tiny_moe: TinyModel
) -> None:
    """A context from the settings (no --gpu-layers) is placed on the GPU like an automatic one."""
    tongyi = find_variant("tongyi-30b-q4_k_m")
    assert tongyi is not None
    monkeypatch.setattr(
        factory, "machine_budget", lambda backend: MemoryBudget.for_machine(32 * GiB, 8 * GiB)
    )
    monkeypatch.setattr("deepresearch_local.weights.shapes.shape_of", lambda path: tongyi.shape)
    engine = open_engine(EngineSpec(str(tiny_moe.gguf_path), "llama.cpp", context_tokens=16384))
    assert engine.info.details["gpu_layers"] == 48
    assert engine.info.details["cpu_tensors"] and engine.requested_context == 16384  # type: ignore[attr-defined]
    mine = open_engine(EngineSpec(str(tiny_moe.gguf_path), "llama.cpp", context_tokens=16384, gpu_layers=0))
    assert mine.info.details["gpu_layers"] == 0 and not mine.info.details["cpu_tensors"]
