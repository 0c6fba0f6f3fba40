"""Links a tool met outside its observation (a visited page's address, redirects, the links on it)
are stored with the step, so a run resumed after a cancel or a kill may still visit them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from deepresearch_local.agent.config import AgentConfig
from deepresearch_local.agent.events import AgentEvent, RunFinished, ToolResulted
from deepresearch_local.agent.runner import Researcher
from deepresearch_local.engines.scripted import ScriptedEngine
from deepresearch_local.tools.base import ToolContext, ToolRegistry, ToolResult
from tests.agent.conftest import ANSWER_TURN, call_turn, run, scripted

LINK = "https://pages.test/annex/b7f3?section=42"


class Linker:
    """Like ``visit``: reads a page whose links are not in its observation."""

    name = "linker"
    description = "Read a page."
    parameters: Mapping[str, Any] = {"type": "object", "properties": {}, "required": []}
    needs_network = False

    def call(self, arguments: Mapping[str, Any], context: ToolContext) -> ToolResult:
        context.web_links.add(LINK)
        return ToolResult("The page says little.", links=[LINK], summary="read a page")


class Probe:
    """Records what the run knows as met links when it is called."""

    name = "probe"
    description = "Look."
    parameters: Mapping[str, Any] = {"type": "object", "properties": {}, "required": []}
    needs_network = False

    def __init__(self) -> None:
        self.seen: list[set[str]] = []

    def call(self, arguments: Mapping[str, Any], context: ToolContext) -> ToolResult:
        self.seen.append(set(context.web_links))
        return ToolResult("Nothing here.", summary="looked")


def _tools(probe: Probe) -> ToolRegistry:
    registry = ToolRegistry()
    registry.register(Linker())
    registry.register(probe)
    return registry


def test_links_met_before_a_cancel_are_known_after_resume() -> None:
    probe = Probe()
    engine = ScriptedEngine(respond=scripted(call_turn("linker"), call_turn("probe"), ANSWER_TURN))

    def cancel_after_the_page(event: AgentEvent, researcher: Researcher) -> None:
        if isinstance(event, ToolResulted) and event.name == "linker":
            researcher.cancel.cancel()

    first = run(engine, tools=_tools(probe), on_event=cancel_after_the_page)
    assert first.finished.termination == "cancelled"
    tool_steps = [s for s in first.store.steps(first.finished.run_id) if s.kind == "tool"]
    assert tool_steps[-1].data["links"] == [LINK]
    # A new process: a fresh researcher and tool context, only the store carries over.
    engine.respond = scripted(call_turn("probe"), ANSWER_TURN)
    resumed = Researcher(engine, _tools(probe), first.store, AgentConfig(mode="react"))
    events = list(resumed.resume(first.finished.run_id))
    assert isinstance(events[-1], RunFinished) and events[-1].termination == "answer"
    assert probe.seen and LINK in probe.seen[-1]
