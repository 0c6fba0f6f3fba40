"""Apple Silicon: the GPU's share of unified memory (Metal's working-set limit) and what raising
it would unlock.

macOS lets the GPU wire about 2/3 of RAM on Macs up to 36 GB (3/4 above). ``sudo sysctl
iogpu.wired_limit_mb=N`` raises that until the next reboot. The app never runs it: ``doctor``
shows the command, the build it would unlock and the risk, and the user decides.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from deepresearch_local.hardware.fit import GiB, MiB
from deepresearch_local.hardware.parsers import apple_gpu_share
from deepresearch_local.hardware.probe import Hardware

OS_RESERVE_BYTES = 4 * GiB
"""RAM a raised limit still leaves to macOS and the apps (at least; a fifth of RAM on big Macs)."""


def gpu_share(hw: Hardware) -> int:
    """Bytes Metal may wire for the GPU here: a raised ``iogpu.wired_limit_mb``, else macOS's
    default share of RAM."""
    return apple_gpu_share(hw.ram_total_bytes, hw.metal_wired_limit_bytes)


def raised_limit_bytes(ram_total_bytes: int) -> int:
    """The most we suggest letting the GPU wire: RAM minus an OS reserve, in whole MiB."""
    reserve = max(OS_RESERVE_BYTES, ram_total_bytes // 5)
    return max(ram_total_bytes - reserve, 0) // MiB * MiB


def with_gpu_share(hw: Hardware, share: int) -> Hardware:
    """``hw`` as if Metal's limit had been raised to ``share`` bytes."""
    gpus = tuple(
        dataclasses.replace(g, memory_total_bytes=share) if g.vendor == "apple" else g for g in hw.gpus
    )
    return dataclasses.replace(hw, gpus=gpus, metal_wired_limit_bytes=share)


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
    from deepresearch_local.hardware.recommend import recommend

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
