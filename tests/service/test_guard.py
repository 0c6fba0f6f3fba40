"""The offline guard around a run built by the service: a connection beyond loopback is refused
and logged with the run; the model's own server stays reachable; an online run is not guarded."""

from __future__ import annotations

import socket
from collections.abc import Mapping
from typing import Any

from deepresearch_local.agent.events import RunStarted, ToolResulted
from deepresearch_local.config import Settings
from deepresearch_local.engines.scripted import ScriptedEngine
from deepresearch_local.service.build import make_researcher, prepare_run
from deepresearch_local.service.engine import EngineChoice
from deepresearch_local.service.guard import offline_guard
from deepresearch_local.store.sessions import SessionStore
from deepresearch_local.tools.base import ToolContext, ToolRegistry, ToolResult
from tests.agent.conftest import ANSWER_TURN, call_turn, scripted

TARGET = ("192.0.2.1", 9)
"""A documentation-only address: never routed, so nothing is ever reached."""


class Connects:
    name = "local_search"
    description = "Search."
    parameters: Mapping[str, Any] = {"type": "object", "properties": {}, "required": []}
    needs_network = False

    def call(self, arguments: Mapping[str, Any], context: ToolContext) -> ToolResult:
        try:
            socket.create_connection(TARGET, timeout=0.5).close()
        except OSError as exc:
            return ToolResult(f"refused: {type(exc).__name__}", error=True)
        return ToolResult("connected")


def _run(offline: bool, base_url: str | None = None) -> tuple[list[str], list[dict[str, Any]]]:
    """(what the tool saw, the run's network log) for one question through the service."""
    choice = EngineChoice(scripted="-", base_url=base_url)
    run = prepare_run(Settings(seed_library_search=False), choice=choice, offline=offline)
    engine = ScriptedEngine(respond=scripted(call_turn("local_search"), ANSWER_TURN))
    with SessionStore() as store:
        researcher = make_researcher(run, engine, ToolRegistry([Connects()]), store)
        with offline_guard(researcher, run.engine.base_url):
            events = list(researcher.ask("Anything?"))
        results = [e.text.split("\n")[0] for e in events if isinstance(e, ToolResulted)]
        started = events[0]
        assert isinstance(started, RunStarted)
        return results, store.network(started.session_id)


def test_an_offline_run_refuses_and_logs_a_connection() -> None:
    results, network = _run(offline=True)
    assert results == ["refused: OfflineViolation"]
    blocked = [(n["target"], n["detail"]) for n in network if n["kind"] == "blocked"]
    assert blocked == [("192.0.2.1:9", "offline")]


def test_the_models_server_and_online_runs_are_not_blocked() -> None:
    for offline, base_url in ((True, "http://192.0.2.1:9/v1"), (False, None)):
        results, network = _run(offline, base_url)
        assert len(results) == 1 and "OfflineViolation" not in results[0]
        assert not [n for n in network if n["kind"] == "blocked"]
