"""What every research tool is: a name, a schema the model sees, and a call that returns an observation.

Names, argument schemas and result shapes follow the ones Tongyi DeepResearch was trained on
(``search``, ``google_scholar``, ``visit``, ``PythonInterpreter``, ``parse_file``), plus our
local-library tools shaped like them. A tool never raises for bad input or a failed fetch: it
returns a ``ToolResult`` whose text tells the model what happened and what to try instead.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

from deepresearch_local.engines.base import CancelToken, Engine


@dataclass(frozen=True)
class Evidence:
    """A span of text a tool returned in this session, that a report may cite."""

    source: str
    """A URL, or the path of a file in the user's library."""
    location: str
    """Where in the source: "p. 3", "lines 10-24", "§ Install > Linux", "chars 1200-1890"."""
    text: str
    """The exact text returned (what a citation is checked against)."""
    title: str = ""
    kind: Literal["web", "file", "computed"] = "web"


@dataclass(frozen=True)
class NetworkEvent:
    """Something that left the machine: a search query or a fetched URL."""

    kind: Literal["search", "fetch"]
    target: str
    """The query text, or the URL."""
    tool: str
    ok: bool = True
    detail: str = ""


@dataclass
class ToolResult:
    text: str
    """The observation, exactly as the model will see it inside <tool_response>."""
    evidence: list[Evidence] = field(default_factory=list)
    network: list[NetworkEvent] = field(default_factory=list)
    error: bool = False
    """True when the call failed (the text then explains why and what to do)."""
    summary: str = ""
    """One line for progress displays ("3 results for 'x'", "read 2 pages of report.pdf")."""
    links: list[str] = field(default_factory=list)
    """URLs the call met outside the observation (a visited page's address, redirects, its links):
    stored with the step, so a resumed run may still visit them (``tools.url_guard``)."""


@dataclass
class ToolContext:
    """What a call may use besides its arguments."""

    engine: Engine | None = None
    """The loaded model (``visit`` uses it to extract goal-directed evidence)."""
    offline: bool = False
    """No connection may leave the machine."""
    cancel: CancelToken = field(default_factory=CancelToken)
    on_progress: Callable[[str], None] | None = None
    """Optional progress lines for long calls."""
    engine_lock: threading.Lock = field(default_factory=threading.Lock)
    local_texts: Callable[[], Iterable[str]] | None = None
    """Texts of the user's local documents in play (the privacy guard checks queries against them)."""
    seen_texts: Callable[[], Iterable[str]] | None = None
    """What the run was shown from outside the model: the user's question and the tools' observations
    (not computed ones). URLs written in them may be visited as they are (``tools.url_guard``)."""
    web_links: set[str] = field(default_factory=set)
    """URLs ``visit`` met in this run: pages fetched, where they redirected, the links on them."""
    allow_composed_urls: bool = False
    """Let ``visit`` request URLs the model composed itself even after local documents were read."""
    confirm: Callable[[str], bool] | None = None
    """Asks the user to allow something the run would otherwise refuse (None: nobody to ask)."""
    allow_unisolated_python: bool = False
    """Run PythonInterpreter in an online run even where no kernel sandbox holds (``tools.sandbox``)."""

    def progress(self, line: str) -> None:
        if self.on_progress is not None:
            self.on_progress(line)


@runtime_checkable
class Tool(Protocol):
    name: str
    description: str
    parameters: Mapping[str, Any]
    """JSON schema of the arguments."""
    needs_network: bool

    def call(self, arguments: Mapping[str, Any], context: ToolContext) -> ToolResult: ...


def schema_of(tool: Tool) -> dict[str, Any]:
    """The OpenAI-style function schema the chat template declares in the system prompt."""
    return {
        "type": "function",
        "function": {"name": tool.name, "description": tool.description, "parameters": dict(tool.parameters)},
    }


class ToolRegistry:
    """The tools available to one run. Offline runs expose only tools that need no network."""

    def __init__(self, tools: Iterable[Tool] = ()) -> None:
        self._tools: dict[str, Tool] = {}
        for tool in tools:
            self.register(tool)

    def register(self, tool: Tool) -> None:
        self._tools[tool.name] = tool

    def get(self, name: str) -> Tool | None:
        return self._tools.get(name)

    def available(self, offline: bool) -> list[Tool]:
        return [t for t in self._tools.values() if not (offline and t.needs_network)]

    def names(self, offline: bool = False) -> list[str]:
        return [t.name for t in self.available(offline)]

    def schemas(self, offline: bool = False) -> list[dict[str, Any]]:
        return [schema_of(t) for t in self.available(offline)]


def missing_arguments(tool: Tool, arguments: Mapping[str, Any]) -> list[str]:
    required = tool.parameters.get("required", [])
    return [name for name in required if name not in arguments or arguments[name] in (None, "", [])]


def shown_texts(question: str, steps: Iterable[Any]) -> list[str]:
    """What a run showed the model from outside itself: the question and the tools' observations,
    except PythonInterpreter's (its output is whatever the model's code printed). ``steps`` are
    committed agent steps (``kind`` and ``data``); URLs in these texts are ``visit``'s sources."""
    texts = [question]
    for step in steps:
        data = getattr(step, "data", None) or {}
        if getattr(step, "kind", "") == "tool" and data.get("name") != "PythonInterpreter":
            texts.append(str(data.get("observation") or ""))
    return texts
