"""The memory-fit calculator: model shapes read from GGUF headers, KV arithmetic, predicted vs
measured peak RSS on a real model, and verdicts for the catalog on simulated machines."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
from pathlib import Path

import gguf
import numpy as np
import pytest

from deepresearch_local.hardware.fit import (
    FitResult,
    GiB,
    MemoryBudget,
    estimate,
    fit,
    kv_bytes_per_token,
)
from deepresearch_local.hardware.modelinfo import ModelShape, read_gguf_shape, read_shape
from deepresearch_local.weights.catalog import Variant, find_variant, load_catalog

MiB = 1 << 20
REPO = Path(__file__).resolve().parents[2]

# Tongyi-DeepResearch-30B-A3B (Qwen3-MoE) hyper-parameters, as its GGUF files declare them.
TONGYI = {
    "block_count": 48,
    "head_count": 32,
    "head_count_kv": 4,
    "key_length": 128,
    "value_length": 128,
    "embedding_length": 2048,
    "expert_count": 128,
    "expert_used_count": 8,
    "expert_feed_forward_length": 768,
    "context_length": 131072,
    "vocab": 151936,
}
Q4_K = gguf.GGMLQuantizationType.Q4_K
Q4_K_BLOCK = 144  # bytes per 256 weights


def _write_tongyi_header(path: Path, *, token_list: bool) -> None:
    """A GGUF with the real Tongyi hyper-parameters and four tiny tensors (no real weights)."""
    w = gguf.GGUFWriter(str(path), "qwen3moe")
    w.add_name("tongyi-shape-only")
    w.add_block_count(TONGYI["block_count"])
    w.add_head_count(TONGYI["head_count"])
    w.add_head_count_kv(TONGYI["head_count_kv"])
    w.add_key_length(TONGYI["key_length"])
    w.add_value_length(TONGYI["value_length"])
    w.add_embedding_length(TONGYI["embedding_length"])
    w.add_expert_count(TONGYI["expert_count"])
    w.add_expert_used_count(TONGYI["expert_used_count"])
    w.add_expert_feed_forward_length(TONGYI["expert_feed_forward_length"])
    w.add_context_length(TONGYI["context_length"])
    if token_list:
        w.add_token_list([f"t{i}" for i in range(TONGYI["vocab"])])
    else:
        w.add_vocab_size(TONGYI["vocab"])
    # token_embd in Q4_K is *not* repacked by llama.cpp; a block's Q4_K expert tensor is.
    w.add_tensor("token_embd.weight", np.zeros((1, Q4_K_BLOCK), np.uint8), raw_dtype=Q4_K)  # 144 B
    w.add_tensor("blk.0.attn_q.weight", np.zeros((4, 4), np.float32))  # 64 B
    w.add_tensor("blk.47.ffn_down_exps.weight", np.zeros((2, Q4_K_BLOCK), np.uint8), raw_dtype=Q4_K)  # 288 B
    w.add_tensor("output_norm.weight", np.zeros(8, np.float16))  # 16 B
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


@pytest.fixture(scope="module")
def tongyi_gguf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("gguf") / "tongyi-header.gguf"
    _write_tongyi_header(path, token_list=True)
    return path


@pytest.fixture(scope="module")
def tongyi(tongyi_gguf: Path) -> ModelShape:
    return read_gguf_shape(tongyi_gguf)


# --------------------------------------------------------------------------- shapes from GGUF headers


def test_synthetic_tongyi_header_is_read_exactly(tongyi_gguf: Path, tongyi: ModelShape) -> None:
    s = tongyi
    assert (s.format, s.architecture, s.name) == ("gguf", "qwen3moe", "tongyi-header.gguf")
    assert (s.n_layers, s.n_heads, s.n_kv_heads) == (48, 32, 4)
    assert (s.key_length, s.value_length, s.n_embd) == (128, 128, 2048)
    assert (s.n_experts, s.n_experts_used) == (128, 8)
    assert s.n_ff == 768 * 8 == 6144  # MoE: expert width x experts used per token
    assert s.n_vocab == 151936  # from the tokens list
    assert s.n_ctx_train == 131072
    assert s.weight_bytes == 144 + 64 + 288 + 16
    assert s.cpu_repack_bytes == 288  # the Q4_K expert tensor; token_embd is excluded
    assert len(s.layer_bytes) == 48
    assert (s.layer_bytes[0], s.layer_bytes[47], sum(s.layer_bytes[1:47])) == (64, 288, 0)
    assert s.non_layer_bytes == 144 + 16
    assert s.details["file_bytes"] == tongyi_gguf.stat().st_size
    assert read_shape(tongyi_gguf) == s  # the path dispatcher gives the same answer


def test_vocab_size_key_when_there_is_no_token_list(tmp_path: Path) -> None:
    path = tmp_path / "no-tokens.gguf"
    _write_tongyi_header(path, token_list=False)
    s = read_shape(path)
    assert (s.n_vocab, s.n_layers, s.n_kv_heads, s.n_ctx_train) == (151936, 48, 4, 131072)


def test_kv_cache_arithmetic_for_tongyi(tongyi: ModelShape) -> None:
    # 48 layers x 4 KV heads x (128 + 128) x 2 bytes = 98304 bytes = 96 KiB per token
    assert kv_bytes_per_token(tongyi, "f16") == 98304 == 96 * 1024
    assert kv_bytes_per_token(tongyi, "f32") == 2 * 98304
    assert kv_bytes_per_token(tongyi, "q8_0") == 98304 * 34 // 64 == 52224  # 34 bytes per 32 values
    assert kv_bytes_per_token(tongyi, "q4_0") == 98304 * 18 // 64 == 27648  # 18 bytes per 32 values
    assert estimate(tongyi, 16384).kv_cache == 3 * GiB // 2
    assert estimate(tongyi, 32768).kv_cache == 3 * GiB
    assert estimate(tongyi, 131072).kv_cache == 12 * GiB
    assert estimate(tongyi, 32768, kv_type="q8_0").kv_cache == 52224 * 32768
    # The catalog's hand-written shape agrees with the header
    catalog = _variant("tongyi-30b-q4_k_m").shape
    for field in (
        "n_layers",
        "n_heads",
        "n_kv_heads",
        "key_length",
        "value_length",
        "n_embd",
        "n_ff",
        "n_vocab",
        "n_ctx_train",
        "n_experts",
        "n_experts_used",
        "architecture",
    ):
        assert getattr(catalog, field) == getattr(tongyi, field), field


def test_unreadable_files_are_model_errors(tmp_path: Path) -> None:
    from deepresearch_local.errors import ModelError

    bad = tmp_path / "bad.gguf"
    bad.write_bytes(b"not a gguf at all" * 10)
    with pytest.raises(ModelError, match="not a readable GGUF"):
        read_shape(bad)
    with pytest.raises(ModelError, match="No model at"):
        read_shape(tmp_path / "missing.gguf")


# --------------------------------------------------------------------------- the real 0.5B model


def test_real_model_shape(qwen05b: Path) -> None:
    s = read_shape(qwen05b)
    size = qwen05b.stat().st_size
    assert size == 491_400_064
    assert (s.architecture, s.n_layers, s.n_heads, s.n_kv_heads) == ("qwen2", 24, 14, 2)
    assert (s.key_length, s.value_length, s.n_embd, s.n_ff) == (64, 64, 896, 4864)
    assert (s.n_vocab, s.n_ctx_train, s.n_experts) == (151936, 32768, 0)
    # Tensor data = the file minus its header (the tokenizer is most of the 5.9 MB header)
    assert s.weight_bytes == 485_452_288
    assert 0.95 * size < s.weight_bytes < size
    reader = gguf.GGUFReader(str(qwen05b))
    padding = (size - reader.data_offset) - s.weight_bytes
    assert 0 <= padding < 32 * len(reader.tensors)  # at most the alignment between tensors
    assert s.cpu_repack_bytes == 29_417_472 and 0 < s.cpu_repack_bytes < s.weight_bytes
    assert len(s.layer_bytes) == 24 and all(b > 0 for b in s.layer_bytes)
    assert s.non_layer_bytes > 0  # embeddings and output norm
    # 24 layers x 2 KV heads x (64 + 64) x 2 bytes
    assert kv_bytes_per_token(s) == 12288


def _memprobe(model: Path, context: int) -> dict[str, object]:
    out = subprocess.run(
        [sys.executable, "-m", "deepresearch_local.bench.memprobe", str(model), str(context)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    result: dict[str, object] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


@pytest.mark.slow
def test_predicted_peak_rss_matches_measured(qwen05b: Path) -> None:
    """Load the real model at three contexts in fresh processes: the estimate is within ±10%."""
    shape = read_shape(qwen05b)
    measured: dict[int, int] = {}
    for ctx in (2048, 8192, 16384):
        result = _memprobe(qwen05b, ctx)
        assert result["context_tokens"] == ctx
        assert isinstance(result["prompt_tokens"], int) and result["prompt_tokens"] >= 512  # a full batch
        peak = result["peak_rss_bytes"]
        assert isinstance(peak, int)
        predicted = estimate(shape, ctx).expected_peak_rss
        assert abs(predicted - peak) <= 0.10 * peak, (
            f"ctx {ctx}: predicted {predicted / MiB:.0f} MiB, measured {peak / MiB:.0f} MiB"
        )
        measured[ctx] = peak
    # The KV cache is really allocated: RSS grows with the context, by about the KV difference.
    assert measured[2048] < measured[8192] < measured[16384], measured
    kv_growth = estimate(shape, 16384).kv_cache - estimate(shape, 2048).kv_cache  # 168 MiB
    growth = measured[16384] - measured[2048]
    assert 0.8 * kv_growth <= growth <= 1.2 * kv_growth, (growth / MiB, kv_growth / MiB)


# --------------------------------------------------------------------------- verdicts on simulated machines

MAC16 = MemoryBudget.for_machine(16 * GiB, unified=True)
MAC24 = MemoryBudget.for_machine(24 * GiB, unified=True)
MAC36 = MemoryBudget.for_machine(36 * GiB, unified=True)
MAC64 = MemoryBudget.for_machine(64 * GiB, unified=True)
PC_4090 = MemoryBudget.for_machine(32 * GiB, vram_total=24 * GiB)
PC_CPU16 = MemoryBudget.for_machine(16 * GiB)
MACS = (MAC16, MAC24, MAC36, MAC64)


def _variant(variant_id: str) -> Variant:
    v = find_variant(variant_id)
    assert v is not None, variant_id
    return v


def _fit(variant_id: str, budget: MemoryBudget, context: int | None = None) -> FitResult:
    v = _variant(variant_id)
    return fit(v.shape, budget, context_tokens=context, backend="mlx" if v.format == "mlx" else "llama.cpp")


def test_budgets() -> None:
    # Metal's 2/3 up to 36 GB for the GPU; the pool is RAM minus macOS's reserve (4 GiB, a fifth above 20 GiB)
    assert MemoryBudget(ram_bytes=12 * GiB, vram_bytes=16 * GiB * 2 // 3, unified=True) == MAC16
    assert (MAC36.vram_bytes, MAC36.ram_bytes) == (24 * GiB, 36 * GiB - 36 * GiB // 5)  # 24 of 28.8 GiB
    assert (MAC64.vram_bytes, MAC64.ram_bytes) == (48 * GiB, 64 * GiB - 64 * GiB // 5)  # 3/4 above 36 GB
    reported = MemoryBudget.for_machine(16 * GiB, vram_total=11_453_251_584, unified=True)
    assert (reported.vram_bytes, reported.ram_bytes) == (11_453_251_584, 12 * GiB)  # what Metal says
    assert PC_4090.vram_bytes == 24 * GiB - 600 * MiB  # 23.4 GiB
    assert PC_4090.ram_bytes == 32 * GiB - int(32 * GiB * 0.15)  # 27.2 GiB
    assert MemoryBudget(ram_bytes=13 * GiB, vram_bytes=0) == PC_CPU16  # at least 3 GiB kept for the OS


def test_catalog_is_complete() -> None:
    ids = {v.id for v in load_catalog()}
    assert {
        "tongyi-30b-iq3_m",
        "tongyi-30b-q3_k_m",
        "tongyi-30b-iq4_xs",
        "tongyi-30b-q4_k_m",
        "tongyi-30b-q5_k_m",
        "tongyi-30b-q6_k",
        "tongyi-30b-q8_0",
        "tongyi-30b-mlx-4bit",
    } <= ids
    assert _variant("tongyi-30b-q4_k_m").shape.weight_bytes == 18_600_000_000  # ~17.3 GiB


def test_16gb_mac_splits_iq2_m_between_the_gpu_and_the_cpu() -> None:
    # 10.7 GiB for the GPU, 12 GiB in all. IQ2_XXS (7.8 GiB of weights) stays whole on the GPU.
    xxs = _fit("tongyi-30b-iq2_xxs", MAC16, 16384)
    assert (xxs.verdict, xxs.gpu_layers) == ("fits", 48) and "layers on the GPU" not in xxs.reason
    # IQ2_M (9.5 GiB) needs 11.5 GiB at 16K: more than the GPU's share, so 45 blocks go to the GPU
    # with their KV cache and the other 3 run on the CPU from the same RAM.
    m = _fit("tongyi-30b-iq2_m", MAC16, 16384)
    assert m.estimate.total > MAC16.vram_bytes
    assert (m.verdict, m.gpu_layers) == ("tight", 45)
    assert m.estimate.vram <= MAC16.vram_bytes and m.estimate.total <= MAC16.ram_bytes
    assert "45/48 layers on the GPU (Metal), the rest on the CPU" in m.reason
    assert "of 12.0 GiB of unified memory" in m.reason
    # The split holds as many whole blocks as fit: one more would overflow the GPU's share.
    m_shape = _variant("tongyi-30b-iq2_m").shape
    assert estimate(m_shape, 16384, gpu_layers=46).vram > MAC16.vram_bytes
    assert estimate(m_shape, 16384, gpu_layers=45).vram == m.estimate.vram
    for v in load_catalog():
        r = _fit(v.id, MAC16)
        if v.id == "tongyi-30b-iq2_xxs":
            assert (r.verdict, r.max_context_tokens) == ("tight", 39936)  # 43 blocks on the GPU at 39K
        elif v.id == "tongyi-30b-iq2_m":
            assert (r.verdict, r.max_context_tokens) == ("tight", 21504)
        else:
            assert (r.verdict, r.max_context_tokens) == ("no", 0), v.id
    q8 = _fit("tongyi-30b-q8_0", MAC16, 8192)
    assert q8.verdict == "no" and q8.estimate.total > 2 * MAC16.ram_bytes
    assert "GiB of unified memory at 8192 tokens" in q8.reason


def test_mlx_cannot_split() -> None:
    # The same IQ2_M shape that llama.cpp splits on a 16 GB Mac does not fit MLX: everything must
    # fit the GPU's 10.7 GiB, and the pool MLX is judged by is the GPU's share.
    shape = _variant("tongyi-30b-iq2_m").shape
    llama = fit(shape, MAC16, context_tokens=16384, backend="llama.cpp")
    mlx = fit(shape, MAC16, context_tokens=16384, backend="mlx")
    assert llama.verdict == "tight" and llama.gpu_layers < 48
    assert (mlx.verdict, mlx.gpu_layers) == ("no", 48)
    assert "GiB of unified memory for the GPU" in mlx.reason and "10.7 GiB available" in mlx.reason
    assert "the rest on the CPU" not in mlx.reason
    four_bit = _fit("tongyi-30b-mlx-4bit", MAC24, 8192)  # 16.0 GiB of weights, 16.0 GiB for the GPU
    assert four_bit.verdict == "no" and four_bit.estimate.total <= MAC24.ram_bytes


def test_24gb_mac_keeps_3_bit_builds_on_the_gpu_and_splits_4_bit() -> None:
    for vid in ("tongyi-30b-iq3_m", "tongyi-30b-q3_k_m"):
        r = _fit(vid, MAC24, 16384)
        assert (r.verdict, r.gpu_layers) == ("fits", 48), vid  # within 16 GiB for the GPU
    q3 = _fit("tongyi-30b-q3_k_m", MAC24)
    assert (q3.verdict, q3.max_context_tokens) == ("tight", 54272) and q3.gpu_layers < 48
    iq4 = _fit("tongyi-30b-iq4_xs", MAC24, 16384)
    assert (iq4.verdict, iq4.gpu_layers) == ("tight", 44)  # 17.3 of 19.2 GiB, split
    q4 = _fit("tongyi-30b-q4_k_m", MAC24)
    assert (q4.verdict, q4.max_context_tokens) == ("tight", 14336)
    for vid in ("tongyi-30b-q5_k_m", "tongyi-30b-q8_0", "tongyi-30b-mlx-4bit"):
        assert _fit(vid, MAC24).verdict == "no", vid


def test_36gb_mac_runs_4_bit_with_long_context() -> None:
    q4 = _fit("tongyi-30b-q4_k_m", MAC36, 16384)
    assert (q4.verdict, q4.gpu_layers) == ("fits", 48)  # 19.3 of 28.8 GiB, all within 24 GiB for the GPU
    # Past ~68K the KV cache pushes blocks off the GPU's 24 GiB; with 8 blocks (and their KV) on
    # the CPU it reaches 117K within the 28.8 GiB pool.
    longest = _fit("tongyi-30b-q4_k_m", MAC36)
    assert (longest.max_context_tokens, longest.gpu_layers) == (119808, 40)
    assert _fit("tongyi-30b-q4_k_m", MAC36, 65536).gpu_layers == 48
    assert _fit("tongyi-30b-mlx-4bit", MAC36, 32768).verdict == "fits"
    assert _fit("tongyi-30b-mlx-4bit", MAC36).max_context_tokens == 81920  # MLX: the 24 GiB only
    assert _fit("tongyi-30b-q5_k_m", MAC36, 16384).verdict == "fits"
    q6 = _fit("tongyi-30b-q6_k", MAC36, 16384)
    assert (q6.verdict, q6.gpu_layers) == ("tight", 45)
    assert _fit("tongyi-30b-q8_0", MAC36).verdict == "no"


def test_64gb_mac_runs_everything() -> None:
    for v in load_catalog():
        r = _fit(v.id, MAC64)
        assert r.max_context_tokens == 131072, v.id
        assert _fit(v.id, MAC64, 32768).verdict == "fits", v.id
        assert r.verdict == "fits", v.id
    # Q8_0 at 128K: 30.3 GiB weights + 12 GiB KV, all on the GPU's 48 GiB; 43.0 of 51.2 GiB in all
    q8 = _fit("tongyi-30b-q8_0", MAC64)
    assert q8.gpu_layers == 48 and q8.estimate.total > 0.8 * MAC64.ram_bytes


def test_max_context_grows_with_memory() -> None:
    for v in load_catalog():
        contexts = [_fit(v.id, budget).max_context_tokens for budget in MACS]
        assert contexts == sorted(contexts), (v.id, contexts)
    q4 = [_fit("tongyi-30b-q4_k_m", budget).max_context_tokens for budget in MACS]
    assert q4 == [0, 14336, 119808, 131072]


def test_below_the_agent_minimum_is_no() -> None:
    for budget in (*MACS, PC_4090, PC_CPU16):
        for v in load_catalog():
            r = _fit(v.id, budget)
            if r.max_context_tokens < 8192:
                assert r.verdict == "no", (v.id, budget, r.max_context_tokens)
            else:
                assert r.verdict in ("fits", "tight") and r.context_tokens == r.max_context_tokens


def test_estimates_are_monotone_in_context(tongyi: ModelShape) -> None:
    shapes = [tongyi, _variant("tongyi-30b-q4_k_m").shape, _variant("tongyi-30b-q8_0").shape]
    contexts = [1024, 4096, 8192, 16384, 32768, 65536, 131072]
    for shape in shapes:
        for layers in (0, 24, 48):
            ests = [estimate(shape, c, gpu_layers=layers) for c in contexts]
            for a, b in itertools.pairwise(ests):
                assert a.kv_cache < b.kv_cache and a.total < b.total
                assert a.ram <= b.ram and a.vram <= b.vram and a.expected_peak_rss <= b.expected_peak_rss
    # With the offload chosen per context, a longer context never needs less memory or more GPU layers.
    for vid in ("tongyi-30b-q4_k_m", "tongyi-30b-q8_0"):
        results = [_fit(vid, PC_4090, c) for c in contexts]
        for r1, r2 in itertools.pairwise(results):
            assert r1.estimate.total <= r2.estimate.total and r1.estimate.ram <= r2.estimate.ram, vid
            assert r1.gpu_layers >= r2.gpu_layers, vid


def test_pc_with_24gb_gpu_offloads_4_bit_completely() -> None:
    q4 = _fit("tongyi-30b-q4_k_m", PC_4090, 16384)
    # 17.3 GiB weights + 1.5 GiB KV + compute buffers fit the 23.4 GiB of VRAM
    assert (q4.verdict, q4.gpu_layers) == ("fits", 48)
    assert q4.estimate.vram <= PC_4090.vram_bytes
    assert q4.estimate.vram >= 18_600_000_000 + 3 * GiB // 2
    assert q4.estimate.ram == q4.estimate.overhead  # nothing left on the CPU
    assert "48/48 layers on the GPU" in q4.reason
    for v in load_catalog():
        r = _fit(v.id, PC_4090)
        assert r.verdict in ("fits", "tight") and r.max_context_tokens == 131072, v.id
        assert 0 < r.gpu_layers <= 48, v.id
        assert r.estimate.vram <= PC_4090.vram_bytes, v.id
    # Q4_K_M at 128K: 12 GiB of KV no longer fits beside all the weights: the experts of some
    # layers stay in RAM (faster than keeping whole layers on the CPU: hardware/offload.py)
    long = _fit("tongyi-30b-q4_k_m", PC_4090)
    assert long.gpu_layers == 48 and 0 < long.cpu_moe_layers < 48
    assert long.estimate.vram <= PC_4090.vram_bytes
    # Q8_0 (30.3 GiB) is split between the GPU and RAM: its experts, for as few layers as fit
    q8 = _fit("tongyi-30b-q8_0", PC_4090, 16384)
    assert q8.verdict == "fits" and 0 < q8.cpu_moe_layers < 48
    assert q8.estimate.vram <= PC_4090.vram_bytes and q8.estimate.ram > 5 * GiB


def test_cpu_only_16gb_pc_runs_2_bit_builds_and_iq3_xxs() -> None:
    runs = {"tongyi-30b-iq2_xxs": 54272, "tongyi-30b-iq2_m": 35840, "tongyi-30b-iq3_xxs": 14336}
    for v in load_catalog():
        if v.format != "gguf":
            continue
        r = _fit(v.id, PC_CPU16)
        assert (r.gpu_layers, r.estimate.vram) == (0, 0), v.id
        assert "GiB of RAM" in r.reason
        if v.id in runs:
            assert (r.verdict, r.max_context_tokens) == ("tight", runs[v.id]), v.id
        else:
            assert r.verdict == "no", v.id
    # IQ3_M: 2048 tokens would fit, below the agent minimum
    assert _fit("tongyi-30b-iq3_m", PC_CPU16).max_context_tokens == 2048


def test_fit_result_to_dict_is_json_ready() -> None:
    d = _fit("tongyi-30b-q4_k_m", PC_4090, 16384).to_dict()
    assert json.loads(json.dumps(d)) == d
    est = d["estimate"]
    assert isinstance(est, dict) and est["total"] == est["ram"] + est["vram"]
