"""The README's fit-table rows for laptops and small GPUs, computed from recorded machines
(the recorded Mac, CUDA PC and CPU-only PC, with their memory set to each profile's; the Macs'
GPU limit is the estimate for their RAM, which is what Metal reports on them)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from deepresearch_local.hardware.budget import budget_for
from deepresearch_local.hardware.fit import GiB
from deepresearch_local.hardware.probe import Hardware
from deepresearch_local.weights.catalog import find_variant
from deepresearch_local.weights.recommend import Recommendation, recommend
from tests.hardware.test_probe import Recorded


def mac(ram_gb: int) -> Hardware:
    return dataclasses.replace(Recorded("mac_m2max").probe(Path("/models")), ram_total_bytes=ram_gb * GiB)


def cpu_pc(ram_gb: int) -> Hardware:
    return dataclasses.replace(Recorded("linux_nogpu").probe(Path("/models")), ram_total_bytes=ram_gb * GiB)


def gpu_pc(vram_gb: int, ram_gb: int) -> Hardware:
    hw = Recorded("linux_rtx4090").probe(Path("/models"))
    gpus = tuple(dataclasses.replace(g, memory_total_bytes=vram_gb * GiB) for g in hw.gpus)
    return dataclasses.replace(hw, gpus=gpus, ram_total_bytes=ram_gb * GiB)


PROFILES: tuple[tuple[str, Hardware], ...] = (
    ("Mac, 8 GB", mac(8)),
    ("Mac, 16 GB (M1/M2)", mac(16)),
    ("Mac, 24 GB", mac(24)),
    ("PC, CPU only, 16 GB RAM", cpu_pc(16)),
    ("PC, 8 GB GPU + 16 GB RAM", gpu_pc(8, 16)),
    ("PC, 8 GB GPU + 32 GB RAM", gpu_pc(8, 32)),
    ("PC, 12 GB GPU + 16 GB RAM", gpu_pc(12, 16)),
    ("PC, 12 GB GPU + 32 GB RAM", gpu_pc(12, 32)),
    ("PC, 16 GB GPU + 16 GB RAM", gpu_pc(16, 16)),
    ("PC, 16 GB GPU + 32 GB RAM", gpu_pc(16, 32)),
)


def _memory(hw: Hardware) -> str:
    budget = budget_for(hw)
    if budget.unified:
        share = f"{budget.vram_bytes / GiB:.1f} GiB"
        if budget.ram_bytes > budget.vram_bytes:
            return f"{share} for the GPU (Metal's share) of {budget.ram_bytes / GiB:.1f} GiB"
        return f"{share} (Metal's share)"
    if budget.vram_bytes:
        return f"{budget.vram_bytes / GiB:.1f} GiB VRAM + {budget.ram_bytes / GiB:.1f} GiB RAM"
    return f"{budget.ram_bytes / GiB:.1f} GiB"


def _build(rec: Recommendation, hw: Hardware) -> str:
    variant = find_variant(rec.variant or "")
    if variant is None or rec.fit is None:
        return "none fits: use a bigger machine as a server (`--backend openai`)"
    name = "MLX 4-bit" if variant.format == "mlx" else f"{variant.quant} GGUF"
    if rec.kv_type != "f16":
        name += f" with a {rec.kv_type} KV cache"
    layers, total = rec.fit.gpu_layers, variant.shape.n_layers
    if rec.fit.cpu_moe_layers and not hw.unified_memory:
        name += f", experts of {rec.fit.cpu_moe_layers} of {total} layers in RAM, the rest on the GPU"
    elif hw.unified_memory and layers < total and variant.format == "gguf":
        name += f", {layers} of {total} layers on the GPU (Metal), the rest on the CPU"
    elif layers and not hw.unified_memory:
        where = "all 48" if layers == total else f"{layers} of {total}"
        name += f", {where} layers on the GPU"
    return name + (" (tight)" if rec.fit.verdict == "tight" else "")


def row(label: str, hw: Hardware) -> str:
    rec = recommend(hw)
    context = f"{rec.context_tokens // 1024}K" if rec.variant else "—"
    return f"| {label} | {_memory(hw)} | {_build(rec, hw)} | {context} |"


if __name__ == "__main__":  # prints the rows for the README
    for label, hw in PROFILES:
        print(row(label, hw))
