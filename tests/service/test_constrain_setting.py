"""The ``constrain_tool_calls`` setting and ``--constrain-tool-calls`` travel from the settings and
the command line to the engine spec, are stored with the run, and decide the grammar on a real
llama.cpp engine: "auto" by the build's bit width, "on" and "off" whatever it is."""

from __future__ import annotations

import shutil
import struct
from pathlib import Path
from typing import Literal

import pytest

from deepresearch_local.cli.main import build_parser
from deepresearch_local.cli.research import request_from_args
from deepresearch_local.config import Settings, load_settings, save_settings
from deepresearch_local.engines.base import GenerationRequest
from deepresearch_local.errors import UsageError
from deepresearch_local.service.engine import EngineChoice, choose_engine, engine_spec, open_engine_for
from deepresearch_local.service.request import RunRequest
from tests.support.tiny_moe import TinyModel

IQ2_XXS = 19
"""llama.cpp's ``general.file_type`` for IQ2_XXS (a 2-bit build)."""


def _spec_setting(settings: Settings, argv: list[str]) -> str:
    args = build_parser().parse_args(["ask", "--model", "m.gguf", *argv, "a question"])
    return engine_spec(choose_engine(settings, request_from_args(args), resolve=False)).constrain_tool_calls


def test_the_setting_and_the_flag_reach_the_engine_spec() -> None:
    assert _spec_setting(Settings(), []) == "auto"
    assert _spec_setting(Settings(constrain_tool_calls="on"), []) == "on"
    assert _spec_setting(Settings(constrain_tool_calls="off"), []) == "off"
    assert _spec_setting(Settings(constrain_tool_calls="on"), ["--constrain-tool-calls", "off"]) == "off"
    assert _spec_setting(Settings(), ["--constrain-tool-calls", "on"]) == "on"


def test_the_choice_is_stored_with_the_run_and_a_resume_flag_overrides_it() -> None:
    choice = choose_engine(Settings(constrain_tool_calls="on"), RunRequest(model="m.gguf"), resolve=False)
    stored = EngineChoice.from_dict(choice.to_dict())
    assert stored == choice and stored.constrain_tool_calls == "on"
    assert EngineChoice.from_dict({"model": "m.gguf"}).constrain_tool_calls == "auto"  # older runs
    args = build_parser().parse_args(["sessions", "resume", "ID", "--constrain-tool-calls", "off"])
    assert stored.overridden(request_from_args(args)).constrain_tool_calls == "off"


def test_a_hand_edited_value_is_refused_with_what_to_write(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    save_settings(Settings(), path)
    text = path.read_text("utf-8")
    path.write_text(text.replace('constrain_tool_calls = "auto"', 'constrain_tool_calls = "yes"'))
    settings = load_settings(path)
    with pytest.raises(UsageError, match=r"constrain_tool_calls is 'yes': use auto .* on or off"):
        choose_engine(settings, RunRequest(model="m.gguf"), resolve=False)


def _with_file_type(source: Path, dest: Path, file_type: int) -> Path:
    """A copy of a GGUF whose ``general.file_type`` says ``file_type`` (the tensors stay as they are)."""
    shutil.copyfile(source, dest)
    data = bytearray(dest.read_bytes())
    key = b"general.file_type"
    at = data.index(key) + len(key)
    assert struct.unpack_from("<I", data, at)[0] == 4  # a uint32 value follows
    struct.pack_into("<I", data, at + 4, file_type)
    dest.write_bytes(bytes(data))
    return dest


def _grammar_on(model: Path, setting: Literal["auto", "on", "off"]) -> bool:
    from deepresearch_local.engines.constrained import constrain_here

    choice = choose_engine(Settings(constrain_tool_calls=setting), RunRequest(model=str(model), context=2048))
    engine = open_engine_for(choice)
    engine.load()
    try:
        return constrain_here(engine, GenerationRequest(prompt="", tools=[{"name": "search"}]))
    finally:
        engine.unload()


@pytest.mark.slow
def test_a_real_engine_follows_the_setting(tiny_moe: TinyModel, tmp_path: Path) -> None:
    full = tiny_moe.gguf_path  # F32 tensors: "auto" leaves it free
    two_bit = _with_file_type(full, tmp_path / "tiny-iq2_xxs.gguf", IQ2_XXS)
    assert (_grammar_on(full, "auto"), _grammar_on(two_bit, "auto")) == (False, True)
    assert (_grammar_on(full, "on"), _grammar_on(two_bit, "off")) == (True, False)
