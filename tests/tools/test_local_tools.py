"""local_search, local_read and parse_file over a real library: shapes, evidence, refusals."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from deepresearch_local.library import Library
from deepresearch_local.tools.base import Tool, ToolContext, ToolRegistry, schema_of
from deepresearch_local.tools.local import LocalReadTool, LocalSearchTool, ParseFileTool, local_tools
from tests.library.corpus import Corpus, build, deny_reading

CTX = ToolContext()


@pytest.fixture
def corpus(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Corpus:
    built = build(tmp_path)
    deny_reading(monkeypatch, "locked.txt")
    return built


@pytest.fixture
def library(corpus: Corpus) -> Iterator[Library]:
    with Library() as lib:
        lib.add(corpus.root, "lib")
        yield lib


@pytest.fixture
def tools(library: Library) -> dict[str, Tool]:
    return {t.name: t for t in local_tools(library)}


def test_schemas_and_registry(tools: dict[str, Tool]) -> None:
    assert list(tools) == ["local_search", "local_read", "parse_file"]
    for tool in tools.values():
        assert isinstance(tool, Tool) and tool.needs_network is False and tool.description
    params = {name: schema_of(t)["function"]["parameters"] for name, t in tools.items()}
    assert params["local_search"]["required"] == ["query"]
    assert params["local_search"]["properties"]["query"]["type"] == "array"
    assert params["local_read"]["required"] == ["path"] and "location" in params["local_read"]["properties"]
    assert params["parse_file"]["required"] == ["files"]
    registry = ToolRegistry(tools.values())
    assert registry.names(offline=True) == ["local_search", "local_read", "parse_file"]


def test_search_is_shaped_like_web_search(tools: dict[str, Tool], corpus: Corpus) -> None:
    result = tools["local_search"].call({"query": ["axolotl survey"]}, CTX)
    assert not result.error
    pdf = corpus.root / "report.pdf"
    lines = result.text.splitlines()
    assert lines[0] == "A search of the local library for 'axolotl survey' found 1 results:"
    assert lines[1:4] == ["", "## Library Results", f"1. [Annual report 2024]({pdf}:p. 2)"]
    assert "The axolotl survey counted 42 animals." in lines[4]
    [ev] = result.evidence
    assert (ev.kind, ev.source, ev.location, ev.title) == ("file", str(pdf), "p. 2", "Annual report 2024")
    assert ev.text == lines[4]
    assert result.summary == "1 library results for 'axolotl survey'"


def test_search_merges_several_queries(tools: dict[str, Tool], corpus: Corpus) -> None:
    result = tools["local_search"].call({"query": ["pelican ferry", "narwhal", "zebrafish"]}, CTX)
    header = result.text.splitlines()[0]
    assert header == (
        "A search of the local library for 'pelican ferry', 'narwhal', 'zebrafish' found 3 results "
        "(merged and ranked across the queries):"
    )
    items = re.findall(r"^\d+\. \[(.*?)\]\((.*)\)$", result.text, flags=re.M)
    assert sorted(items) == sorted(
        [
            ("Harbour handbook", f"{corpus.root / 'sub/page.html'}:§ Handbook > Ferries, lines 3-7"),
            ("Quarterly memo", f"{corpus.root / 'memo.docx'}:§ Budget > Travel, lines 3-7"),
            ("Field guide", f"{corpus.root / 'guide.md'}:§ Field guide > Install > Linux, lines 9-12"),
        ]
    )
    assert len(result.evidence) == 3
    # A plain string is accepted as one query.
    assert tools["local_search"].call({"query": "zebrafish"}, CTX).text.count("\n1. [") == 1


def test_search_without_results_or_query(tools: dict[str, Tool]) -> None:
    none = tools["local_search"].call({"query": ["xylophonist"]}, CTX)
    assert (none.error, none.evidence) == (False, [])
    assert none.text.startswith("No results were found in the local library for 'xylophonist'.")
    missing = tools["local_search"].call({}, CTX)
    assert missing.error and missing.text.startswith("local_search needs 'query'")
    assert '{"query": ["how to cache function results", "memoization"]}' in missing.text


def test_empty_library_is_explained() -> None:
    with Library() as empty:
        for tool, args in zip(
            local_tools(empty), ({"query": ["x"]}, {"path": "a.txt"}, {"files": ["a.txt"]})
        ):
            result = tool.call(args, CTX)
            assert result.error and "The local library is empty" in result.text, tool.name
            assert "deepresearch docs add FOLDER" in result.text


def test_read_returns_marked_text_and_evidence(tools: dict[str, Tool], corpus: Corpus) -> None:
    pdf = corpus.root / "report.pdf"
    result = tools["local_read"].call({"path": str(pdf), "location": "p. 2"}, CTX)
    assert not result.error
    lines = result.text.splitlines()
    assert lines[0] == f"# File: {pdf}"
    assert lines[1] == "Title: Annual report 2024 · PDF, 3 pages · showing p. 2"
    assert lines[3:5] == ["[page 2]", "Wildlife"]
    assert lines[-1] == '(Showing p. 2 of 3 pages. Read on with location "p. 3".)'
    [ev] = result.evidence
    assert (ev.source, ev.location, ev.kind) == (str(pdf), "p. 2", "file")
    assert ev.text.startswith("Wildlife\nThe axolotl survey counted 42 animals.")
    assert result.summary == "read p. 2 of report.pdf"


def test_read_evidence_is_verbatim_file_text(tools: dict[str, Tool], corpus: Corpus) -> None:
    result = tools["local_read"].call({"path": "notes.txt", "location": "lines 55-58"}, CTX)
    [ev] = result.evidence
    assert ev.location == "lines 55-58"
    assert ev.text in (corpus.root / "notes.txt").read_text("utf-8")
    assert "57| Line 57: the quokka census ended in a tie." in result.text.splitlines()
    section = tools["local_read"].call({"path": "guide.md", "location": "§ Install"}, CTX)
    assert section.evidence[0].location.startswith("§ Field guide > Install, lines 5-")
    assert section.evidence[0].text in (corpus.root / "guide.md").read_text("utf-8")


@pytest.mark.parametrize(
    "path",
    [
        "../outside/secret.md",
        "OUTSIDE/secret.md",
        "escape.md",
        "/etc/passwd",
        "sub/up/../../outside/secret.md",
    ],
)
def test_read_outside_the_library_is_refused(tools: dict[str, Tool], corpus: Corpus, path: str) -> None:
    path = path.replace("OUTSIDE", str(corpus.outside))
    result = tools["local_read"].call({"path": path}, CTX)
    assert result.error and result.evidence == []
    assert result.text.startswith(f"[local_read] Cannot read {path}: {path} is outside the library folders (")
    assert result.text.endswith("Use local_search to find files in the library.")
    assert "wolverine" not in result.text and "root:" not in result.text


def test_read_failures_are_observations(tools: dict[str, Tool]) -> None:
    corrupt = tools["local_read"].call({"path": "corrupt.pdf"}, CTX)
    assert corrupt.error and corrupt.text.startswith("[local_read] corrupt.pdf could not be read: ")
    assert "not a readable PDF" in corrupt.text
    locked = tools["local_read"].call({"path": "locked.txt"}, CTX)
    assert locked.error and "cannot be read (Permission denied)" in locked.text
    hidden = tools["local_read"].call({"path": ".env"}, CTX)
    assert hidden.error and "hidden or tool file" in hidden.text and "TOKEN" not in hidden.text
    assert tools["local_read"].call({"location": "p. 1"}, CTX).text.startswith("local_read needs 'path'")


def test_parse_file_sections(tools: dict[str, Tool], corpus: Corpus) -> None:
    result = tools["parse_file"].call({"files": ["memo.docx", "../outside/secret.md", "latin1.txt"]}, CTX)
    assert not result.error
    sections = result.text.split("\n\n# File: ")
    assert sections[0].startswith("# File: memo.docx\nTitle: Quarterly memo · Word document")
    assert sections[1].startswith("../outside/secret.md\n[parse_file] Cannot read it: ")
    assert "wolverine" not in result.text
    assert sections[2].startswith("latin1.txt\nTitle: latin1.txt · text, 1 lines")
    assert "Note: not UTF-8: decoded as cp1252" in sections[2]
    assert "1| Crème brûlée à la façon de grand-mère: a dessert recipe." in sections[2]
    assert {ev.source for ev in result.evidence} == {
        str(corpus.root / "memo.docx"),
        str(corpus.root / "latin1.txt"),
    }
    assert result.summary == "parse_file: read 2 of 3 file(s)"
    refused = tools["parse_file"].call({"files": ["/etc/passwd"]}, CTX)
    assert refused.error and refused.evidence == []


def test_tools_never_raise(corpus: Corpus) -> None:
    lib = Library()
    lib.add(corpus.root)
    lib.close()  # every database call now fails
    for tool, args in (
        (LocalSearchTool(lib), {"query": ["x"]}),
        (LocalReadTool(lib), {"path": "notes.txt"}),
        (ParseFileTool(lib), {"files": ["notes.txt"]}),
    ):
        result = tool.call(args, CTX)
        assert result.error and result.text.startswith(f"[{tool.name}] The library could not be used: ")
