"""How much memory a model may use on this machine, from the probed hardware."""

from __future__ import annotations

from deepresearch_local.hardware.fit import MemoryBudget
from deepresearch_local.hardware.metal import gpu_share
from deepresearch_local.hardware.probe import Hardware


def budget_for(hw: Hardware, use_gpu: bool = True) -> MemoryBudget:
    """Memory the model may use: on Apple Silicon the usable unified memory and the GPU's share of
    it (a raised limit, else what Metal reports, else the estimate); VRAM + RAM on PCs."""
    if hw.unified_memory:
        return MemoryBudget.for_machine(hw.ram_total_bytes, vram_total=gpu_share(hw), unified=True)
    vram = sum(g.memory_total_bytes for g in hw.gpus if g.vendor == "nvidia") if use_gpu else 0
    return MemoryBudget.for_machine(hw.ram_total_bytes, vram_total=vram, unified=hw.unified_memory)
