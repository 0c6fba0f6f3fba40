"""Two ways to run a model bigger than the GPU, and a rough model of which one is faster.

- **Layer offload**: the first L blocks (weights and their share of the KV cache) on the GPU, the
  rest on the CPU.
- **Expert offload** (mixture-of-experts models): every block on the GPU except the routed experts
  of the first N blocks, which stay in system RAM (llama.cpp's ``--n-cpu-moe N``). Attention, the
  shared weights and the whole KV cache are on the GPU.

Generating one token reads, per block, its attention and shared weights, the experts the router
picks (``n_experts_used / n_experts`` of the expert bytes) and the block's KV cache for the whole
context. Time per token ≈ bytes read on the CPU / RAM bandwidth + bytes read on the GPU / VRAM
bandwidth: memory-bound decoding, which is what a 30B-A3B model on a laptop is. The bandwidths
are typical figures, only used to rank the two plans, never shown as a speed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from deepresearch_local.hardware.modelinfo import ModelShape

RAM_BANDWIDTH = 50e9
"""Bytes/s a laptop or desktop CPU reads from dual-channel DDR4/DDR5 in practice."""
VRAM_BANDWIDTH = 350e9
"""Bytes/s of a mid-range discrete GPU (8-12 GB class)."""

PlanKind = Literal["layers", "experts"]


@dataclass(frozen=True)
class OffloadPlan:
    kind: PlanKind
    gpu_layers: int
    """Blocks on the GPU (all of them for expert offload)."""
    cpu_moe_layers: int
    """Blocks whose experts stay in RAM (expert offload; 0 for layer offload)."""
    vram: int
    ram: int
    seconds_per_token: float

    def describe(self, n_layers: int) -> str:
        if self.kind == "experts":
            if self.cpu_moe_layers == 0:
                return f"all {n_layers} layers on the GPU"
            return (
                f"experts of {self.cpu_moe_layers}/{n_layers} layers in RAM, the rest on the GPU "
                f"(--cpu-moe {self.cpu_moe_layers})"
            )
        return f"{self.gpu_layers}/{n_layers} layers on the GPU"


def _block_bytes(shape: ModelShape, block: int) -> int:
    """A block's weights; spread evenly when only the total is known (as ``fit.estimate`` does)."""
    return shape.layer_bytes[block] if shape.layer_bytes else shape.weight_bytes // max(shape.n_layers, 1)


def _attention_bytes(shape: ModelShape, block: int) -> int:
    experts = shape.expert_layer_bytes[block] if shape.expert_layer_bytes else 0
    return _block_bytes(shape, block) - experts


def _non_layer_bytes(shape: ModelShape) -> int:
    return shape.non_layer_bytes if shape.layer_bytes else 0


def _active_expert_bytes(shape: ModelShape, block: int) -> float:
    if not shape.expert_layer_bytes or not shape.n_experts:
        return 0.0
    return shape.expert_layer_bytes[block] * shape.n_experts_used / shape.n_experts


def _kv_per_block(shape: ModelShape, context: int, kv_bytes_per_token: int) -> int:
    return kv_bytes_per_token * context // max(shape.n_layers, 1)


def layer_plan(
    shape: ModelShape, context: int, gpu_layers: int, kv_bytes_per_token: int, gpu_fixed: int
) -> OffloadPlan:
    """The first ``gpu_layers`` blocks on the GPU; ``gpu_fixed``: compute buffers there."""
    kv_block = _kv_per_block(shape, context, kv_bytes_per_token)
    cpu_read = gpu_read = 0.0
    vram = gpu_fixed if gpu_layers else 0
    ram = 0
    for block in range(shape.n_layers):
        weights = _block_bytes(shape, block)
        if shape.expert_layer_bytes:  # only the routed experts of a MoE block are read
            read = _attention_bytes(shape, block) + _active_expert_bytes(shape, block) + kv_block
        else:
            read = weights + kv_block
        if block < gpu_layers:
            vram += weights + kv_block
            gpu_read += read
        else:
            ram += weights + kv_block
            cpu_read += read
    ram += _non_layer_bytes(shape)
    seconds = cpu_read / RAM_BANDWIDTH + gpu_read / VRAM_BANDWIDTH
    return OffloadPlan("layers", gpu_layers, 0, vram, ram, seconds)


def expert_plan(
    shape: ModelShape, context: int, cpu_moe_layers: int, kv_bytes_per_token: int, gpu_fixed: int
) -> OffloadPlan:
    """Every block on the GPU but the experts of the first ``cpu_moe_layers`` blocks."""
    kv_block = _kv_per_block(shape, context, kv_bytes_per_token)
    cpu_read = gpu_read = 0.0
    vram, ram = gpu_fixed, _non_layer_bytes(shape)
    for block in range(shape.n_layers):
        attention = _attention_bytes(shape, block)
        experts = shape.expert_layer_bytes[block]
        vram += attention + kv_block
        gpu_read += attention + kv_block
        if block < cpu_moe_layers:
            ram += experts
            cpu_read += _active_expert_bytes(shape, block)
        else:
            vram += experts
            gpu_read += _active_expert_bytes(shape, block)
    seconds = cpu_read / RAM_BANDWIDTH + gpu_read / VRAM_BANDWIDTH
    return OffloadPlan("experts", shape.n_layers, cpu_moe_layers, vram, ram, seconds)


def best_plan(
    shape: ModelShape, context: int, vram_budget: int, kv_bytes_per_token: int, gpu_fixed: int
) -> OffloadPlan | None:
    """The faster of the best layer plan and (for MoE models) the best expert plan within
    ``vram_budget``; None when not even one block fits."""
    candidates: list[OffloadPlan] = []
    layers = [
        layer_plan(shape, context, n, kv_bytes_per_token, gpu_fixed) for n in range(1, shape.n_layers + 1)
    ]
    fitting = [plan for plan in layers if plan.vram <= vram_budget]
    if fitting:
        candidates.append(fitting[-1])
    if shape.expert_layer_bytes and shape.n_experts:
        for n in range(shape.n_layers + 1):  # fewest blocks' experts in RAM that fit
            plan = expert_plan(shape, context, n, kv_bytes_per_token, gpu_fixed)
            if plan.vram <= vram_budget:
                candidates.append(plan)
                break
    if not candidates:
        return None
    return min(candidates, key=lambda plan: plan.seconds_per_token)


def estimated_expert_bytes(shape: ModelShape) -> tuple[int, ...]:
    """Expert bytes per block of a MoE model known only by its shape (a catalog entry before
    download), spreading ``weight_bytes`` evenly over the parameters."""
    if not shape.n_experts or not shape.n_experts_used:
        return ()
    expert_ff = shape.n_ff // shape.n_experts_used  # n_ff is the width of the experts used per token
    attention = shape.n_embd * (shape.n_heads * shape.key_length + shape.n_kv_heads * shape.key_length) * 2
    experts = shape.n_experts * 3 * shape.n_embd * expert_ff
    router = shape.n_embd * shape.n_experts
    embeddings = 2 * shape.n_vocab * shape.n_embd  # input and output
    params = shape.n_layers * (attention + experts + router) + embeddings
    return (int(experts * shape.weight_bytes / params),) * shape.n_layers
