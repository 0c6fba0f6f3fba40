"""Settings: defaults, a round trip through the TOML file, clear errors, and what `ask` takes from them."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from deepresearch_local.config import Settings, default_mode, load_settings, save_settings
from deepresearch_local.errors import ConfigError
from deepresearch_local.paths import get_paths
from deepresearch_local.service.build import agent_config, decide_offline
from deepresearch_local.service.engine import choose_engine
from deepresearch_local.service.request import RunRequest


def test_missing_file_gives_defaults(isolated_home: Path) -> None:
    assert not get_paths().config_file.exists()
    assert load_settings() == Settings()


def test_round_trip(isolated_home: Path) -> None:
    settings = Settings(model="tongyi-30b-q4_k_m", offline=True, context_tokens=16384, mode="react")
    settings.sampling.temperature = 0.3
    path = save_settings(settings)
    assert path == get_paths().config_file
    assert load_settings() == settings
    assert 'model = "tongyi-30b-q4_k_m"' in path.read_text()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("modle = 'x'\n", "unknown setting(s) modle"),
        ("offline = 'yes'\n", "offline should be a bool"),
        ("context_tokens = [\n", "Cannot read the settings"),
        ("[sampling]\nheat = 1\n", "heat"),
    ],
)
def test_bad_files_say_what_to_fix(isolated_home: Path, text: str, message: str) -> None:
    get_paths().config_file.parent.mkdir(parents=True, exist_ok=True)
    get_paths().config_file.write_text(text)
    with pytest.raises(ConfigError, match=re.escape(message)):
        load_settings()


def test_default_mode_follows_memory() -> None:
    assert default_mode(24 << 30) == "fold"
    assert default_mode(64 << 30) == "react"


def test_ask_takes_unset_values_from_the_settings(isolated_home: Path) -> None:
    save_settings(
        Settings(model="/models/m.gguf", offline=True, context_tokens=12288, max_steps=7, mode="react")
    )
    settings = load_settings()
    choice = choose_engine(settings, RunRequest(), resolve=False)
    assert (choice.model, choice.context) == ("/models/m.gguf", 12288)
    assert decide_offline(settings, RunRequest(), choice) == (True, None)  # asked for: no note
    config = agent_config(settings, RunRequest())
    assert (config.mode, config.max_llm_calls) == ("react", 7)
    flags = RunRequest(model="/other.gguf", context=4096, mode="fold", max_steps=3, temperature=0.0)
    choice = choose_engine(settings, flags, resolve=False)
    assert (choice.model, choice.context) == ("/other.gguf", 4096)
    config = agent_config(settings, flags)
    assert (config.mode, config.max_llm_calls, config.sampling.temperature) == ("fold", 3, 0.0)
