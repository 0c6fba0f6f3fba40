"""``deepresearch bench context``: a scripted research through the real agent, both modes, counted
with the scripted tokenizer and with the real 0.5B model's tokenizer; the plot; the missing extra."""

from __future__ import annotations

import itertools
import json
import struct
import sys
from pathlib import Path
from typing import Any

import pytest

from deepresearch_local.bench.context import bench, kv_source
from deepresearch_local.bench.tokens import open_tokenizer
from deepresearch_local.cli.main import main

STEP_KEYS = {"call", "kind", "prompt_tokens", "reused_tokens", "prefilled_tokens", "completion_tokens"}
MODE_KEYS = {"per_step", "max_prompt_tokens", "prefilled_tokens", "reused_tokens", "completion_tokens"}
TONGYI_KV_PER_TOKEN = 48 * 4 * (128 + 128) * 2  # layers x KV heads x (K + V) x 2 bytes (f16)


def _context_json(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, Any]:
    assert main(["bench", "context", *args, "--json"]) == 0
    result: dict[str, Any] = json.loads(capsys.readouterr().out)
    return result


def _check_mode(figures: dict[str, Any], steps: int, budget: int) -> None:
    per_step = figures["per_step"]
    assert figures.keys() >= MODE_KEYS
    assert all(set(s) == STEP_KEYS for s in per_step)
    assert [s["call"] for s in per_step] == list(range(1, len(per_step) + 1))
    assert figures["termination"] == "answer"
    assert figures["model_steps"] == steps  # every scripted turn ran; the last one answered
    assert [s["kind"] for s in per_step if s["kind"] != "summary"] == ["step"] * (steps - 1) + ["answer"]
    assert figures["max_prompt_tokens"] == max(s["prompt_tokens"] for s in per_step)
    assert figures["max_prompt_tokens"] <= budget
    assert figures["prefilled_tokens"] + figures["reused_tokens"] == sum(s["prompt_tokens"] for s in per_step)
    assert all(s["prefilled_tokens"] == s["prompt_tokens"] - s["reused_tokens"] >= 1 for s in per_step)
    assert per_step[0]["reused_tokens"] == 0  # nothing is cached before the first call
    peak = max(s["prompt_tokens"] + s["completion_tokens"] for s in per_step)
    assert figures["peak_context_tokens"] == peak


def test_scripted_research_in_both_modes(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    steps, budget = 12, 6000
    plot = tmp_path / "plots" / "context.png"
    result = _context_json(capsys, "--steps", str(steps), "--budget", str(budget), "--plot", str(plot))
    assert {"steps", "budget", "react", "fold", "kv", "machine", "tokenizer"} <= result.keys()
    assert (result["steps"], result["budget"], result["tokenizer"]) == (steps, budget, "scripted")
    react, fold = result["react"], result["fold"]
    for figures in (react, fold):
        _check_mode(figures, steps, budget)
    # Fold: one call per round, never a summary. React grows call by call until ReSum restarts it.
    assert fold["summaries"] == 0 and len(fold["per_step"]) == steps
    assert react["summaries"] >= 1 and len(react["per_step"]) == steps + react["summaries"]
    prompts = [s["prompt_tokens"] for s in react["per_step"]]
    first_summary = next(i for i, s in enumerate(react["per_step"]) if s["kind"] == "summary")
    assert first_summary >= 2
    assert all(b > a for a, b in itertools.pairwise(prompts[: first_summary + 1])), prompts
    assert prompts[first_summary + 1] < prompts[first_summary]  # restarted from the summary
    # React re-sends its history, which the KV cache serves; fold re-prefills most of each round.
    react_share = react["reused_tokens"] / (react["reused_tokens"] + react["prefilled_tokens"])
    fold_share = fold["reused_tokens"] / (fold["reused_tokens"] + fold["prefilled_tokens"])
    assert react_share > 0.5 > fold_share, (react_share, fold_share)
    # KV at peak: the catalog's Tongyi shape by default.
    assert result["kv"]["bytes_per_token"] == TONGYI_KV_PER_TOKEN
    assert "Tongyi-DeepResearch-30B-A3B" in result["kv"]["source"]
    for figures in (react, fold):
        assert figures["kv_bytes_at_peak"] == TONGYI_KV_PER_TOKEN * figures["peak_context_tokens"]
    # The machine block names where it ran.
    machine = result["machine"]
    assert machine["cores"] >= 1 and machine["ram_total_bytes"] > 0 and machine["cpu"]
    assert machine["versions"]["python"] == ".".join(map(str, sys.version_info[:3]))
    # The plot: a real PNG of the configured size (9 x 6.4 inches at 150 dpi).
    data = plot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    assert struct.unpack(">II", data[16:24]) == (1350, 960)
    assert result["plot"] == str(plot)


def test_same_research_is_reproducible() -> None:
    first = bench(4, 6000)
    second = bench(4, 6000)
    for mode in ("react", "fold"):
        assert first[mode]["per_step"] == second[mode]["per_step"]


def test_text_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "context", "--steps", "3", "--budget", "6000"]) == 0
    out = capsys.readouterr().out
    header = ["3", "steps,", "budget", "6,000", "react", "fold", "(keep", "0.9)", "fold", "every", "round"]
    assert out.splitlines()[0].split() == header
    assert "max prompt tokens" in out and "prompt tokens reused (KV cache)" in out
    assert "vs react (total, per step)" in out
    assert "KV: catalog: Tongyi-DeepResearch-30B-A3B shape" in out


