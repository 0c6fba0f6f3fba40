"""``SessionService``: the engine, tools and agent settings built from the saved settings (a real
llama.cpp engine on the 0.5B model included), cancelling before the model has loaded, past runs
replayed as the events the live run streamed, a report's sources, export, and the offline guard."""

from __future__ import annotations

import socket
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from deepresearch_local.agent.config import AgentConfig
from deepresearch_local.agent.events import (
    Cancelled,
    ContextUsage,
    ReportReady,
    RunFinished,
    RunStarted,
    TokenDelta,
    ToolResulted,
)
from deepresearch_local.config import SamplingSettings, Settings, save_settings
from deepresearch_local.engines.scripted import ScriptedEngine
from deepresearch_local.errors import ModelError
from deepresearch_local.service.engine import EngineChoice, resolved
from deepresearch_local.service.meta import RunMeta
from deepresearch_local.service.sessions import SessionService, Source, report_sources
from deepresearch_local.tools.base import ToolContext, ToolRegistry, ToolResult
from deepresearch_local.weights.registry import RegisteredModel, Registry
from tests.agent.conftest import ANSWER_TURN, call_turn, scripted
from tests.agent.scripted_tools import registry


def _service(*turns: str, offline: bool = False, tools: ToolRegistry | None = None) -> SessionService:
    engine = ScriptedEngine(respond=scripted(*turns))
    return SessionService(
        engine=engine,
        tools=lambda _offline: tools if tools is not None else registry(),
        config=AgentConfig(mode="react", max_llm_calls=5),
        offline=offline,
    )


def _register(path: Path) -> str:
    """Register weights the way an import does (without hashing half a gigabyte again)."""
    entry = RegisteredModel(
        id="qwen-05b", path=str(path), format="gguf", size=path.stat().st_size, origin="imported"
    )
    Registry().add(entry)
    return entry.id


def test_first_run_is_needed_only_before_anything_is_set_up(qwen05b: Path) -> None:
    assert SessionService.needs_first_run()
    _register(qwen05b)  # a registered model is enough
    assert not SessionService.needs_first_run()


def test_a_settings_file_alone_ends_the_first_run() -> None:
    save_settings(Settings(offline=True))
    assert not SessionService.needs_first_run()


def test_the_engine_choice_follows_the_settings(qwen05b: Path) -> None:
    service = SessionService()
    with pytest.raises(ModelError, match="No model is set up yet"):
        service.engine_choice()
    assert service.engine_label() == ("-", "no model yet (F3: Models)")
    save_settings(Settings(model=str(qwen05b), context_tokens=4096))
    assert service.engine_choice() == EngineChoice(model=str(qwen05b), context=4096)
    assert service.engine_label() == ("llama.cpp", qwen05b.name)
    save_settings(Settings(model=_register(qwen05b), backend="llama.cpp"))
    assert service.engine_choice() == EngineChoice(model=str(qwen05b), backend="llama.cpp")
    server = Settings(backend="openai", model="tongyi", base_url="http://127.0.0.1:9/v1", context_tokens=8192)
    save_settings(server)
    assert service.engine_choice() == EngineChoice(
        model="tongyi", backend="openai", base_url="http://127.0.0.1:9/v1", context=8192
    )
    assert service.engine_label() == ("openai", "tongyi")


def test_the_real_engine_loads_once_and_reloads_when_the_settings_change(qwen05b: Path) -> None:
    save_settings(Settings(model=str(qwen05b), context_tokens=2048))
    service = SessionService(offline=True)
    try:
        engine = service.engine()
        assert (engine.info.backend, engine.context_size()) == ("llama.cpp", 2048)
        assert service.engine() is engine  # same settings: the loaded engine is reused
        meta = service.prepare().meta(engine)  # what `deepresearch sessions resume` reopens a TUI run with
        assert meta["engine"] == {
            "model": str(qwen05b),
            "backend": None,
            "base_url": None,
            "context": 2048,
            "gpu_layers": None,
            "cpu_moe_layers": None,
            "kv_type": "auto",
            "constrain_tool_calls": "auto",
            "scripted": None,
            "context_cap": 32_768,
        }
        assert meta["display"] == {"model": qwen05b.name, "backend": "llama.cpp"}
        save_settings(Settings(model=str(qwen05b), context_tokens=3072))
        other = service.engine()
        assert other is not engine and other.context_size() == 3072
    finally:
        service.close()


