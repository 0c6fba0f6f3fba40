"""recommend(): the recorded machines (and this one) get a backend, a model variant and a context."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from deepresearch_local.hardware.budget import budget_for
from deepresearch_local.hardware.fit import GiB, fit
from deepresearch_local.hardware.gpu_builds import gpu_fixes
from deepresearch_local.hardware.probe import Hardware, probe
from deepresearch_local.weights.catalog import find_variant
from deepresearch_local.weights.recommend import planned_kv_type, recommend
from tests.hardware.test_probe import Recorded

CPU_ONLY_INFO = "CPU : SSE3 = 1 | SSSE3 = 1 | AVX = 1 | AVX2 = 1 | F16C = 1 | FMA = 1 | REPACK = 1 | "
ALTERNATIVES = ("llama-server", "Ollama", "LM Studio", "vLLM", "--backend openai --base-url")


def _cpu_only_build(machine: Recorded) -> Recorded:
    machine.spec["llama"]["gpu_offload"] = False
    machine.spec["llama"]["system_info"] = CPU_ONLY_INFO
    return machine


def test_m2_max_mac_with_mlx(tmp_path: Path) -> None:
    hw = Recorded("mac_m2max").probe(tmp_path)
    rec = recommend(hw)
    assert (rec.backend, rec.variant) == ("mlx", "tongyi-30b-mlx-4bit")
    assert rec.context_tokens >= 8192
    # 16.0 GiB of weights + 1.5 GiB KV at 16K: 18.0 of 21.3 GiB fits; at 24K/32K it is tight.
    assert rec.context_tokens == 16384
    assert rec.fit is not None and (rec.fit.verdict, rec.fit.gpu_layers) == ("fits", 48)
    assert rec.fixes == ()
    assert rec.why.startswith("Apple Silicon with MLX: 4bit uses 18.0 of 21.3 GiB")


def test_mac_without_mlx_uses_llama_cpp_on_metal(tmp_path: Path) -> None:
    machine = Recorded("mac_m2max")
    machine.spec["commands"]["mlx"] = (
        'DRL_MLX {"mlx_error": "ModuleNotFoundError: mlx", "mlx_lm_error": "ModuleNotFoundError: mlx_lm"}\n'
    )
    rec = recommend(machine.probe(tmp_path))
    assert rec.backend == "llama.cpp"
    variant = find_variant(rec.variant or "")
    assert variant is not None and variant.format == "gguf"
    assert rec.fit is not None and rec.fit.gpu_layers == 48  # unified memory: every layer on the GPU
    # The largest build with 16K+ of context, even if it leaves little room ("tight")
    assert rec.fit.verdict in ("fits", "tight") and rec.context_tokens >= 16384
    assert "metal offload" in rec.why and rec.fixes == ()


def test_rtx_4090_pc_with_cuda_build(tmp_path: Path) -> None:
    hw = Recorded("linux_rtx4090").probe(tmp_path)
    budget = budget_for(hw)
    assert budget.vram_bytes == (24564 - 600) * 2**20
    rec = recommend(hw)
    assert rec.backend == "llama.cpp" and rec.fixes == ()
    variant = find_variant(rec.variant or "")
    assert variant is not None and variant.format == "gguf"
    assert rec.fit is not None and rec.fit.verdict == "fits"
    assert 0 < rec.fit.gpu_layers <= 48
    assert rec.fit.estimate.vram <= budget.vram_bytes
    assert rec.context_tokens >= 16384
    plan = (
        f"experts of {rec.fit.cpu_moe_layers}/48 layers in RAM"
        if rec.fit.cpu_moe_layers
        else f"{rec.fit.gpu_layers}/48 layers on the GPU"
    )
    assert "cuda offload" in rec.why and plan in rec.why


def test_rtx_4090_pc_with_cpu_only_build_gets_the_cuda_fix(tmp_path: Path) -> None:
    hw = _cpu_only_build(Recorded("linux_rtx4090")).probe(tmp_path)
    llama = hw.backend("llama.cpp")
    assert llama is not None and (llama.available, llama.device) == (True, "cpu")
    rec = recommend(hw)
    assert any("-DGGML_CUDA=on" in fix for fix in rec.fixes), rec.fixes
    assert all("--force-reinstall" in fix and "llama-cpp-python" in fix for fix in rec.fixes)
    # Until it is rebuilt the advice is for the CPU: RAM only, no layers on the GPU
    assert rec.backend == "llama.cpp"
    assert rec.fit is not None and rec.fit.gpu_layers == 0 and rec.fit.estimate.vram == 0
    assert "CPU-only" in rec.why
    assert gpu_fixes(Recorded("linux_rtx4090").probe(tmp_path)) == ()  # the CUDA build needs no fix


def test_mac_with_cpu_only_llama_build_gets_the_metal_fix(tmp_path: Path) -> None:
    hw = _cpu_only_build(Recorded("mac_m2max")).probe(tmp_path)
    fixes = gpu_fixes(hw)
    assert len(fixes) == 1 and "-DGGML_METAL=on" in fixes[0]


def test_8gb_machine_is_told_to_use_a_server(tmp_path: Path) -> None:
    hw = Recorded("linux_nogpu").probe(tmp_path)
    small = dataclasses.replace(hw, ram_total_bytes=8 * GiB, ram_available_bytes=6 * GiB)
    rec = recommend(small)
    assert (rec.backend, rec.variant, rec.fit) == ("openai", None, None)
    for name in ALTERNATIVES:
        assert name in rec.why, name
    assert "5 GiB of RAM" in rec.why  # 8 GiB minus the 3 GiB kept for the system


def test_recorded_16gb_laptop_gets_a_3_bit_build_with_a_q8_0_kv_cache(tmp_path: Path) -> None:
    hw = Recorded("linux_nogpu").probe(tmp_path)
    rec = recommend(hw)
    # IQ3_XXS holds 16K only with the KV cache in q8_0 (f16: 9K); without it IQ2_M would be the pick.
    assert (rec.backend, rec.variant, rec.context_tokens, rec.kv_type) == (
        "llama.cpp",
        "tongyi-30b-iq3_xxs",
        16384,
        "q8_0",
    )
    iq3 = find_variant("tongyi-30b-iq3_xxs")
    assert iq3 is not None
    budget = budget_for(hw)
    assert fit(iq3.shape, budget, context_tokens=16384, kv_type="f16").verdict == "no"
    assert rec.fit is not None and rec.fit.estimate.kv_type == "q8_0" and rec.fit.verdict == "tight"
    assert "KV cache is quantized to q8_0 (half the size, little loss) to fit IQ3_XXS at 16K" in rec.why
    assert "little room for other apps" in rec.why and "the context stops at 16,384 tokens" in rec.why
    assert rec.to_dict()["kv_type"] == "q8_0"
    assert rec.fixes == ()  # no GPU, nothing to rebuild
    # A run of that build with --kv-type left out plans the same cache; a short context asked
    # for fits with f16 and keeps it, as does a build that fits without help.
    assert planned_kv_type(iq3.shape, budget, "llama.cpp") == "q8_0"
    assert planned_kv_type(iq3.shape, budget, "llama.cpp", context=8192) == "f16"
    assert planned_kv_type(iq3.shape, budget, "llama.cpp", context=16384) == "q8_0"
    iq2 = find_variant("tongyi-30b-iq2_m")
    assert iq2 is not None and planned_kv_type(iq2.shape, budget, "llama.cpp") == "f16"


def test_machines_where_the_full_kv_cache_fits_keep_f16(tmp_path: Path) -> None:
    for hw in (
        Recorded("linux_rtx4090").probe(tmp_path),
        dataclasses.replace(Recorded("linux_nogpu").probe(tmp_path), ram_total_bytes=32 * GiB),
        Recorded("mac_m2max").probe(tmp_path),  # MLX: its engine is not given a quantized cache
    ):
        rec = recommend(hw)
        assert rec.variant is not None and rec.kv_type == "f16", rec.why
        assert rec.fit is not None and rec.fit.estimate.kv_type == "f16"
        assert "KV cache" not in rec.why
        variant = find_variant(rec.variant)
        assert variant is not None
        assert planned_kv_type(variant.shape, budget_for(hw), rec.backend) == "f16"


def test_a_machine_too_small_for_any_build_is_told_to_use_a_server(tmp_path: Path) -> None:
    hw = dataclasses.replace(Recorded("linux_nogpu").probe(tmp_path), ram_total_bytes=10 * (1 << 30))
    rec = recommend(hw)
    assert (rec.backend, rec.variant) == ("openai", None)
    assert "No build of the 30B model fits in 7 GiB of RAM" in rec.why


def test_no_local_backend(tmp_path: Path) -> None:
    hw = Recorded("linux_rtx4090").probe(tmp_path)
    bare = dataclasses.replace(
        hw, backends=tuple(dataclasses.replace(b, available=False, device="none") for b in hw.backends)
    )
    rec = recommend(bare)
    assert (rec.backend, rec.variant) == ("openai", None)
    assert "No local backend is installed" in rec.why and "--backend openai" in rec.why


def test_this_machine() -> None:
    hw: Hardware = probe()
    d = recommend(hw).to_dict()
    assert {"backend", "variant", "context_tokens", "why"} <= d.keys()
    assert d["backend"] in ("mlx", "llama.cpp", "openai")
    assert isinstance(d["why"], str) and d["why"]
    assert isinstance(d["context_tokens"], int) and d["context_tokens"] >= 8192
    if d["backend"] != "openai":
        variant = find_variant(str(d["variant"]))
        assert variant is not None
        assert variant.format == ("mlx" if d["backend"] == "mlx" else "gguf")
        fit = d["fit"]
        assert isinstance(fit, dict) and fit["verdict"] in ("fits", "tight")
    assert json.loads(json.dumps(d)) == d
