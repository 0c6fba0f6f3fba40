"""The local library as agent tools: ``local_search``, ``local_read`` and upstream's ``parse_file``.

Results are shaped like ``search`` (numbered ``i. [title](path:location)`` items with snippets)
and every span handed to the model is also returned as ``Evidence(kind="file")`` with the file's
absolute path, its location and the exact text, so a report's citations can be checked later.
Nothing outside the library folders is ever read: such requests get an observation saying why.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from deepresearch_local.tools.base import Evidence, Tool, ToolContext, ToolResult
from deepresearch_local.tools.texts import load

if TYPE_CHECKING:
    from deepresearch_local.library import Library, ReadResult

READ_CHARS = 12000
"""Text shown per local_read call (about 3,000 tokens)."""
PARSE_CHARS = 24000
"""Text shown per parse_file call, shared between its files."""
RESULTS = 10
MAX_QUERIES = 8


def _texts() -> dict[str, str]:
    return load("local_library")


class LibraryHandle:
    """Opens the library on first use and shares it between the tools."""

    def __init__(self, library: Library | None = None) -> None:
        self._library = library
        self._lock = threading.Lock()

    def get(self) -> Library:
        with self._lock:
            if self._library is None:
                from deepresearch_local.library import Library
                from deepresearch_local.library.embedding.configured import configured_embedder

                self._library = Library()
                self._library.use_embedder(configured_embedder(missing_ok=True))
            return self._library


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        return []
    return [" ".join(str(v).split()) for v in value if isinstance(v, (str, int, float)) and str(v).strip()]


def _quoted(queries: list[str]) -> str:
    return ", ".join(f"'{q}'" for q in queries)


def _evidence(result: ReadResult) -> list[Evidence]:
    return [
        Evidence(
            source=str(result.path), location=str(s.location), text=s.text, title=result.title, kind="file"
        )
        for s in result.spans
    ]


def _body(result: ReadResult) -> str:
    """A read's text with a title line and, when cut, where to continue."""
    from deepresearch_local.library.reading import KIND_NAMES

    kind = KIND_NAMES.get(result.kind, result.kind)
    lines = [f"Title: {result.title} · {kind}, {result.extent()} · showing {result.shown}"]
    lines += [f"Note: {n}" for n in result.notes]
    lines += ["", result.rendered]
    if result.next_location:
        text = _texts()["continue_at"]
        lines += ["", text.format(shown=result.shown, extent=result.extent(), next=result.next_location)]
    return "\n".join(lines)


class _LibraryTool:
    needs_network = False

    def __init__(self, library: Library | LibraryHandle | None = None) -> None:
        self.handle = library if isinstance(library, LibraryHandle) else LibraryHandle(library)

    def _empty(self) -> ToolResult | None:
        if not self.handle.get().folders():
            return ToolResult(_texts()["empty_library"], error=True, summary="local library is empty")
        return None


class LocalSearchTool(_LibraryTool):
    name = "local_search"

    def __init__(self, library: Library | LibraryHandle | None = None, results: int = RESULTS) -> None:
        super().__init__(library)
        self.results = results
        t = _texts()
        self.description = t["search_description"]
        self.parameters: Mapping[str, Any] = {
            "type": "object",
            "properties": {
                "query": {
                    "type": "array",
                    "items": {"type": "string"},
                    "minItems": 1,
                    "description": t["search_query"],
                }
            },
            "required": ["query"],
        }

    def call(self, arguments: Mapping[str, Any], context: ToolContext) -> ToolResult:
        queries = _strings(arguments.get("query"))[:MAX_QUERIES]
        if not queries:
            return ToolResult(_texts()["no_query"], error=True, summary="local_search: no query")
        try:
            empty = self._empty()
            if empty is not None:
                return empty
            hits = self.handle.get().search(queries, k=self.results)
        except Exception as exc:  # a tool never raises
            text = _texts()["failed_internal"].format(tool=self.name, reason=exc)
            return ToolResult(text, error=True, summary="local_search failed")
        if not hits:
            text = _texts()["no_results"].format(queries=_quoted(queries))
            return ToolResult(text, summary=f"no library results for {_quoted(queries)}")
        header = _texts()["results_header"].format(
            queries=_quoted(queries), count=len(hits), merged=_texts()["merged"] if len(queries) > 1 else ""
        )
        items = []
        evidence = []
        for i, hit in enumerate(hits, start=1):
            also = f"\nAlso at: {'; '.join(str(loc) for loc in hit.also_at)}" if hit.also_at else ""
            if hit.also_in:
                also += f"\nSame passage in: {'; '.join(hit.also_in)}"
            items.append(f"{i}. [{hit.title}]({hit.path}:{hit.location})\n{hit.snippet}{also}")
            evidence.append(
                Evidence(
                    source=hit.path,
                    location=str(hit.location),
                    text=hit.snippet,
                    title=hit.title,
                    kind="file",
                )
            )
        text = f"{header}\n\n## Library Results\n" + "\n\n".join(items)
        return ToolResult(
            text, evidence=evidence, summary=f"{len(hits)} library results for {_quoted(queries)}"
        )


