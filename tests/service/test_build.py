"""Settings plus per-run overrides become one run, whichever front end asks: ``deepresearch ask``
and the app store the same agent settings and the same metadata schema for the same settings."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from deepresearch_local.agent.config import AgentConfig
from deepresearch_local.agent.events import RunFinished, RunStarted
from deepresearch_local.cli.main import main
from deepresearch_local.config import SamplingSettings, Settings, load_settings, save_settings
from deepresearch_local.engines.scripted import ScriptedEngine
from deepresearch_local.service.build import agent_config
from deepresearch_local.service.engine import EngineChoice
from deepresearch_local.service.meta import META_VERSION, Permissions, RunMeta
from deepresearch_local.service.request import RunRequest
from deepresearch_local.service.sessions import SessionService
from deepresearch_local.store.sessions import SessionStore
from tests.agent.scripted_tools import registry

ANSWER = "<think>Known.</think>\n<report>- Water boils at 100 C [1].</report>\n<answer>100 C.</answer>"
QUESTION = "At what temperature does water boil?"
LAPTOP = Settings(
    mode="fold",
    max_steps=6,
    max_output_tokens=3000,
    seed_library_search=False,
    sampling=SamplingSettings(temperature=0.3, top_p=0.9, presence_penalty=1.0),
    offline=True,
)
UPSTREAM = Settings(preset="upstream", mode="fold", max_steps=6, max_output_tokens=3000, offline=True)


def _cli_run(tmp_path: Path, capsys: pytest.CaptureFixture[str], *flags: str) -> dict[str, Any]:
    script = tmp_path / "script.json"
    script.write_text(json.dumps({"replies": [ANSWER]}), "utf-8")
    capsys.readouterr()
    assert main(["ask", QUESTION, "--scripted", str(script), "--json", *flags]) == 0
    run_id = json.loads(capsys.readouterr().out.splitlines()[-1])["run_id"]
    with SessionStore() as store:
        return store.run(run_id).config


def _app_run() -> dict[str, Any]:
    service = SessionService(engine=ScriptedEngine(respond=lambda prompt: ANSWER), tools=lambda _: registry())
    try:
        finished = list(service.ask(QUESTION))[-1]
        assert isinstance(finished, RunFinished)
        return service.store.run(finished.run_id).config
    finally:
        service.close()


@pytest.mark.parametrize("settings", [LAPTOP, UPSTREAM], ids=["laptop", "upstream"])
def test_the_cli_and_the_app_start_the_same_run_from_the_same_settings(
    settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    save_settings(settings)
    cli, app = _cli_run(tmp_path, capsys), _app_run()
    agent = set(AgentConfig().to_dict())
    assert {k: v for k, v in cli.items() if k in agent} == {k: v for k, v in app.items() if k in agent}
    stored = AgentConfig.from_dict(app)
    assert stored == agent_config(load_settings())
    if settings.preset == "upstream":  # the preset wins over the saved mode and output tokens
        assert (stored.mode, stored.max_llm_calls, stored.max_output_tokens) == ("react", 100, 10_000)
    else:
        assert (stored.mode, stored.max_llm_calls, stored.max_output_tokens) == ("fold", 6, 3000)
        assert stored.seed_library_search is False
        assert (stored.sampling.temperature, stored.sampling.top_p) == (0.3, 0.9)
    assert cli["offline"] is app["offline"] is True


def test_flags_win_over_the_preset_and_the_settings() -> None:
    save_settings(UPSTREAM)
    request = RunRequest(mode="fold", max_steps=4, max_output_tokens=2048, temperature=0.0, budget=9000)
    config = agent_config(load_settings(), request)
    assert (config.mode, config.max_llm_calls, config.max_output_tokens, config.budget_tokens) == (
        "fold", 4, 2048, 9000,
    )  # fmt: skip
    assert (config.sampling.temperature, config.sampling.top_p, config.max_minutes) == (0.0, 0.95, 150.0)


def test_both_front_ends_store_one_metadata_schema(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    save_settings(Settings(offline=True, allow_unisolated_python=True, search_region="de-de"))
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.md").write_text("# A\n\nWater boils at 100 C.\n", "utf-8")
    cli = _cli_run(tmp_path, capsys, "--docs", str(docs), "--allow-composed-urls")["meta"]
    app = _app_run()["meta"]
    keys = {"version", "engine", "display", "docs", "permissions", "search_region"}
    assert set(cli) == set(app) == keys and cli["version"] == app["version"] == META_VERSION
    assert set(cli["engine"]) == set(app["engine"]) == set(EngineChoice().to_dict())
    assert cli["engine"]["scripted"] == str(tmp_path / "script.json")
    assert cli["display"] == {"model": "scripted", "backend": "scripted"} == app["display"]
    assert (cli["docs"], app["docs"]) == ([str(docs.resolve())], [])
    assert cli["permissions"] == {"allow_composed_urls": True, "allow_unisolated_python": True}
    assert app["permissions"] == {"allow_composed_urls": False, "allow_unisolated_python": True}
    assert cli["search_region"] == app["search_region"] == "de-de"
    assert RunMeta.from_dict(cli).to_dict() == cli  # read back as written


def test_older_metadata_is_still_read() -> None:
    """``ask`` stored engine and docs, the app also display; neither stored permissions."""
    old_ask = {
        "engine": {"model": "/models/qwen.gguf", "backend": None, "base_url": None, "context": 4096,
                   "gpu_layers": 20, "kv_type": "q8_0", "scripted": None},
        "docs": ["/home/me/notes"],
    }  # fmt: skip
    meta = RunMeta.from_dict(old_ask)
    assert meta.engine == EngineChoice(model="/models/qwen.gguf", context=4096, gpu_layers=20, kv_type="q8_0")
    assert (meta.display_model, meta.display_backend, meta.docs) == ("qwen.gguf", "", ("/home/me/notes",))
    assert meta.permissions == Permissions()
    old_app = {
        "engine": {"model": "/models/qwen.gguf", "backend": "llama.cpp", "context": None, "kv_type": None},
        "display": {"model": "qwen.gguf", "backend": "llama.cpp"},
        "docs": [],
    }
    meta = RunMeta.from_dict(old_app)
    assert (meta.engine.kv_type, meta.engine.context, meta.display_backend) == ("f16", None, "llama.cpp")
    # A run that stored nothing predates the planned KV cache ("auto"): it ran with f16.
    assert RunMeta.from_dict(None) == RunMeta(engine=EngineChoice(kv_type="f16"))


def test_a_replayed_cli_run_names_its_model(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    save_settings(Settings(offline=True))
    config = _cli_run(tmp_path, capsys)
    service = SessionService(offline=True)
    try:
        [session] = service.sessions()
        started = service.replay(service.latest_run(session.id).id)[0]  # type: ignore[union-attr]
    finally:
        service.close()
    assert isinstance(started, RunStarted) and (started.model, started.backend) == ("scripted", "scripted")
    assert config["meta"]["display"] == {"model": "scripted", "backend": "scripted"}


def test_the_prompt_date_is_today_unless_pinned() -> None:
    from datetime import date

    from deepresearch_local.errors import UsageError
    from deepresearch_local.service.build import prompt_date

    assert prompt_date({}) is None and prompt_date({"DEEPRESEARCH_DATE": " "}) is None
    assert prompt_date({"DEEPRESEARCH_DATE": "2025-03-09"}) == date(2025, 3, 9)
    with pytest.raises(UsageError, match="YYYY-MM-DD"):
        prompt_date({"DEEPRESEARCH_DATE": "9 March"})


def test_a_pinned_date_reaches_the_system_prompt(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("DEEPRESEARCH_DATE", "2025-03-09")
    engine = ScriptedEngine(respond=lambda prompt: "<think>x</think><answer>done</answer>")
    from deepresearch_local.service.build import make_researcher, prepare_run
    from deepresearch_local.store.sessions import SessionStore
    from deepresearch_local.tools.base import ToolRegistry

    config = AgentConfig(mode="react", write_report=False)
    run = prepare_run(Settings(), choice=EngineChoice(model="scripted"), offline=True, config=config)
    with SessionStore(tmp_path / "s.sqlite3") as store:
        researcher = make_researcher(run, engine, ToolRegistry([]), store)
        list(researcher.ask("Q?"))
    assert "Current date: 2025-03-09" in engine.requests[0].prompt
