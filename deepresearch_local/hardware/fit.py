"""The memory-fit calculator: will this model, with this context, run on this machine?

Memory for a run = weights + KV cache + compute buffers + a runtime overhead. The KV cache grows
linearly with the context: layers × KV heads × (key + value length) × bytes per element per
token. The constants below were measured with llama.cpp on the CPU (see
``deepresearch bench memory`` and the fit tests, which check predictions against measured RSS).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Literal

from deepresearch_local.hardware.modelinfo import ModelShape

MiB = 1 << 20
GiB = 1 << 30

KvType = Literal["f32", "f16", "q8_0", "q4_0"]
KV_BYTES_PER_ELEMENT: dict[str, float] = {"f32": 4.0, "f16": 2.0, "q8_0": 34 / 32, "q4_0": 18 / 32}

RUNTIME_BASE_BYTES = 60 * MiB
"""Python, our package and the engine library, before any model is loaded (measured ~45-60 MiB)."""
CONTEXT_OVERHEAD_BYTES = 52 * MiB
"""llama.cpp's per-context fixed cost beyond weights and KV (measured 51-52 MiB, two models)."""
FFN_ACTIVATION_FACTOR = 4.5
"""Resident compute memory per batch token ≈ this × FFN width × 4 bytes (measured on two models)."""
MIN_AGENT_CONTEXT = 8192
"""Below this the research agent cannot hold a system prompt, a report and one page."""
FITS_HEADROOM = 0.85
"""A run that needs more than this share of the budget is called "tight"."""

Verdict = Literal["fits", "tight", "no"]


@dataclass(frozen=True)
class MemoryBudget:
    """Memory a model may use on a machine."""

    ram_bytes: int
    """RAM the model may take (total RAM minus what the OS and other apps keep). Unified memory:
    the whole pool, the GPU's part included."""
    vram_bytes: int = 0
    """Discrete GPU memory usable for offloaded layers (0 without a GPU). Unified memory: the part
    of ``ram_bytes`` Metal lets the GPU use (its working-set limit)."""
    unified: bool = False
    """Apple Silicon: RAM and GPU memory are the same pool. llama.cpp puts as many blocks on the GPU
    as its share holds and runs the rest on the CPU from the same RAM; MLX needs it all on the GPU."""

    @classmethod
    def for_machine(cls, ram_total: int, vram_total: int = 0, unified: bool = False) -> MemoryBudget:
        """Budget from totals: keeps room for the OS and everyday apps.

        ``unified``: ``vram_total`` is Metal's GPU limit (0: estimated from ``ram_total``), and
        the pool is the RAM minus macOS's reserve (never less than the GPU limit: a raised limit
        is the user's choice).
        """
        if unified:
            from deepresearch_local.hardware.parsers import apple_gpu_share, os_reserve_bytes

            share = vram_total or apple_gpu_share(ram_total)
            usable = max(ram_total - os_reserve_bytes(ram_total), share)
            return cls(ram_bytes=usable, vram_bytes=share, unified=True)
        reserve = max(3 * GiB, int(ram_total * 0.15))
        usable_vram = max(vram_total - 600 * MiB, 0) if vram_total else 0  # CUDA context, display
        return cls(ram_bytes=max(ram_total - reserve, 0), vram_bytes=usable_vram)


@dataclass(frozen=True)
class Estimate:
    """Predicted memory for one configuration, in bytes."""

    context_tokens: int
    kv_type: str
    gpu_layers: int
    weights: int
    kv_cache: int
    compute: int
    overhead: int
    cpu_repack: int
    """Repacked copies on the CPU (their mapped originals stay as reclaimable page cache)."""
    ram: int
    """Needed in RAM."""
    vram: int
    """Needed in GPU memory."""
    expected_peak_rss: int
    """What a process-memory monitor will show at peak on the CPU path."""

    @property
    def total(self) -> int:
        return self.ram + self.vram


@dataclass(frozen=True)
class FitResult:
    verdict: Verdict
    context_tokens: int
    """The context the answer is for (the largest that fits when none was asked)."""
    max_context_tokens: int
    gpu_layers: int
    estimate: Estimate
    reason: str
    cpu_moe_layers: int = 0
    """Expert offload: blocks whose routed experts stay in RAM while every block is on the GPU
    (``gpu_layers`` is then all of them); 0 for plain layer offload."""

    def to_dict(self) -> dict[str, object]:
        out = asdict(self)
        out["estimate"]["total"] = self.estimate.total
        return out


