"""Pick and build an engine. Each backend module is imported only when it is chosen."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from deepresearch_local.engines.base import Engine
from deepresearch_local.errors import ModelError, UsageError

if TYPE_CHECKING:
    from deepresearch_local.hardware.fit import MemoryBudget

BACKENDS = ("llama.cpp", "mlx", "openai", "scripted")


@dataclass(frozen=True)
class EngineSpec:
    """What the user asked for; missing values are filled from the model and the machine."""

    model: str | None = None
    """A .gguf file, an MLX folder, or (openai) the server's model id."""
    backend: str | None = None
    context_tokens: int | None = None
    base_url: str | None = None
    gpu_layers: int | None = None
    kv_type: str = "f16"
    context_cap: int = 32768
    """The most context chosen automatically (the upstream preset raises it to 128K)."""
    constrain_tool_calls: str = "auto"
    """Grammar-constrained actions (llama.cpp, MLX): "auto" (builds of 3 bits and below), "on", "off"."""
    cpu_moe_layers: int | None = None
    """MoE expert offload (llama.cpp): the routed experts of the first N blocks stay in RAM while
    every block goes to the GPU (-1: every block's experts). None: the fit calculator decides."""


@dataclass(frozen=True)
class Placement:
    """Where a llama.cpp model runs: its context, blocks on the GPU, blocks whose experts stay in RAM."""

    context_tokens: int
    gpu_layers: int
    cpu_moe_layers: int = 0


def guess_backend(spec: EngineSpec) -> str:
    if spec.backend:
        if spec.backend not in BACKENDS:
            raise UsageError(f"Unknown backend {spec.backend!r}: choose one of {', '.join(BACKENDS)}.")
        return spec.backend
    if spec.base_url:
        return "openai"
    if spec.model is None:
        raise UsageError("No model given: pass --model PATH (a .gguf file or an MLX folder).")
    path = Path(spec.model).expanduser()
    if path.is_dir():
        return "mlx"
    if path.suffix.lower() == ".gguf" or path.is_file():
        return "llama.cpp"
    raise ModelError(f"No model at {path}: pass a .gguf file, an MLX folder, or --base-url for a server.")


def machine_budget(backend: str) -> MemoryBudget:
    """The memory a model may use here: unified memory for MLX and llama.cpp on Metal, RAM plus the
    NVIDIA GPUs' memory for a CUDA build of llama.cpp, RAM alone otherwise."""
    import psutil

    from deepresearch_local.hardware.fit import MemoryBudget
    from deepresearch_local.hardware.probe import nvidia_gpus, probe_llama_cpp
    from deepresearch_local.hardware.sources import SubprocessRunner

    total = psutil.virtual_memory().total
    device = "metal" if backend == "mlx" else probe_llama_cpp().device
    if device == "metal":
        from deepresearch_local.hardware.metal import local_gpu_share

        return MemoryBudget.for_machine(total, local_gpu_share(total), unified=True)
    if device == "cuda":
        vram = sum(gpu.memory_total_bytes for gpu in nvidia_gpus(SubprocessRunner()))
        return MemoryBudget.for_machine(total, vram_total=vram)
    return MemoryBudget.for_machine(total)


def auto_placement(
    model: Path,
    backend: str,
    kv_type: str,
    gpu_layers: int | None,
    cap: int = 32768,
    context: int | None = None,
) -> Placement:
    """The context (``context`` or the largest that fits, at most ``cap``) and the GPU plan the fit
    calculator picks for it; an explicit ``gpu_layers`` wins over the plan."""
    from deepresearch_local.hardware.fit import fit
    from deepresearch_local.weights.shapes import shape_of

    budget = machine_budget(backend)
    if context is None:
        context, _ = auto_context(model, backend, kv_type, gpu_layers, cap, budget=budget)
    if gpu_layers is not None or not (budget.vram_bytes or budget.unified):
        return Placement(context, gpu_layers or 0)
    result = fit(shape_of(model), budget, context_tokens=context, kv_type=kv_type, backend=backend)
    return Placement(context, result.gpu_layers, result.cpu_moe_layers)


def auto_context(
    model: Path,
    backend: str,
    kv_type: str,
    gpu_layers: int | None,
    cap: int = 32768,
    *,
    budget: MemoryBudget | None = None,
) -> tuple[int, int]:
    """(context, gpu_layers) from the memory-fit calculator for this machine, at most ``cap``.

    The largest context that fits, never less than the agent's minimum (or the model's own
    context, if that is shorter): a machine that cannot give that much is refused with a
    ``ModelError`` that says what fits and what to do, rather than handed a context the agent
    cannot work in or one the machine cannot hold.
    """
    from deepresearch_local.hardware.fit import MIN_AGENT_CONTEXT, fit, needed_and_available
    from deepresearch_local.weights.shapes import shape_of

    shape = shape_of(model)
    budget = budget or machine_budget(backend)
    result = fit(shape, budget, kv_type=kv_type, backend=backend)
    trained = shape.n_ctx_train or cap
    least = min(MIN_AGENT_CONTEXT, trained)
    if result.max_context_tokens < least:
        quantized = fit(shape, budget, kv_type="q8_0", backend=backend).max_context_tokens
        needed, available = needed_and_available(result.estimate, budget, backend)
        raise ModelError(
            _too_little_memory(model, least, needed, available, result.max_context_tokens, quantized)
        )
    context = min(result.max_context_tokens, cap, trained)
    return context, gpu_layers if gpu_layers is not None else result.gpu_layers