class LocalReadTool(_LibraryTool):
    name = "local_read"

    def __init__(self, library: Library | LibraryHandle | None = None, max_chars: int = READ_CHARS) -> None:
        super().__init__(library)
        self.max_chars = max_chars
        t = _texts()
        self.description = t["read_description"]
        self.parameters: Mapping[str, Any] = {
            "type": "object",
            "properties": {
                "path": {"type": "string", "description": t["read_path"]},
                "location": {"type": "string", "description": t["read_location"]},
            },
            "required": ["path"],
        }

    def call(self, arguments: Mapping[str, Any], context: ToolContext) -> ToolResult:
        paths = _strings(arguments.get("path"))
        if not paths:
            return ToolResult(_texts()["no_path"], error=True, summary="local_read: no path")
        location = " ".join(str(arguments.get("location") or "").split()) or None
        from deepresearch_local.library import LibraryError, NotInLibrary

        try:
            empty = self._empty()
            if empty is not None:
                return empty
            result = self.handle.get().read(paths[0], location, self.max_chars)
        except NotInLibrary as exc:
            text = _texts()["refused"].format(path=paths[0], reason=exc)
            return ToolResult(text, error=True, summary=f"local_read refused {paths[0]}")
        except LibraryError as exc:
            text = _texts()["unreadable"].format(path=paths[0], reason=exc)
            return ToolResult(text, error=True, summary=f"local_read could not read {paths[0]}")
        except Exception as exc:
            text = _texts()["failed_internal"].format(tool=self.name, reason=exc)
            return ToolResult(text, error=True, summary="local_read failed")
        text = f"# File: {result.path}\n{_body(result)}"
        return ToolResult(
            text, evidence=_evidence(result), summary=f"read {result.shown} of {result.path.name}"
        )


class ParseFileTool(_LibraryTool):
    """Upstream's ``parse_file``, served by the library's readers for files in the library."""

    name = "parse_file"

    def __init__(self, library: Library | LibraryHandle | None = None, max_chars: int = PARSE_CHARS) -> None:
        super().__init__(library)
        self.max_chars = max_chars
        t = _texts()
        self.description = t["parse_description"]
        self.parameters: Mapping[str, Any] = {
            "type": "object",
            "properties": {
                "files": {
                    "type": "array",
                    "items": {"type": "string"},
                    "minItems": 1,
                    "description": t["parse_files"],
                }
            },
            "required": ["files"],
        }

    def call(self, arguments: Mapping[str, Any], context: ToolContext) -> ToolResult:
        files = _strings(arguments.get("files"))[:MAX_QUERIES]
        if not files:
            return ToolResult(_texts()["no_files"], error=True, summary="parse_file: no files")
        from deepresearch_local.library import LibraryError, NotInLibrary

        try:
            empty = self._empty()
        except Exception as exc:
            text = _texts()["failed_internal"].format(tool=self.name, reason=exc)
            return ToolResult(text, error=True, summary="parse_file failed")
        if empty is not None:
            return empty
        result = ToolResult("")
        sections = []
        ok = 0
        budget = max(self.max_chars // len(files), 2000)
        for name in files:
            try:
                read = self.handle.get().read(name, None, budget)
            except NotInLibrary as exc:
                sections.append(f"# File: {name}\n[parse_file] Cannot read it: {exc}")
                continue
            except LibraryError as exc:
                sections.append(f"# File: {name}\n[parse_file] It could not be read: {exc}")
                continue
            sections.append(f"# File: {name}\n{_body(read)}")
            result.evidence.extend(_evidence(read))
            ok += 1
        result.text = "\n\n".join(sections)
        result.error = ok == 0
        result.summary = f"parse_file: read {ok} of {len(files)} file(s)"
        return result


def local_tools(library: Library | None = None) -> list[Tool]:
    """The three library tools, sharing one library (opened on first use when not given)."""
    handle = LibraryHandle(library)
    return [LocalSearchTool(handle), LocalReadTool(handle), ParseFileTool(handle)]
