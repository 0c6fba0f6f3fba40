"""From the probed hardware to advice: which backend, which model variant, how much context, and why."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from deepresearch_local.hardware.fit import FitResult, GiB, MemoryBudget, fit
from deepresearch_local.hardware.probe import Hardware
from deepresearch_local.weights.catalog import Variant, load_catalog

AGENT_CONTEXT = 32768
"""Context the research agent uses when memory allows (fold mode works from 8K)."""

PORTABLE_CMAKE = "-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON"


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


def budget_for(hw: Hardware, use_gpu: bool = True) -> MemoryBudget:
    """Memory the model may use: unified share on Apple Silicon, VRAM + RAM on PCs."""
    if hw.unified_memory:
        from deepresearch_local.hardware.metal import gpu_share

        return MemoryBudget(ram_bytes=gpu_share(hw), unified=True)  # a raised Metal limit counts
    vram = sum(g.memory_total_bytes for g in hw.gpus if g.vendor == "nvidia") if use_gpu else 0
    return MemoryBudget.for_machine(hw.ram_total_bytes, vram_total=vram, unified=hw.unified_memory)


LLAMA_MIN_VERSION = "0.3.16"
"""The oldest llama-cpp-python that loads Tongyi's qwen3moe GGUFs (pyproject.toml requires it too)."""

CUDA_WHEEL_INDEX = "https://abetlen.github.io/llama-cpp-python/whl/{tag}"
"""llama-cpp-python's own index of prebuilt CUDA wheels, one per CUDA 12 minor version."""

_CUDA_TAG_BY_DRIVER: dict[str, tuple[tuple[tuple[int, int], str], ...]] = {
    # The lowest driver that runs each CUDA 12 minor version (NVIDIA's release notes), newest first.
    "linux": (((550, 54), "cu124"), ((545, 23), "cu123"), ((535, 54), "cu122"), ((530, 30), "cu121")),
    "windows": (((551, 61), "cu124"), ((545, 84), "cu123"), ((536, 25), "cu122"), ((531, 14), "cu121")),
}

_REINSTALL = "pipx runpip deepresearch-local install --force-reinstall --no-cache-dir"


def cuda_wheel_tag(hw: Hardware) -> str | None:
    """The prebuilt-wheel CUDA tag (``cu124`` ...) the NVIDIA driver can run; None if unknown or too old."""
    table = _CUDA_TAG_BY_DRIVER.get(hw.os)
    drivers = [g.driver for g in hw.gpus if g.vendor == "nvidia" and g.driver]
    if table is None or not drivers:
        return None
    try:
        driver = min(tuple(int(part) for part in d.split(".")[:2]) for d in drivers)
    except ValueError:
        return None
    return next((tag for minimum, tag in table if driver >= minimum), None)


def gpu_fixes(hw: Hardware) -> tuple[str, ...]:
    """Reinstall commands when a GPU exists but the llama.cpp build cannot use it.

    For NVIDIA: first a prebuilt CUDA wheel matched to the driver (no compiler needed; with
    ``--only-binary`` pip stops at once when the index has no wheel new enough, rather than
    compiling or installing an old one), then the build from source, which always works.
    """
    llama = hw.backend("llama.cpp")
    if llama is None or not llama.available or llama.device not in ("cpu", "none"):
        return ()
    if any(g.vendor == "nvidia" for g in hw.gpus):
        build = (
            f'CMAKE_ARGS="-DGGML_CUDA=on" {_REINSTALL} --no-binary llama-cpp-python '
            f'"llama-cpp-python>={LLAMA_MIN_VERSION}"'
        )
        tag = cuda_wheel_tag(hw)
        if tag is None:
            return (build,)
        index = CUDA_WHEEL_INDEX.format(tag=tag)
        prebuilt = (
            f"{_REINSTALL} --no-deps --only-binary llama-cpp-python --extra-index-url {index} "
            f'"llama-cpp-python>={LLAMA_MIN_VERSION}"'
        )
        return (prebuilt, build)
    if hw.os == "macos" and hw.arch == "arm64":
        return (
            f'CMAKE_ARGS="-DGGML_METAL=on" {_REINSTALL} --no-binary llama-cpp-python '
            f'"llama-cpp-python>={LLAMA_MIN_VERSION}"',
        )
    return ()


def fix_label(fix: str) -> str:
    """What a command from :func:`gpu_fixes` does, in a line to print above it."""
    if "--extra-index-url" in fix:
        return (
            "A prebuilt wheel for your driver's CUDA (no compiler; pip stops with 'no matching "
            "distribution' if the index has none this new yet):"
        )
    if "-DGGML_CUDA=on" in fix:
        return "Build it with CUDA (needs the CUDA toolkit and a C++ compiler; 10 to 30 minutes):"
    return "Build it with Metal (needs the Xcode command line tools):"


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
                    and (result.gpu_layers < variant.shape.n_layers or variant.quality < GPU_TIER_QUALITY)
                ):
                    continue
                for longer in (AGENT_CONTEXT, 24576):  # more context, if it keeps the verdict
                    if longer > context:
                        bigger = fit(variant.shape, budget, context_tokens=longer, backend=backend)
                        if bigger.verdict == result.verdict and bigger.gpu_layers >= result.gpu_layers:
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
