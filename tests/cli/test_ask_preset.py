"""`ask --preset upstream` (or the preset setting): upstream Tongyi's run settings, flags on top."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from deepresearch_local.agent.config import AgentConfig
from deepresearch_local.cli.research import request_from_args
from deepresearch_local.config import Settings, load_settings, save_settings
from deepresearch_local.engines.base import Sampling
from deepresearch_local.engines.factory import EngineSpec, auto_context
from deepresearch_local.errors import UsageError
from deepresearch_local.service.build import agent_config
from deepresearch_local.service.engine import EngineChoice, choose_engine, open_engine_for


def _ask(*argv: str) -> argparse.Namespace:
    from deepresearch_local.cli.ask_cmd import add_parser

    parser = argparse.ArgumentParser()
    add_parser(parser.add_subparsers())
    return parser.parse_args(["ask", "q", *argv])


def config_from_args(args: argparse.Namespace) -> AgentConfig:
    return agent_config(load_settings(), request_from_args(args))


def engine_of(args: argparse.Namespace) -> EngineChoice:
    return choose_engine(load_settings(), request_from_args(args), resolve=False)


def test_upstream_preset_sets_upstreams_run(isolated_home: Path) -> None:
    config = config_from_args(_ask("--preset", "upstream"))
    assert (config.mode, config.max_llm_calls, config.max_minutes, config.max_output_tokens) == (
        "react", 100, 150.0, 10_000,
    )  # fmt: skip
    assert (config.sampling.temperature, config.sampling.top_p, config.sampling.presence_penalty) == (
        0.6, 0.95, 1.1,
    )  # fmt: skip


def test_flags_win_over_the_preset_and_the_preset_over_saved_settings(isolated_home: Path) -> None:
    save_settings(Settings(max_steps=12, mode="fold", context_tokens=8192, preset="upstream"))
    args = _ask("--max-steps", "7", "--temperature", "0")
    config = config_from_args(args)
    assert (config.mode, config.max_llm_calls, config.max_minutes) == ("react", 7, 150.0)
    assert config.sampling.temperature == 0.0 and config.sampling.top_p == 0.95
    choice = engine_of(args)
    assert choice.context is None and choice.context_cap == 131_072  # the most that fits, not the saved 8K
    assert engine_of(_ask("--context", "16384")).context == 16384


def test_laptop_defaults_are_unchanged(isolated_home: Path) -> None:
    save_settings(Settings(max_steps=12, mode="fold", context_tokens=8192))
    args = _ask()
    config = config_from_args(args)
    assert (config.mode, config.max_llm_calls, config.max_minutes) == ("fold", 12, 60.0)
    assert config.sampling == Sampling(temperature=0.6, top_p=0.95, presence_penalty=1.1)
    assert (engine_of(args).context, engine_of(args).context_cap) == (8192, 32_768)


def test_an_unknown_preset_in_the_settings_says_what_to_use(isolated_home: Path) -> None:
    save_settings(Settings(preset="paper"))
    with pytest.raises(UsageError, match="Unknown preset 'paper': use one of laptop, upstream"):
        config_from_args(_ask())
    with pytest.raises(UsageError, match="Unknown preset 'paper'"):
        engine_of(_ask())


def test_the_context_cap_reaches_the_engine(
    isolated_home: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    specs: list[EngineSpec] = []
    monkeypatch.setattr("deepresearch_local.engines.factory.open_engine", lambda spec: specs.append(spec))
    model = tmp_path / "m.gguf"
    model.write_bytes(b"GGUF")
    for argv in (["--preset", "upstream", "--model", str(model)], ["--model", str(model)]):
        open_engine_for(choose_engine(load_settings(), request_from_args(_ask(*argv))))
    assert [(s.context_tokens, s.context_cap) for s in specs] == [(None, 131_072), (None, 32_768)]


def test_auto_context_honours_the_cap(qwen05b: Path) -> None:
    """On the real 0.5B model (trained for 32K, which fits this machine): the cap bounds the choice."""
    full, _ = auto_context(qwen05b, "llama.cpp", "f16", None, cap=131_072)
    capped, _ = auto_context(qwen05b, "llama.cpp", "f16", None, cap=4096)
    assert full == 32_768  # its trained context: a larger cap never goes past it
    assert capped == 4096
