"""From the probed hardware and the catalog to advice: which backend, which model variant, how
much context, and why. It lives beside the catalog it reads, so ``hardware`` knows nothing of models."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

from deepresearch_local.hardware.budget import budget_for
from deepresearch_local.hardware.fit import FitResult, GiB, MemoryBudget, fit
from deepresearch_local.hardware.gpu_builds import gpu_fixes
from deepresearch_local.hardware.modelinfo import ModelShape
from deepresearch_local.hardware.probe import Hardware
from deepresearch_local.weights.catalog import Variant, load_catalog

AGENT_CONTEXT = 32768
"""Context the research agent uses when memory allows (fold mode works from 8K)."""


@dataclass(frozen=True)
class Recommendation:
    backend: str
    """"mlx", "llama.cpp" or "openai" (a server on a bigger machine)."""
    variant: str | None
    context_tokens: int
    why: str
    fit: FitResult | None = None
    fixes: tuple[str, ...] = ()
    """Commands that would make this machine do better (e.g. a CUDA build of llama.cpp)."""
    kv_type: str = "f16"
    """The KV cache the plan is for: "q8_0" (half the size) where it buys a better build or a
    useful context, else "f16". A run with the default ``--kv-type`` plans the same way."""

    def to_dict(self) -> dict[str, object]:
        out = asdict(self)
        out["fit"] = self.fit.to_dict() if self.fit else None
        out["fixes"] = list(self.fixes)
        return out


PREFERENCES: tuple[tuple[tuple[str, ...], int], ...] = (
    (("fits", "tight"), 16384),
    (("fits", "tight"), 8192),
)
"""Verdicts and minimum context to look for, in order; within each, the highest quality (the
largest build) wins, even when it leaves little room for other apps ("tight": said in the why).
Quality beats context: fold mode keeps research going in 8-16K."""


GPU_TIER_QUALITY = 3
"""The least quality (IQ3_XXS) worth preferring for being held entirely by the GPU: a 2-bit build
on the GPU loses more than a 3-bit or better build split with RAM does in speed."""


USEFUL_CONTEXT = PREFERENCES[0][1]
"""Below this a pick with the full-size KV cache may switch to q8_0 for more context."""

QUANTIZED_KV_BACKENDS = ("llama.cpp", "mlx")
"""Backends whose engine takes a quantized KV cache from ``--kv-type``: llama.cpp (with flash
attention, which it turns on) and MLX (its own 8-bit cache, ``kv_bits``)."""

KV_TYPES = ("f16", "q8_0")
"""Tried in this order: full precision first, q8_0 (half the bytes) where f16 does not fit."""

_RANK = {"no": 0, "tight": 1, "fits": 2}


@dataclass(frozen=True)
class Pick:
    """The build chosen among candidates (its index), its fit and the KV cache it is planned with."""

    index: int
    result: FitResult
    kv_type: str


def traded(result: FitResult, kv_type: str = "f16", quant: str = "") -> str:
    """What the pick gave up for a bigger build, in a sentence (empty when nothing)."""
    text = ""
    if kv_type != "f16":
        build = f"fit {quant} at" if quant else "fit"
        text = (
            f" The KV cache is quantized to {kv_type} (half the size, little loss) to {build} "
            f"{result.context_tokens // 1024}K."
        )
    if result.context_tokens >= AGENT_CONTEXT:
        return text
    return text + (
        f" Traded for the larger build: the context stops at {result.context_tokens:,} tokens "
        "(fold mode keeps research going)."
    )


def _whole_on_gpu(result: FitResult, shape: ModelShape) -> bool:
    return result.gpu_layers >= shape.n_layers and not result.cpu_moe_layers


def _same_or_better_plan(longer: FitResult, result: FitResult) -> bool:
    """More context is taken only if it moves no whole layer off the GPU. With expert offload the
    longer context may keep a few more layers' experts in RAM: only their routed experts are read
    per token, which costs far less than a whole layer on the CPU."""
    return longer.gpu_layers >= result.gpu_layers


def kv_types(backend: str) -> tuple[str, ...]:
    return KV_TYPES if backend in QUANTIZED_KV_BACKENDS else KV_TYPES[:1]


def _longest(
    shape: ModelShape, budget: MemoryBudget, backend: str, result: FitResult, kv: str
) -> tuple[FitResult, str]:
    """More context for the pick, if it keeps the verdict and the GPU plan; a pick held to a short
    context by the full-size KV cache may take q8_0 to reach a useful one."""
    tries = [(longer, kv) for longer in (AGENT_CONTEXT, 24576)]
    if kv == "f16" and result.context_tokens < USEFUL_CONTEXT and "q8_0" in kv_types(backend):
        tries += [(longer, "q8_0") for longer in (AGENT_CONTEXT, 24576, USEFUL_CONTEXT)]
    for longer, longer_kv in tries:
        if longer > result.context_tokens:
            bigger = fit(shape, budget, context_tokens=longer, kv_type=longer_kv, backend=backend)
            if _RANK[bigger.verdict] >= _RANK[result.verdict] and _same_or_better_plan(bigger, result):
                return bigger, longer_kv
    return result, kv


def best_build(builds: Sequence[tuple[ModelShape, int]], budget: MemoryBudget, backend: str) -> Pick | None:
    """The best-quality build (``(shape, quality)``) that fits with a long context, relaxing step by
    step; each build with the f16 KV cache first, then q8_0 where the backend takes it.

    With a discrete GPU, builds that fit entirely in VRAM come first: a split between GPU and
    RAM decodes several times slower than a slightly smaller build held on the GPU.
    """
    ranked = sorted(range(len(builds)), key=lambda i: builds[i][1], reverse=True)
    tiers = (True, False) if budget.vram_bytes else (False,)
    for whole_on_gpu in tiers:
        for wanted, context in PREFERENCES:
            for index in ranked:
                shape, quality = builds[index]
                if whole_on_gpu and quality < GPU_TIER_QUALITY:
                    continue
                for kv in kv_types(backend):
                    result = fit(shape, budget, context_tokens=context, kv_type=kv, backend=backend)
                    if result.verdict in wanted and (not whole_on_gpu or _whole_on_gpu(result, shape)):
                        return Pick(index, *_longest(shape, budget, backend, result, kv))
    return None


def _best(variants: list[Variant], budget: MemoryBudget, backend: str) -> tuple[Variant, Pick] | None:
    pick = best_build([(v.shape, v.quality) for v in variants], budget, backend)
    return (variants[pick.index], pick) if pick else None


def planned_kv_type(shape: ModelShape, budget: MemoryBudget, backend: str, context: int | None = None) -> str:
    """The KV cache a run of this build plans with when ``--kv-type`` is left out: what the
    recommendation would plan for it here (so taking the recommendation gets its q8_0), or, for a
    context given, f16 where that context fits and q8_0 where only it does."""
    if len(kv_types(backend)) == 1:
        return "f16"
    if context:
        for kv in kv_types(backend):
            if fit(shape, budget, context_tokens=context, kv_type=kv, backend=backend).verdict != "no":
                return kv
        return "f16"
    pick = best_build([(shape, build_quality(shape))], budget, backend)
    return pick.kv_type if pick else "f16"


def build_quality(shape: ModelShape) -> int:
    """The catalog's quality for a GGUF of this quantization (a file from elsewhere counts as its
    catalog twin); an unknown one passes the GPU tier unless it is below 3 bits."""
    from deepresearch_local.hardware.gguf_header import file_type_name

    name = file_type_name(shape.details.get("file_type")) or ""
    quant = name.removeprefix("MOSTLY_")
    for variant in load_catalog():
        if variant.format == shape.format and variant.quant == quant:
            return variant.quality
    bits = next((int(c) for c in quant if c.isdigit()), None)
    return 1 if bits is not None and bits < 3 else GPU_TIER_QUALITY


def recommend(hw: Hardware) -> Recommendation:
    catalog = list(load_catalog())
    fixes = gpu_fixes(hw)
    mlx = hw.backend("mlx")
    llama = hw.backend("llama.cpp")
    apple = hw.os == "macos" and hw.arch == "arm64"
    budget = budget_for(hw, use_gpu=not fixes)
    pool = "unified memory usable by the GPU" if budget.unified else "RAM"
    where = f"{budget.ram_bytes / GiB:.0f} GiB of {pool}"
    if budget.vram_bytes:
        where += f" and {budget.vram_bytes / GiB:.0f} GiB of GPU memory"

    if apple and mlx is not None and mlx.available:
        best = _best([v for v in catalog if v.format == "mlx"], budget, "mlx")
        if best:
            variant, pick = best
            result = pick.result
            return Recommendation(
                "mlx",
                variant.id,
                result.context_tokens,
                f"Apple Silicon with MLX: {variant.quant} {result.reason} at {result.context_tokens} "
                f"tokens ({where})." + traded(result, pick.kv_type, variant.quant),
                result,
                fixes,
                pick.kv_type,
            )
    if llama is not None and llama.available:
        best = _best([v for v in catalog if v.format == "gguf"], budget, "llama.cpp")
        if best:
            variant, pick = best
            result = pick.result
            device = "the CPU" if not result.gpu_layers else f"{llama.device} offload"
            why = (
                f"llama.cpp on {device}: {variant.quant} is the best build that fits, with "
                f"{result.context_tokens:,} tokens of context; it {result.reason}."
            ) + traded(result, pick.kv_type, variant.quant)
            if fixes:
                why += " A GPU was found but this llama.cpp build is CPU-only: see the fix below."
            return Recommendation(
                "llama.cpp", variant.id, result.context_tokens, why, result, fixes, pick.kv_type
            )
        return Recommendation(
            "openai",
            None,
            AGENT_CONTEXT,
            f"No build of the 30B model fits in {where}. Run it on a bigger machine with llama-server, "
            "Ollama, LM Studio or vLLM and connect with --backend openai --base-url URL.",
            None,
            fixes,
        )
    return Recommendation(
        "openai",
        None,
        AGENT_CONTEXT,
        "No local backend is installed (llama-cpp-python or mlx-lm). Install one, or connect to an "
        "OpenAI-compatible server with --backend openai --base-url URL.",
        None,
        fixes,
    )
