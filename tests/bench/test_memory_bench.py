"""``deepresearch bench memory``: the fit calculator against the measured peak RSS of the real 0.5B."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from deepresearch_local.cli.main import main
from deepresearch_local.hardware.fit import estimate
from deepresearch_local.hardware.modelinfo import read_shape

MiB = 1 << 20


@pytest.mark.slow
def test_prediction_within_ten_percent_at_two_contexts(
    qwen05b: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["bench", "memory", "--model", str(qwen05b), "--contexts", "2048,4096", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert {"model", "kv_type", "contexts", "results", "max_abs_error_percent", "machine"} <= result.keys()
    assert (result["model"], result["kv_type"], result["contexts"]) == (str(qwen05b), "f16", [2048, 4096])
    assert result["machine"]["backend"] == "llama.cpp"
    rows = result["results"]
    assert [r["context_tokens"] for r in rows] == [2048, 4096]
    shape = read_shape(qwen05b)
    for r in rows:
        assert r["allocated_context_tokens"] == r["context_tokens"]  # read back from llama.cpp
        assert r["prompt_tokens"] >= 512  # a full batch was prefilled
        assert r["predicted_peak_rss_bytes"] == estimate(shape, r["context_tokens"]).expected_peak_rss
        measured = r["measured_peak_rss_bytes"]
        assert 300 * MiB < measured < 2048 * MiB  # the 463 MiB of weights are resident, nothing absurd
        error = (r["predicted_peak_rss_bytes"] - measured) / measured * 100
        assert r["error_percent"] == round(error, 2)
        assert abs(r["error_percent"]) <= 10, r
    assert result["max_abs_error_percent"] == max(abs(r["error_percent"]) for r in rows)
    # The KV cache is really allocated: a longer context costs more memory.
    assert rows[1]["measured_peak_rss_bytes"] > rows[0]["measured_peak_rss_bytes"]
    assert rows[1]["predicted"]["kv_cache"] == 2 * rows[0]["predicted"]["kv_cache"] == 2 * 12288 * 2048


def test_needs_a_gguf_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "memory", "--model", str(tmp_path)]) == 2
    assert "bench memory measures a GGUF model with llama.cpp" in capsys.readouterr().err


def test_contexts_must_be_token_counts(capsys: pytest.CaptureFixture[str]) -> None:
    for bad in ("2048,lots", "100"):
        with pytest.raises(SystemExit) as exc:
            main(["bench", "memory", "--model", "m.gguf", "--contexts", bad])
        assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "not a comma-separated list of token counts: '2048,lots'" in err
    assert "give one or more contexts of at least 512 tokens" in err
