"""Layer offload versus MoE expert offload: the fit calculator picks the faster plan that fits."""

from __future__ import annotations

from pathlib import Path

import pytest

from deepresearch_local.hardware.fit import GiB, MemoryBudget, compute_bytes, fit, kv_bytes_per_token
from deepresearch_local.hardware.modelinfo import read_shape, shape_from_dict, shape_to_dict
from deepresearch_local.hardware.offload import best_plan, expert_plan, layer_plan
from deepresearch_local.weights.catalog import find_variant
from tests.support.tiny_moe import TinyModel

CONTEXT = 32768


def _tongyi(variant: str = "tongyi-30b-q4_k_m"):  # type: ignore[no-untyped-def]
    found = find_variant(variant)
    assert found is not None
    return found.shape


@pytest.mark.parametrize("vram_gib", [8, 12, 16])
def test_a_30b_moe_on_a_small_gpu_keeps_experts_in_ram(vram_gib: int) -> None:
    shape = _tongyi()
    budget = MemoryBudget.for_machine(32 * GiB, vram_gib * GiB)
    result = fit(shape, budget, context_tokens=CONTEXT)
    assert result.verdict in ("fits", "tight")
    assert 0 < result.cpu_moe_layers < shape.n_layers and result.gpu_layers == shape.n_layers
    assert result.estimate.vram <= budget.vram_bytes
    assert f"experts of {result.cpu_moe_layers}/48 layers in RAM" in result.reason
    # Faster by the model than the most whole layers that fit the same GPU.
    kv, fixed = kv_bytes_per_token(shape), compute_bytes(shape, resident=False)
    layers = [layer_plan(shape, CONTEXT, n, kv, fixed) for n in range(1, shape.n_layers + 1)]
    best_layers = [plan for plan in layers if plan.vram <= budget.vram_bytes][-1]
    experts = expert_plan(shape, CONTEXT, result.cpu_moe_layers, kv, fixed)
    assert experts.seconds_per_token < best_layers.seconds_per_token
    # One block fewer in RAM would not fit the GPU: the plan keeps as few experts in RAM as it can.
    assert expert_plan(shape, CONTEXT, result.cpu_moe_layers - 1, kv, fixed).vram > budget.vram_bytes


def test_more_gpu_memory_keeps_fewer_experts_in_ram() -> None:
    shape = _tongyi()
    in_ram = [
        fit(shape, MemoryBudget.for_machine(32 * GiB, v * GiB), context_tokens=CONTEXT).cpu_moe_layers
        for v in (8, 12, 16)
    ]
    assert in_ram == sorted(in_ram, reverse=True) and in_ram[0] > in_ram[-1]


def test_no_gpu_no_plan_and_a_dense_model_gets_layers(qwen05b: Path) -> None:
    assert fit(_tongyi(), MemoryBudget.for_machine(32 * GiB), context_tokens=CONTEXT).cpu_moe_layers == 0
    dense = read_shape(qwen05b)
    assert dense.expert_layer_bytes == ()
    kv, fixed = kv_bytes_per_token(dense), compute_bytes(dense, resident=False)
    plan = best_plan(dense, 8192, 1 * GiB, kv, fixed)
    assert plan is not None and plan.kind == "layers"


def test_expert_bytes_are_read_from_a_real_moe_gguf(tiny_moe: TinyModel) -> None:
    shape = read_shape(tiny_moe.gguf_path)
    assert len(shape.expert_layer_bytes) == tiny_moe.n_layers
    # up, gate and down of every expert, float32.
    per_block = 3 * shape.n_experts * shape.n_embd * (shape.n_ff // shape.n_experts_used) * 4
    assert shape.expert_layer_bytes == (per_block,) * tiny_moe.n_layers
    assert all(e < b for e, b in zip(shape.expert_layer_bytes, shape.layer_bytes))
    # A shape cached before experts were counted is read again, not trusted.
    old = shape_to_dict(shape)
    del old["expert_layer_bytes"]
    with pytest.raises(KeyError):
        shape_from_dict(old)
    assert shape_from_dict(shape_to_dict(shape)) == shape
