"""Apple Silicon: the GPU's share of unified memory (Metal's working-set limit), where that figure
came from, and that limit raised (``weights/metal_advice.py`` says what raising it would unlock).

macOS lets the GPU wire about 2/3 of RAM on Macs up to 36 GB (3/4 above); the Metal device reports
the exact figure. ``sudo sysctl iogpu.wired_limit_mb=N`` raises it until the next reboot. The app
never runs it: ``doctor`` shows the command, the build it would unlock and the risk, and the user
decides.
"""

from __future__ import annotations

import dataclasses

from deepresearch_local.hardware.parsers import (
    MIB,
    OS_RESERVE_BYTES,
    GpuLimitSource,
    apple_gpu_limit,
    os_reserve_bytes,
    to_int,
)
from deepresearch_local.hardware.probe import Hardware

__all__ = [
    "OS_RESERVE_BYTES",
    "SOURCE_LABELS",
    "gpu_share",
    "gpu_share_source",
    "local_gpu_share",
    "raised_limit_bytes",
    "with_gpu_share",
]

SOURCE_LABELS: dict[GpuLimitSource, str] = {
    "raised": "raised with `iogpu.wired_limit_mb` until the next reboot",
    "metal": "the working set Metal reports",
    "estimate": "estimated from the RAM size: Metal did not report its working set",
}
"""How ``doctor`` names where the current limit came from."""


def gpu_share(hw: Hardware) -> int:
    """Bytes Metal may wire for the GPU here: a raised ``iogpu.wired_limit_mb``, else the working
    set the Metal device reports, else our estimate from the RAM size."""
    return apple_gpu_limit(hw.ram_total_bytes, hw.metal_wired_limit_bytes, hw.metal_working_set_bytes)[0]


def gpu_share_source(hw: Hardware) -> GpuLimitSource:
    """Which of the three :func:`gpu_share` used."""
    return apple_gpu_limit(hw.ram_total_bytes, hw.metal_wired_limit_bytes, hw.metal_working_set_bytes)[1]


def local_gpu_share(ram_total_bytes: int) -> int:
    """:func:`gpu_share` of this machine without a full probe (no MLX check, no GPU listing):
    one ``sysctl`` and the Metal device. Off a Mac: the estimate."""
    from deepresearch_local.hardware.metal_device import metal_working_set_bytes, on_apple_silicon
    from deepresearch_local.hardware.sources import SubprocessRunner

    wired: int | None = None
    if on_apple_silicon():
        wired_mb = to_int(SubprocessRunner(timeout=5)(["sysctl", "-n", "iogpu.wired_limit_mb"]))
        wired = wired_mb * MIB if wired_mb else None
    return apple_gpu_limit(ram_total_bytes, wired, metal_working_set_bytes())[0]


def raised_limit_bytes(ram_total_bytes: int) -> int:
    """The most we suggest letting the GPU wire: RAM minus the OS reserve, in whole MiB."""
    return max(ram_total_bytes - os_reserve_bytes(ram_total_bytes), 0) // MIB * MIB


def with_gpu_share(hw: Hardware, share: int) -> Hardware:
    """``hw`` as if Metal's limit had been raised to ``share`` bytes."""
    gpus = tuple(
        dataclasses.replace(g, memory_total_bytes=share) if g.vendor == "apple" else g for g in hw.gpus
    )
    return dataclasses.replace(hw, gpus=gpus, metal_wired_limit_bytes=share)
