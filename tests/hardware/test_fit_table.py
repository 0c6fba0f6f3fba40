"""Recorded laptop and small-GPU profiles → recommendation and plan, and the README's fit table
holds exactly these answers (regenerate with ``python -m tests.hardware.fit_table``)."""

from __future__ import annotations

from pathlib import Path

from deepresearch_local.weights.recommend import recommend
from tests.hardware.fit_table import PROFILES, row

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_fit_table_is_the_calculators_answer() -> None:
    text = README.read_text("utf-8")
    for label, hw in PROFILES:
        assert row(label, hw) in text, f"README fit table row for {label!r} is out of date"


def test_small_machines_get_the_largest_build_that_fits() -> None:
    picks = {label: recommend(hw) for label, hw in PROFILES}
    assert picks["Mac, 8 GB"].variant is None  # 5.3 GiB for the GPU: nothing fits
    # 16 GB Mac: IQ2_M is bigger than Metal's 10.7 GiB, so llama.cpp splits it (45 blocks on the
    # GPU, 3 on the CPU, 12 GiB in all) rather than fall back to IQ2_XXS whole on the GPU.
    mac16 = picks["Mac, 16 GB (M1/M2)"]
    assert mac16.variant == "tongyi-30b-iq2_m" and mac16.fit is not None and mac16.fit.gpu_layers == 45
    assert "45/48 layers on the GPU (Metal), the rest on the CPU" in mac16.why
    # 24 GB Mac: a 3-bit build whole on the GPU beats IQ4_XS split across GPU and CPU.
    mac24 = picks["Mac, 24 GB"]
    assert mac24.variant == "tongyi-30b-q3_k_m" and mac24.fit is not None and mac24.fit.gpu_layers == 48
    # A q8_0 KV cache buys the 16 GB PC a 3-bit build (with f16 only IQ2_M leaves 16K) ...
    cpu16 = picks["PC, CPU only, 16 GB RAM"]
    assert (cpu16.variant, cpu16.kv_type) == ("tongyi-30b-iq3_xxs", "q8_0")
    # A 3-bit build held entirely in VRAM beats a bigger one split with RAM (decode speed); with a
    # q8_0 KV cache Q3_K_M is held whole at 16K (f16: only IQ3_M), and at 32K keeps the experts of
    # one layer in RAM.
    gpu16 = picks["PC, 16 GB GPU + 16 GB RAM"]
    assert (gpu16.variant, gpu16.kv_type) == ("tongyi-30b-q3_k_m", "q8_0")
    assert gpu16.fit is not None and gpu16.fit.gpu_layers == 48
    # ... and where the full-size cache lets the same build fit, it stays f16.
    for label in ("Mac, 16 GB (M1/M2)", "PC, 8 GB GPU + 16 GB RAM", "PC, 12 GB GPU + 32 GB RAM"):
        assert picks[label].kv_type == "f16", label
    # ... but a 2-bit one does not: 12 GB holds IQ2_M whole, yet Q5_K_M split with RAM is chosen,
    # its attention and KV cache on the GPU and the experts of some layers in RAM.
    gpu12 = picks["PC, 12 GB GPU + 16 GB RAM"]
    assert gpu12.variant == "tongyi-30b-q5_k_m" and gpu12.fit is not None
    assert gpu12.fit.gpu_layers == 48 and 0 < gpu12.fit.cpu_moe_layers < 48
    # An 8 GB GPU holds only part of any build: the experts of most layers stay in RAM.
    gpu8 = picks["PC, 8 GB GPU + 16 GB RAM"]
    assert gpu8.fit is not None and gpu8.fit.cpu_moe_layers > gpu12.fit.cpu_moe_layers
    for label, rec in picks.items():
        if rec.variant:
            assert rec.context_tokens >= 16384, label  # a useful context with fold mode
