"""Apple Silicon: what raising Metal's working-set limit would unlock, in builds of the catalog.

``doctor`` shows the command, the build it would unlock and the risk; the app never runs it.
"""

from __future__ import annotations

from dataclasses import dataclass

from deepresearch_local.hardware.fit import GiB, MiB
from deepresearch_local.hardware.metal import gpu_share, raised_limit_bytes, with_gpu_share
from deepresearch_local.hardware.probe import Hardware
from deepresearch_local.weights.recommend import recommend


@dataclass(frozen=True)
class MetalAdvice:
    current_bytes: int
    raised_bytes: int
    command: str
    unlocks: str | None
    """The build the raised limit would be recommended (None: it would change nothing)."""
    context_tokens: int
    text: str


def metal_advice(hw: Hardware) -> MetalAdvice | None:
    """What ``sudo sysctl iogpu.wired_limit_mb=N`` would buy on this Mac; None elsewhere or when
    the limit is already as high as we would suggest."""
    if not hw.unified_memory:
        return None
    current = gpu_share(hw)
    raised = raised_limit_bytes(hw.ram_total_bytes)
    if raised <= current:
        return None
    now, then = recommend(hw), recommend(with_gpu_share(hw, raised))
    command = f"sudo sysctl iogpu.wired_limit_mb={raised // MiB}"
    keep = (hw.ram_total_bytes - raised) / GiB
    risk = (
        f"It leaves macOS and your other apps {keep:.0f} GiB: with a browser and more open the Mac "
        "may swap heavily or freeze until the model is closed. The setting lasts until the next "
        "reboot; this app never changes it."
    )
    gain = then.variant is not None and (
        then.variant != now.variant or then.context_tokens > now.context_tokens
    )
    if gain:
        what = f"{then.variant} with {then.context_tokens:,} tokens of context"
        text = (
            f"Metal may use {current / GiB:.1f} GiB of this Mac's {hw.ram_total_bytes / GiB:.0f} GiB. "
            f"Raising the limit to {raised / GiB:.1f} GiB with `{command}` would let {what} run "
            f"(now: {now.variant or 'no build'}). {risk}"
        )
    else:
        text = (
            f"Metal may use {current / GiB:.1f} GiB of this Mac's {hw.ram_total_bytes / GiB:.0f} GiB; "
            f"raising it (`{command}`) would not unlock a better build here."
        )
    return MetalAdvice(current, raised, command, then.variant if gain else None, then.context_tokens, text)
