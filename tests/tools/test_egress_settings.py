"""The user's switches for the outbound checks reach the tools: `ask --allow-composed-urls`, and
the `allow_composed_urls` and `allow_unisolated_python` settings."""

from __future__ import annotations

from pathlib import Path

from deepresearch_local.cli.main import build_parser
from deepresearch_local.cli.research import request_from_args
from deepresearch_local.config import load_settings
from deepresearch_local.engines.scripted import ScriptedEngine
from deepresearch_local.paths import get_paths
from deepresearch_local.service.build import make_researcher, prepare_run
from deepresearch_local.service.engine import EngineChoice
from deepresearch_local.store.sessions import SessionStore
from deepresearch_local.tools.base import ToolRegistry


def researcher_for(*argv: str) -> tuple[bool, bool]:
    args = build_parser().parse_args(["ask", "question", "--offline", *argv])
    run = prepare_run(load_settings(), request_from_args(args), choice=EngineChoice(scripted="-"))
    with SessionStore() as store:
        researcher = make_researcher(run, ScriptedEngine(), ToolRegistry(), store)
    return researcher.context.allow_composed_urls, researcher.context.allow_unisolated_python


def test_off_unless_asked() -> None:
    assert researcher_for() == (False, False)


def test_the_flag_allows_composed_urls_for_one_run() -> None:
    assert researcher_for("--allow-composed-urls") == (True, False)


def test_the_settings_allow_both() -> None:
    config: Path = get_paths().config_file
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text("allow_composed_urls = true\nallow_unisolated_python = true\n", encoding="utf-8")
    assert load_settings().allow_composed_urls
    assert researcher_for() == (True, True)
