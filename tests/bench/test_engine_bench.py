"""`deepresearch bench engine` on the real 0.5B model: both sides measured, documented JSON keys."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.mark.timeout(1800)  # minutes normally; a machine loaded many times over is far slower
def test_bench_engine_json(qwen05b: Path) -> None:
    cmd = [
        sys.executable, "-m", "deepresearch_local", "bench", "engine", "--model", str(qwen05b),
        "--rounds", "2", "--prompt-tokens", "128", "--gen-tokens", "24", "--json",
    ]  # fmt: skip
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=1700)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert {"raw", "ours", "decode_ratio", "prefill_ratio", "model", "machine"} <= data.keys()
    for side in ("raw", "ours"):
        assert data[side]["prefill_tps"] > 0 and data[side]["decode_tps"] > 0
        assert 100 <= data[side]["prompt_tokens"] <= 160
        assert data[side]["completion_tokens"] == 24  # the counting prompt never stops early
    # The ratios are the two sides' own figures (how fast ours is, is for the printed benchmark to
    # show: a speed window here would fail on a busy machine for no fault of the code).
    for kind in ("decode", "prefill"):
        expected = data["ours"][f"{kind}_tps"] / data["raw"][f"{kind}_tps"]
        assert abs(data[f"{kind}_ratio"] - expected) <= 0.0005 + 1e-9, (kind, data)
    assert data["model"] == str(qwen05b) and data["backend"] == "llama.cpp"
    assert data["machine"]["cores"] and data["machine"]["ram_total_bytes"] > 0
    assert data["machine"]["backend"] == "llama.cpp" and data["machine"]["versions"]["llama-cpp-python"]
