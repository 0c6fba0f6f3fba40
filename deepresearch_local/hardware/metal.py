"""Apple Silicon: the GPU's share of unified memory (Metal's working-set limit), and that limit
raised (``weights/metal_advice.py`` says what raising it would unlock).

macOS lets the GPU wire about 2/3 of RAM on Macs up to 36 GB (3/4 above). ``sudo sysctl
iogpu.wired_limit_mb=N`` raises that until the next reboot. The app never runs it: ``doctor``
shows the command, the build it would unlock and the risk, and the user decides.
"""

from __future__ import annotations

import dataclasses

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
