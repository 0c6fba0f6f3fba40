"""Apple Silicon: Metal's GPU memory limit, where it came from, and what raising it would unlock in
builds of the catalog.

``doctor`` shows the command, the build it would unlock and the risk; the app never runs it.
"""

from __future__ import annotations

from dataclasses import dataclass

from deepresearch_local.hardware.fit import GiB, MiB
from deepresearch_local.hardware.metal import (
    SOURCE_LABELS,
    gpu_share,
    gpu_share_source,
    raised_limit_bytes,
    with_gpu_share,
)
from deepresearch_local.hardware.probe import Hardware
from deepresearch_local.weights.catalog import find_variant
from deepresearch_local.weights.recommend import Recommendation, recommend


@dataclass(frozen=True)
class MetalAdvice:
    current_bytes: int
    source: str
    """Where ``current_bytes`` came from: "raised", "metal" (the device's report) or "estimate"."""
    raised_bytes: int
    command: str
    unlocks: str | None
    """The build the raised limit would be recommended (None: it would change nothing)."""
    context_tokens: int
    text: str


def describe_limit(hw: Hardware) -> str:
    """The limit and where it came from, e.g. "Metal may use 10.7 GiB of this Mac's 16 GiB (the
    working set Metal reports)."."""
    label = SOURCE_LABELS[gpu_share_source(hw)]
    share, ram = gpu_share(hw) / GiB, hw.ram_total_bytes / GiB
    return f"Metal may use {share:.1f} GiB of this Mac's {ram:.0f} GiB ({label})."


def _layers(rec: Recommendation) -> tuple[int, int]:
    """(blocks on the GPU, blocks) of a recommendation's plan; (0, 0) without one."""
    variant = find_variant(rec.variant or "")
    if rec.fit is None or variant is None:
        return 0, 0
    return rec.fit.gpu_layers, variant.shape.n_layers


def _gain(now: Recommendation, then: Recommendation) -> str | None:
    """What the raised limit buys, in words; None when nothing."""
    if then.variant is None:
        return None
    (on_gpu_now, _), (on_gpu_then, total) = _layers(now), _layers(then)
    whole = total > 0 and on_gpu_then >= total
    if then.variant != now.variant or then.context_tokens > now.context_tokens:
        where = " entirely on the GPU" if whole else ""
        now_text = now.variant or "no build"
        return f"{then.variant} with {then.context_tokens:,} tokens of context run{where} (now: {now_text})"
    if whole and on_gpu_now < on_gpu_then:
        return (
            f"{then.variant} run entirely on the GPU (now {on_gpu_now}/{total} layers on it, the rest "
            "on the CPU, which decodes slower)"
        )
    return None


def metal_advice(hw: Hardware, now: Recommendation | None = None) -> MetalAdvice | None:
    """What ``sudo sysctl iogpu.wired_limit_mb=N`` would buy on this Mac; None elsewhere or when
    the limit is already as high as we would suggest. ``now``: ``recommend(hw)``, where the caller
    has it already."""
    if not hw.unified_memory:
        return None
    current = gpu_share(hw)
    raised = raised_limit_bytes(hw.ram_total_bytes)
    if raised <= current:
        return None
    now, then = now or recommend(hw), recommend(with_gpu_share(hw, raised))
    command = f"sudo sysctl iogpu.wired_limit_mb={raised // MiB}"
    keep = (hw.ram_total_bytes - raised) / GiB
    risk = (
        f"It leaves macOS and your other apps {keep:.0f} GiB: with a browser and more open the Mac "
        "may swap heavily or freeze until the model is closed. The setting lasts until the next "
        "reboot; this app never changes it."
    )
    gain = _gain(now, then)
    if gain:
        text = (
            f"{describe_limit(hw)} Raising the limit to {raised / GiB:.1f} GiB with `{command}` would let "
            f"{gain}. {risk}"
        )
    else:
        text = f"{describe_limit(hw)} Raising it (`{command}`) would not unlock a better build here."
    unlocks = then.variant if gain else None
    source = gpu_share_source(hw)
    return MetalAdvice(current, source, raised, command, unlocks, then.context_tokens, text)