def test_the_real_tokenizer_and_shape_of_a_model(qwen05b: Path, capsys: pytest.CaptureFixture[str]) -> None:
    tokenizer = open_tokenizer(qwen05b)
    assert tokenizer.ids("Hello world") == [9707, 1879]  # Qwen2.5's vocabulary
    assert tokenizer.ids("<|im_start|>user\nHi<|im_end|>") == [151644, 872, 198, 13048, 151645]
    assert tokenizer.template and "<|im_start|>" in tokenizer.template  # the GGUF's own template
    steps, budget = 6, 8192
    result = _context_json(capsys, "--steps", str(steps), "--budget", str(budget), "--model", str(qwen05b))
    assert result["tokenizer"] == qwen05b.name
    assert result["kv"]["bytes_per_token"] == 24 * 2 * (64 + 64) * 2 == 12288  # the 0.5B's own shape
    assert result["kv"]["source"].startswith(f"model file {qwen05b.name}")
    # The model's tokenizer with Tongyi's KV shape (what the README's figures use), and a q8_0 cache.
    assert kv_source(str(qwen05b), "f16", tongyi=True)["bytes_per_token"] == TONGYI_KV_PER_TOKEN
    assert kv_source(None, "q8_0")["bytes_per_token"] == TONGYI_KV_PER_TOKEN * 34 // 64
    for mode in ("react", "fold", "fold_every_round"):
        _check_mode(result[mode], steps, budget)
    # A real BPE tokenizer needs far fewer tokens than the scripted one (which counts every space).
    scripted = bench(steps, budget)
    flat = "fold_every_round"  # its prompt size depends on the tokenizer alone, not on a threshold
    assert result[flat]["max_prompt_tokens"] < 0.8 * scripted[flat]["max_prompt_tokens"]


def test_plot_without_matplotlib_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib now raises ImportError
    code = main(["bench", "context", "--steps", "2", "--budget", "6000", "--plot", str(tmp_path / "p.png")])
    assert code == 2
    err = capsys.readouterr().err
    assert "--plot needs matplotlib" in err and "pip install 'deepresearch-local[bench]'" in err
    assert not (tmp_path / "p.png").exists()


def test_usage_errors(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["bench", "context", "--steps", "1"]) == 2
    assert "--steps must be at least 2" in capsys.readouterr().err
    assert main(["bench", "context", "--budget", "1000"]) == 2
    assert "--budget must be at least 4096" in capsys.readouterr().err
    assert main(["bench", "context", "--model", str(tmp_path / "none.gguf")]) == 3
    assert "No model at" in capsys.readouterr().err