def _too_little_memory(model: Path, least: int, needed: int, budget: int, fits: int, quantized: int) -> str:
    """What to do when the calculator finds less room than a research run needs."""
    from deepresearch_local.units import human_bytes

    text = (
        f"{model.name} needs {human_bytes(needed)} for the {least:,} tokens of context a research run needs; "
        f"this machine leaves it {human_bytes(budget)} (the rest of its memory is kept for the system and "
        "other apps)."
    )
    fixes = ["choose a smaller build (`deepresearch models list` shows what fits here)"]
    if quantized >= least:
        fixes.insert(0, "pass --kv-type q8_0 (a KV cache half the size)")
    if fits > 0:
        fixes.append(f"pass --context {fits} to try anyway with less context than the agent needs")
    else:
        text += " Not even a short context fits."
    return f"{text} To run it: {'; or '.join(fixes)}."


def open_engine(spec: EngineSpec) -> Engine:
    """Build (not yet load) the engine for ``spec``."""
    backend = guess_backend(spec)
    if backend == "openai":
        from deepresearch_local.engines.openai import OpenAIEngine

        if not spec.base_url:
            raise UsageError("The openai backend needs --base-url (e.g. http://127.0.0.1:8080/v1).")
        return OpenAIEngine(spec.base_url, model=spec.model, context_tokens=spec.context_tokens)
    assert spec.model is not None
    path = Path(spec.model).expanduser()
    if backend in ("mlx", "llama.cpp") and spec.constrain_tool_calls not in ("auto", "on", "off"):
        raise UsageError("constrain_tool_calls must be auto, on or off.")
    if backend == "mlx":
        from deepresearch_local.engines.mlx import MLXEngine

        return MLXEngine(
            path,
            context_tokens=spec.context_tokens,
            kv_bits=mlx_kv_bits(spec.kv_type),
            constrain_tool_calls=spec.constrain_tool_calls,  # type: ignore[arg-type]
        )
    if backend == "llama.cpp":
        from deepresearch_local.engines.llamacpp import LlamaCppEngine
        from deepresearch_local.engines.tensor_overrides import expert_patterns

        place = _llama_placement(path, spec)
        return LlamaCppEngine(
            path,
            context_tokens=place.context_tokens,
            gpu_layers=place.gpu_layers,
            kv_type=spec.kv_type,  # type: ignore[arg-type]
            constrain_tool_calls=spec.constrain_tool_calls,  # type: ignore[arg-type]
            cpu_tensors=expert_patterns(place.cpu_moe_layers),
        )
    raise UsageError("The scripted backend is for tests: build ScriptedEngine directly.")


MLX_KV_BITS: dict[str, int | None] = {"f16": None, "q8_0": 8, "q4_0": 4}
"""``--kv-type`` on MLX: its own quantized cache (groups of 64, or 32 for small heads: about as
many bytes per element as llama.cpp's q8_0 and q4_0 blocks, so the fit calculator's figures hold
for both)."""


def mlx_kv_bits(kv_type: str) -> int | None:
    if kv_type not in MLX_KV_BITS:
        raise UsageError(f"MLX takes --kv-type {', '.join(MLX_KV_BITS)} (got {kv_type}).")
    return MLX_KV_BITS[kv_type]


def _llama_placement(path: Path, spec: EngineSpec) -> Placement:
    """What the spec says, the rest from the fit calculator: with no ``--gpu-layers`` the plan for
    this machine's GPU at the context given (or the largest that fits)."""
    if spec.cpu_moe_layers is not None:  # expert offload asked for: every block on the GPU
        layers = spec.gpu_layers if spec.gpu_layers is not None else -1
        context = (
            spec.context_tokens or auto_context(path, "llama.cpp", spec.kv_type, layers, spec.context_cap)[0]
        )
        return Placement(context, layers, spec.cpu_moe_layers)
    if spec.context_tokens is not None and spec.gpu_layers is not None:
        return Placement(spec.context_tokens, spec.gpu_layers)
    return auto_placement(
        path, "llama.cpp", spec.kv_type, spec.gpu_layers, spec.context_cap, context=spec.context_tokens
    )