def test_the_agent_settings_come_from_the_settings_file() -> None:
    save_settings(Settings(mode="fold", max_steps=7, sampling=SamplingSettings(0.2, 0.8, 1.0)))
    config = SessionService().agent_config()
    assert (config.mode, config.max_llm_calls) == ("fold", 7)
    assert (config.sampling.temperature, config.sampling.top_p, config.sampling.presence_penalty) == (
        0.2,
        0.8,
        1.0,
    )
    save_settings(Settings(offline=True))
    assert SessionService().offline() is True


def test_cancel_before_the_run_starts_ends_it_cleanly() -> None:
    service = _service(ANSWER_TURN)
    events = service.ask("Why is the sky blue?")
    service.cancel()  # e.g. Esc while the model is still loading
    seen = list(events)
    assert [type(e) for e in seen] == [RunStarted, Cancelled, RunFinished]
    finished = seen[-1]
    assert isinstance(finished, RunFinished) and finished.termination == "cancelled"
    assert service.latest_run(finished.session_id).status == "cancelled"  # type: ignore[union-attr]
    again = list(service.ask("Why is the sky blue?", finished.session_id))  # a new run is not cancelled
    assert again[-1].termination == "answer"  # type: ignore[union-attr]


def test_a_past_run_replays_as_the_events_it_streamed() -> None:
    service = _service(call_turn("search", query=["sky colour"]), ANSWER_TURN)
    live = [e for e in service.ask("Why is the sky blue?") if not isinstance(e, (TokenDelta, ContextUsage))]
    finished = live[-1]
    assert isinstance(finished, RunFinished)
    replayed = [e for e in service.replay(finished.run_id) if not isinstance(e, (TokenDelta, ContextUsage))]
    assert [type(e) for e in replayed] == [type(e) for e in live]
    assert replayed[1:-2] == live[1:-2]  # steps, tool calls, results, answer
    report = replayed[-2]
    assert isinstance(report, ReportReady) and report.markdown == live[-2].markdown  # type: ignore[union-attr]
    end = replayed[-1]
    assert isinstance(end, RunFinished)
    assert (end.termination, end.answer, end.steps, end.llm_calls) == (
        finished.termination,
        finished.answer,
        finished.steps,
        finished.llm_calls,
    )
    thinking = [e.text for e in service.replay(finished.run_id) if isinstance(e, TokenDelta)]
    assert thinking == ["I should look this up.", "I have enough to answer."]


def test_report_sources_are_matched_to_the_evidence() -> None:
    evidence = [
        {"source": "/docs/a.md", "location": "lines 1-4", "title": "A", "kind": "file"},
        {"source": "/docs/a.md", "location": "lines 10-14", "title": "A", "kind": "file"},
        {"source": "https://example.test/x", "location": "", "title": "", "kind": "web"},
    ]
    report = (
        "# Q\n\n## Findings\n\n1. not a source line\n\n## Sources\n\n"
        "1. A: /docs/a.md, lines 10-14\n2. https://example.test/x\n3. /docs/gone.md, p. 2\n"
    )
    assert report_sources(report, evidence) == [
        Source(1, "/docs/a.md", "lines 10-14", "A", "file"),
        Source(2, "https://example.test/x", "", "", "web"),
    ]
    assert report_sources(report, evidence)[1].is_url and report_sources(report, [])[:1] == []