def kv_bytes_per_token(shape: ModelShape, kv_type: str = "f16") -> int:
    """KV cache bytes per context token: layers × KV heads × (K + V length) × bytes per element."""
    elems = shape.n_layers * shape.n_kv_heads * (shape.key_length + shape.value_length)
    return int(elems * KV_BYTES_PER_ELEMENT[kv_type])


def compute_bytes(shape: ModelShape, n_ubatch: int = 512, resident: bool = True) -> int:
    """Compute buffer: what the CPU touches (``resident``) or what a GPU allocates up front."""
    activations = int(n_ubatch * 4 * FFN_ACTIVATION_FACTOR * shape.n_ff)
    if resident:
        return activations
    return activations + n_ubatch * 4 * shape.n_vocab  # worst-case logits buffer


def estimate(
    shape: ModelShape,
    context_tokens: int,
    *,
    kv_type: str = "f16",
    gpu_layers: int = 0,
    n_ubatch: int = 512,
    backend: str = "llama.cpp",
) -> Estimate:
    """Memory for ``shape`` at ``context_tokens`` with ``gpu_layers`` blocks on a discrete GPU."""
    layers = max(shape.n_layers, 1)
    gpu_layers = max(0, min(gpu_layers, layers))
    kv = kv_bytes_per_token(shape, kv_type) * context_tokens
    if shape.layer_bytes:
        gpu_weights = sum(shape.layer_bytes[:gpu_layers])
    else:
        gpu_weights = int(shape.weight_bytes * gpu_layers / layers)
    cpu_weights = shape.weight_bytes - gpu_weights
    gpu_share = gpu_layers / layers
    kv_gpu = int(kv * gpu_share)
    on_cpu = gpu_layers < layers
    repack = int(shape.cpu_repack_bytes * (1 - gpu_share)) if backend == "llama.cpp" else 0
    overhead = RUNTIME_BASE_BYTES + CONTEXT_OVERHEAD_BYTES
    compute_cpu = compute_bytes(shape, n_ubatch, resident=True) if on_cpu else 0
    compute_gpu = compute_bytes(shape, n_ubatch, resident=False) if gpu_layers else 0
    ram = cpu_weights + (kv - kv_gpu) + compute_cpu + overhead
    vram = gpu_weights + kv_gpu + compute_gpu
    return Estimate(
        context_tokens=context_tokens,
        kv_type=kv_type,
        gpu_layers=gpu_layers,
        weights=shape.weight_bytes,
        kv_cache=kv,
        compute=compute_cpu + compute_gpu,
        overhead=overhead,
        cpu_repack=repack,
        ram=ram,
        vram=vram,
        expected_peak_rss=ram + repack,
    )


def _gpu_layers_that_fit(shape: ModelShape, context: int, vram: int, kv_type: str) -> int:
    """Most blocks that fit in ``vram`` with their share of the KV cache and the compute buffer."""
    if vram <= 0:
        return 0
    best = 0
    for layers in range(shape.n_layers + 1):
        if estimate(shape, context, kv_type=kv_type, gpu_layers=layers).vram <= vram:
            best = layers
        else:
            break
    return best


def needed_and_available(est: Estimate, budget: MemoryBudget, backend: str = "llama.cpp") -> tuple[int, int]:
    """(needed, available) for the pool that limits this configuration: on unified memory the
    GPU's share for MLX (it cannot split), the whole usable RAM for llama.cpp (the blocks that do
    not fit the GPU's share run on the CPU from the same RAM); on a PC the RAM."""
    if budget.unified and backend == "mlx":
        return est.total, budget.vram_bytes
    if budget.unified:
        return est.total, budget.ram_bytes
    return est.ram, budget.ram_bytes


