"""The engine flags' help names the default that applies now: the saved settings, read when the
help is printed, so it never restates a default that a settings change made false."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from deepresearch_local.cli.engine_args import add_engine_arguments
from deepresearch_local.cli.main import build_parser
from deepresearch_local.config import Settings, save_settings
from deepresearch_local.paths import get_paths
from deepresearch_local.weights.registry import RegisteredModel, Registry


def _help(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    with pytest.raises(SystemExit):
        build_parser().parse_args([*argv, "--help"])
    return " ".join(capsys.readouterr().out.split())  # argparse wraps lines where it likes


def test_help_follows_the_settings_as_they_change(capsys: pytest.CaptureFixture[str]) -> None:
    parser = argparse.ArgumentParser(prog="x")
    add_engine_arguments(parser)  # built once, like a long-lived parser
    save_settings(Settings(model="first-model", backend="llama.cpp", context_tokens=16384))
    first = " ".join(parser.format_help().split())
    assert "(default: first-model, the model setting)" in first
    assert "(default: llama.cpp, the backend setting)" in first
    assert "(default: 16,384, the context_tokens setting;" in first
    save_settings(Settings(model="second-model", base_url="http://127.0.0.1:9/v1"))
    second = " ".join(parser.format_help().split())
    assert "(default: second-model, the model setting)" in second and "first-model" not in second
    assert "the inference backend (default: from the model)" in second
    assert "(default: http://127.0.0.1:9/v1, the base_url setting)" in second
    assert "(default: what fits here)" in second


def test_without_a_saved_model_the_help_names_the_registry_default(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert "none yet: `models use ID` sets it" in _help(["ask"], capsys)
    weights = tmp_path / "tiny.gguf"
    weights.write_bytes(b"GGUF")
    registry = Registry(get_paths().registry_file)
    registry.add(RegisteredModel(id="tiny", path=str(weights), format="gguf", size=4))
    registry.set_default("tiny")
    assert "(default: tiny, your default model)" in _help(["chat"], capsys)


def test_an_unreadable_settings_file_does_not_break_the_command_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    config = get_paths().config_file
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text("model = [unclosed\n", "utf-8")
    text = _help(["ask"], capsys)
    assert "unreadable now: run `deepresearch paths` to find the file" in text


def test_resume_and_benchmarks_do_not_claim_the_settings(capsys: pytest.CaptureFixture[str]) -> None:
    save_settings(Settings(model="saved-model", backend="mlx"))
    resume = _help(["sessions", "resume", "abc"], capsys)
    assert "(default: as the run was started)" in resume and "saved-model" not in resume
    for bench in (["bench", "engine"], ["bench", "research"]):
        text = _help(bench, capsys)
        assert "saved-model" not in text and " setting)" not in text
        assert "the inference backend (default: from the model)" in text


def test_ask_run_flags_name_the_setting_or_the_preset(capsys: pytest.CaptureFixture[str]) -> None:
    from deepresearch_local.config import SamplingSettings

    save_settings(
        Settings(
            max_steps=25, mode="react", fold_keep_fraction=0.5, sampling=SamplingSettings(temperature=0.3)
        )
    )
    laptop = _help(["ask"], capsys)
    assert "model calls allowed (default: 25, the max_steps setting)" in laptop
    assert "(default: react, the mode setting)" in laptop
    assert "sampling temperature (default: 0.3, the sampling.temperature setting)" in laptop
    assert "wall-clock limit (default: 60)" in laptop
    assert "0 folds every round (default: 0.5, the fold_keep_fraction setting)" in laptop
    save_settings(Settings(max_steps=25, preset="upstream"))
    upstream = _help(["ask"], capsys)  # the saved preset overrides the saved limits
    assert "model calls allowed (default: 100, the upstream preset)" in upstream
    assert "wall-clock limit (default: 150, the upstream preset)" in upstream
    assert "(default: upstream, the preset setting)" in upstream
    assert "25, the max_steps setting" not in upstream
