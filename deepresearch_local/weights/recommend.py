"""From the probed hardware and the catalog to advice: which backend, which model variant, how
much context, and why. It lives beside the catalog it reads, so ``hardware`` knows nothing of models."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from deepresearch_local.hardware.budget import budget_for
from deepresearch_local.hardware.fit import FitResult, GiB, MemoryBudget, fit
from deepresearch_local.hardware.gpu_builds import gpu_fixes
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


def traded(result: FitResult) -> str:
    """What the pick gave up for a bigger build, in a sentence (empty when nothing)."""
    if result.context_tokens >= AGENT_CONTEXT:
        return ""
    return (
        f" Traded for the larger build: the context stops at {result.context_tokens:,} tokens "
        "(fold mode keeps research going)."
    )


def _whole_on_gpu(result: FitResult, variant: Variant) -> bool:
    return result.gpu_layers >= variant.shape.n_layers and not result.cpu_moe_layers


def _same_or_better_plan(longer: FitResult, result: FitResult) -> bool:
    """More context is taken only if it moves no whole layer off the GPU. With expert offload the
    longer context may keep a few more layers' experts in RAM: only their routed experts are read
    per token, which costs far less than a whole layer on the CPU."""
    return longer.gpu_layers >= result.gpu_layers


def _best(variants: list[Variant], budget: MemoryBudget, backend: str) -> tuple[Variant, FitResult] | None:
    """The best-quality variant that fits comfortably with a long context, relaxing step by step.

    With a discrete GPU, builds that fit entirely in VRAM come first: a split between GPU and
    RAM decodes several times slower than a slightly smaller build held on the GPU.
    """
    ranked = sorted(variants, key=lambda v: v.quality, reverse=True)
    tiers = (True, False) if budget.vram_bytes else (False,)
    for whole_on_gpu in tiers:
        for wanted, context in PREFERENCES:
            for variant in ranked:
                result = fit(variant.shape, budget, context_tokens=context, backend=backend)
                if result.verdict not in wanted or (
                    whole_on_gpu
                    and (not _whole_on_gpu(result, variant) or variant.quality < GPU_TIER_QUALITY)
                ):
                    continue
                for longer in (AGENT_CONTEXT, 24576):  # more context, if it keeps the verdict
                    if longer > context:
                        bigger = fit(variant.shape, budget, context_tokens=longer, backend=backend)
                        if bigger.verdict == result.verdict and _same_or_better_plan(bigger, result):
                            return variant, bigger
                return variant, result
    return None


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
        pick = _best([v for v in catalog if v.format == "mlx"], budget, "mlx")
        if pick:
            variant, result = pick
            return Recommendation(
                "mlx",
                variant.id,
                result.context_tokens,
                f"Apple Silicon with MLX: {variant.quant} {result.reason} at {result.context_tokens} "
                f"tokens ({where})." + traded(result),
                result,
                fixes,
            )
    if llama is not None and llama.available:
        pick = _best([v for v in catalog if v.format == "gguf"], budget, "llama.cpp")
        if pick:
            variant, result = pick
            device = "the CPU" if not result.gpu_layers else f"{llama.device} offload"
            why = (
                f"llama.cpp on {device}: {variant.quant} is the best build that fits, with "
                f"{result.context_tokens:,} tokens of context; it {result.reason}."
            ) + traded(result)
            if fixes:
                why += " A GPU was found but this llama.cpp build is CPU-only: see the fix below."
            return Recommendation("llama.cpp", variant.id, result.context_tokens, why, result, fixes)
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