def fit(
    shape: ModelShape,
    budget: MemoryBudget,
    *,
    context_tokens: int | None = None,
    kv_type: str = "f16",
    backend: str = "llama.cpp",
    step: int = 1024,
) -> FitResult:
    """Answer fits / tight / no, with the largest context that fits and the GPU layers to offload."""
    ctx_cap = shape.n_ctx_train or 131072
    gpu_only = budget.unified and backend == "mlx"

    def at(ctx: int) -> tuple[Estimate, int]:
        if gpu_only:
            layers = shape.n_layers
        else:
            layers = _gpu_layers_that_fit(shape, ctx, budget.vram_bytes, kv_type)
        return estimate(shape, ctx, kv_type=kv_type, gpu_layers=layers, backend=backend), layers

    def fits(est: Estimate) -> bool:
        needed, avail = needed_and_available(est, budget, backend)
        return needed <= avail

    max_ctx = 0
    ctx = step
    while ctx <= ctx_cap:
        if not fits(at(ctx)[0]):
            break
        max_ctx = ctx
        ctx += step
    if max_ctx == ctx_cap - ctx_cap % step and ctx_cap % step and fits(at(ctx_cap)[0]):
        max_ctx = ctx_cap
    target = context_tokens or max(min(max_ctx, ctx_cap), min(MIN_AGENT_CONTEXT, ctx_cap))
    est, layers = at(target)
    cpu_moe = 0
    if budget.vram_bytes and not budget.unified and shape.expert_layer_bytes:
        est, layers, cpu_moe = _expert_offload_if_faster(shape, target, budget, kv_type, est, layers)
    needed, avail = needed_and_available(est, budget, backend)
    pool = "unified memory for the GPU" if gpu_only else "unified memory" if budget.unified else "RAM"
    if needed > avail or (context_tokens is None and max_ctx < min(MIN_AGENT_CONTEXT, ctx_cap)):
        verdict: Verdict = "no"
        reason = (
            f"needs {needed / GiB:.1f} GiB of {pool} at {target} tokens of context, "
            f"{avail / GiB:.1f} GiB available"
        )
    elif needed > avail * FITS_HEADROOM:
        verdict = "tight"
        reason = f"uses {needed / GiB:.1f} of {avail / GiB:.1f} GiB of {pool}: little room for other apps"
    else:
        verdict = "fits"
        reason = f"uses {needed / GiB:.1f} of {avail / GiB:.1f} GiB of {pool}"
    if cpu_moe:
        reason += (
            f"; experts of {cpu_moe}/{shape.n_layers} layers in RAM, everything else on the GPU "
            f"({est.vram / GiB:.1f} GiB VRAM)"
        )
    elif budget.unified and layers < shape.n_layers:
        reason += f"; {layers}/{shape.n_layers} layers on the GPU (Metal), the rest on the CPU"
    elif layers and not budget.unified:
        reason += f"; {layers}/{shape.n_layers} layers on the GPU ({est.vram / GiB:.1f} GiB VRAM)"
    return FitResult(verdict, target, max_ctx, layers, est, reason, cpu_moe)


def _expert_offload_if_faster(
    shape: ModelShape, context: int, budget: MemoryBudget, kv_type: str, est: Estimate, layers: int
) -> tuple[Estimate, int, int]:
    """(estimate, gpu layers, blocks with experts in RAM): expert offload where it fits the GPU
    and reads less from RAM per token than ``layers`` whole blocks on the GPU."""
    from dataclasses import replace

    from deepresearch_local.hardware.offload import best_plan

    gpu_fixed = compute_bytes(shape, resident=False)
    plan = best_plan(shape, context, budget.vram_bytes, kv_bytes_per_token(shape, kv_type), gpu_fixed)
    if plan is None or plan.kind != "experts" or plan.cpu_moe_layers == 0:  # 0: whole layers say it
        return est, layers, 0
    compute_cpu = compute_bytes(shape, resident=True) if plan.cpu_moe_layers else 0
    ram = plan.ram + est.overhead + compute_cpu
    repack = int(
        shape.cpu_repack_bytes * sum(shape.expert_layer_bytes[: plan.cpu_moe_layers]) / shape.weight_bytes
    )
    offloaded = replace(
        est,
        gpu_layers=shape.n_layers,
        ram=ram,
        vram=plan.vram,
        cpu_repack=repack,
        expected_peak_rss=ram + repack,
    )
    return offloaded, shape.n_layers, plan.cpu_moe_layers
