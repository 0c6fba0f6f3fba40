"""Small deterministic tools for agent-loop tests, shaped like upstream's ``search``, ``visit``,
``PythonInterpreter`` and ``parse_file``. Each records the arguments it was called with."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from deepresearch_local.tools.base import Evidence, NetworkEvent, ToolContext, ToolRegistry, ToolResult


def _as_list(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def slug(text: str) -> str:
    return "-".join("".join(c if c.isalnum() else " " for c in text.lower()).split())[:60] or "q"


class SearchTool:
    """Three numbered results per query; each result is evidence (URL + snippet)."""

    name = "search"
    description = "Search the web. Returns numbered results with title, URL and snippet."
    parameters: Mapping[str, Any] = {
        "type": "object",
        "properties": {"query": {"type": "array", "items": {"type": "string"}, "minItems": 1}},
        "required": ["query"],
    }
    needs_network = True

    def __init__(self, results: int = 3) -> None:
        self.results = results
        self.calls: list[dict[str, Any]] = []

    def call(self, arguments: Mapping[str, Any], context: ToolContext) -> ToolResult:
        self.calls.append(dict(arguments))
        blocks: list[str] = []
        evidence: list[Evidence] = []
        for query in _as_list(arguments["query"]):
            lines = [f"A search for '{query}' found {self.results} results:"]
            for i in range(1, self.results + 1):
                url = f"https://example.test/{slug(query)}/{i}"
                snippet = f"Result {i} for {query}: an article that discusses {query} in detail."
                lines.append(f"{i}. [{query} ({i})]({url})\n{snippet}")
                evidence.append(Evidence(url, "search snippet", snippet, title=f"{query} ({i})"))
            blocks.append("\n".join(lines))
        network = [NetworkEvent("search", q, self.name) for q in _as_list(arguments["query"])]
        return ToolResult(
            "\n=======\n".join(blocks),
            evidence,
            network,
            summary=f"{self.results} results for {len(blocks)} queries",
        )


def page_text(url: str, words: int) -> str:
    """A page of about ``2 * words`` scripted-engine tokens, in numbered paragraphs."""
    out: list[str] = []
    n = 0
    while sum(len(p.split()) for p in out) < words:
        n += 1
        out.append(f"Paragraph {n} of {url} says that measurement {n} was recorded on site number {n}.")
    return "\n".join(out)


class VisitTool:
    """Returns a page-sized text (``words`` words; ``long_words`` for URLs with "long" in them)
    for each URL, with the page as evidence."""

    name = "visit"
    description = "Read web pages and return what they say about the goal."
    parameters: Mapping[str, Any] = {
        "type": "object",
        "properties": {
            "url": {"type": ["string", "array"], "items": {"type": "string"}},
            "goal": {"type": "string"},
        },
        "required": ["url", "goal"],
    }
    needs_network = True

    def __init__(self, words: int = 1500, long_words: int = 6000) -> None:
        self.words = words
        self.long_words = long_words
        self.calls: list[dict[str, Any]] = []

    def call(self, arguments: Mapping[str, Any], context: ToolContext) -> ToolResult:
        self.calls.append(dict(arguments))
        parts: list[str] = []
        evidence: list[Evidence] = []
        for url in _as_list(arguments["url"]):
            text = page_text(url, self.long_words if "long" in url else self.words)
            parts.append(f"The useful information in {url} for the goal:\n{text}")
            evidence.append(Evidence(url, f"chars 0-{len(text)}", text, title=f"Page {url}"))
        return ToolResult("\n\n".join(parts), evidence, summary=f"read {len(parts)} page(s)")


class PythonTool:
    """Stands in for the sandbox: records the code and reports its size."""

    name = "PythonInterpreter"
    description = "Run Python code given between <code> and </code> inside the tool call."
    parameters: Mapping[str, Any] = {"type": "object", "properties": {}, "required": []}
    needs_network = False

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def call(self, arguments: Mapping[str, Any], context: ToolContext) -> ToolResult:
        self.calls.append(dict(arguments))
        code = str(arguments.get("code", ""))
        return ToolResult(f"stdout:\nran {len(code)} characters of code\n", summary="ran code")


class ParseFileTool:
    """A tool with a required array argument and local (offline) evidence."""

    name = "parse_file"
    description = "Read local files."
    parameters: Mapping[str, Any] = {
        "type": "object",
        "properties": {"files": {"type": "array", "items": {"type": "string"}}},
        "required": ["files"],
    }
    needs_network = False

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def call(self, arguments: Mapping[str, Any], context: ToolContext) -> ToolResult:
        self.calls.append(dict(arguments))
        names = _as_list(arguments["files"])
        text = "\n".join(f"# File: {n}\nThe file {n} states the boiling point is 100 C." for n in names)
        evidence = [
            Evidence(
                f"/docs/{n}", "lines 1-2", f"The file {n} states the boiling point is 100 C.", kind="file"
            )
            for n in names
        ]
        return ToolResult(text, evidence, summary=f"read {len(names)} file(s)")


class BrokenTool:
    """A tool with a bug: every call raises."""

    name = "flaky"
    description = "A tool that always fails."
    parameters: Mapping[str, Any] = {"type": "object", "properties": {}, "required": []}
    needs_network = False

    def call(self, arguments: Mapping[str, Any], context: ToolContext) -> ToolResult:
        raise RuntimeError("the flaky backend exploded")


def registry(*, visit_words: int = 1500) -> ToolRegistry:
    return ToolRegistry([SearchTool(), VisitTool(visit_words), PythonTool(), ParseFileTool(), BrokenTool()])