def test_a_follow_up_report_opens_the_sources_an_earlier_run_found() -> None:
    service = _service(call_turn("search", query=["boiling point"]), ANSWER_TURN, ANSWER_TURN)
    first = list(service.ask("What is the boiling point of water?"))
    session = first[0].session_id  # type: ignore[union-attr]
    second = list(service.ask("And why?", session))
    ready = [e for e in second if isinstance(e, ReportReady)]
    assert len(ready) == 1 and "## Sources\n\n1. " in ready[0].markdown
    run_id = second[-1].run_id  # type: ignore[union-attr]
    assert service.store.evidence(run_id) == []  # the follow-up found nothing itself
    [source] = service.sources(run_id, ready[0].markdown)
    assert source.number == 1 and source.source.startswith("https://example.test/boiling-point")


def test_export_writes_the_report(tmp_path: Path) -> None:
    service = _service()
    path = service.export_report("# Report\n\nText", tmp_path / "deep" / "r.md")
    assert path == (tmp_path / "deep" / "r.md").resolve() and path.read_text("utf-8") == "# Report\n\nText\n"
    assert service.default_export_path("abc123").name == "report-abc123.md"
    assert not list(path.parent.glob("*.tmp"))


class _Connects:
    """A tool that tries to reach a documentation-only address (never routed)."""

    name = "search"
    description = "Search."
    parameters: Mapping[str, Any] = {"type": "object", "properties": {}, "required": []}
    needs_network = False

    def call(self, arguments: Mapping[str, Any], context: ToolContext) -> ToolResult:
        try:
            socket.create_connection(("192.0.2.1", 9), timeout=0.5).close()
        except OSError as exc:
            return ToolResult(f"refused: {type(exc).__name__}", error=True)
        return ToolResult("connected")


def test_an_offline_run_cannot_reach_the_network() -> None:
    tools = ToolRegistry([_Connects()])
    service = _service(call_turn("search"), ANSWER_TURN, offline=True, tools=tools)
    events = list(service.ask("Anything?"))
    session = events[0].session_id  # type: ignore[union-attr]
    results = [e for e in events if isinstance(e, ToolResulted)]
    assert [r.text.split("\n")[0] for r in results] == ["refused: OfflineViolation"]
    blocked = [n for n in service.store.network(session) if n["kind"] == "blocked"]
    assert [n["target"] for n in blocked] == ["192.0.2.1:9"]


def test_a_resumed_run_reopens_the_engine_it_stored(qwen05b: Path) -> None:
    """The engine a run stored (by the app or by ``deepresearch ask``, in any metadata version)
    wins over today's settings."""
    model_id = _register(qwen05b)
    old_ask = {"engine": {"model": model_id, "backend": None, "base_url": None, "context": 2048,
                          "gpu_layers": None, "kv_type": None, "scripted": None}, "docs": []}  # fmt: skip
    assert resolved(RunMeta.from_dict(old_ask).engine) == EngineChoice(
        model=str(qwen05b),
        context=2048,
        kv_type="f16",  # stored runs without a KV type ran with f16
    )
    server = {"engine": {"backend": "openai", "model": "tongyi", "base_url": "http://127.0.0.1:9/v1"}}
    assert resolved(RunMeta.from_dict(server).engine) == EngineChoice(
        model="tongyi", backend="openai", base_url="http://127.0.0.1:9/v1", kv_type="f16"
    )
    assert RunMeta.from_dict({"engine": {"base_url": "http://127.0.0.1:9/v1"}}).engine.is_server
    with pytest.raises(ModelError):
        resolved(RunMeta.from_dict({"engine": {"model": "no-such-model"}}).engine)

    save_settings(Settings(model=str(qwen05b), context_tokens=2048))
    service = SessionService(tools=lambda offline: registry(), offline=True)
    try:
        run_engine = service.engine()
        meta = service.prepare().meta(run_engine)
        save_settings(Settings(model=str(qwen05b), context_tokens=3072))  # changed since the run began
        reopened = service.engine(RunMeta.from_dict(meta).engine)
        assert reopened is run_engine and reopened.context_size() == 2048
    finally:
        service.close()
