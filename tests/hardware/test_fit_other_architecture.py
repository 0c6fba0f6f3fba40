"""The memory-fit calculator on a model its constants were not fitted on.

The constants in ``hardware.fit`` were measured on two Qwen2.5 models (qwen2: 0.5B and 1.5B).
Gemma 3 270M differs where it matters: sliding-window attention (llama-cpp-python allocates the
full-size SWA cache, so every layer holds the whole context), 256-wide single KV heads, and a
262K-token vocabulary that makes the embeddings most of the weights. The prediction must still be
within ±10% of the measured peak memory, and the KV cache must grow as computed.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from deepresearch_local.hardware.fit import estimate, kv_bytes_per_token
from deepresearch_local.hardware.modelinfo import read_shape

MiB = 1 << 20
REPO = Path(__file__).resolve().parents[2]


def _memprobe(model: Path, context: int) -> dict[str, object]:
    out = subprocess.run(
        [sys.executable, "-m", "deepresearch_local.bench.memprobe", str(model), str(context)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    )
    result: dict[str, object] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def test_gemma_shape(gemma270m: Path) -> None:
    s = read_shape(gemma270m)
    assert gemma270m.stat().st_size == 253_113_024
    assert (s.architecture, s.n_layers, s.n_heads, s.n_kv_heads) == ("gemma3", 18, 4, 1)
    assert (s.key_length, s.value_length, s.n_embd, s.n_ff) == (256, 256, 640, 2048)
    assert (s.n_vocab, s.n_ctx_train, s.n_experts) == (262144, 32768, 0)
    assert kv_bytes_per_token(s) == 18 * 1 * (256 + 256) * 2  # 18,432


@pytest.mark.slow
def test_predicted_peak_rss_matches_measured_on_gemma(gemma270m: Path) -> None:
    shape = read_shape(gemma270m)
    measured: dict[int, int] = {}
    errors: list[str] = []
    for ctx in (2048, 16384):
        result = _memprobe(gemma270m, ctx)
        assert result["context_tokens"] == ctx  # read back from llama.cpp
        assert isinstance(result["prompt_tokens"], int) and result["prompt_tokens"] >= 512  # a full batch
        peak = result["peak_rss_bytes"]
        assert isinstance(peak, int)
        measured[ctx] = peak
        predicted = estimate(shape, ctx).expected_peak_rss
        errors.append(f"ctx {ctx}: predicted {predicted / MiB:.0f} MiB, measured {peak / MiB:.0f} MiB")
        assert abs(predicted - peak) <= 0.10 * peak, errors
    print("\n" + "\n".join(errors))
    # The whole KV cache is allocated (no sliding-window saving): growth as computed for all layers.
    kv_growth = estimate(shape, 16384).kv_cache - estimate(shape, 2048).kv_cache  # 252 MiB
    growth = measured[16384] - measured[2048]
    assert 0.8 * kv_growth <= growth <= 1.2 * kv_growth, (growth / MiB, kv_growth / MiB)
