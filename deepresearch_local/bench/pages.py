"""Realistic tool observations for ``bench context``: search results and visited pages in the shapes
(and about the sizes) the real ``search`` and ``visit`` tools return, built from the sentences in
``bench/data/research_script.toml`` by a seeded generator, so every run sees the same text.
"""

from __future__ import annotations

import json
import random
import re
import sys
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

from deepresearch_local.tools.base import Evidence, Tool, ToolContext, ToolRegistry, ToolResult

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

RESULTS_PER_QUERY = 10
PASSAGE_CHARS = (1000, 1450)
"""Each visited page shows 3-4 passages of this many characters (the real visit caps at 6,000)."""


@dataclass(frozen=True)
class Script:
    question: str
    goal: str
    cities: tuple[str, ...]
    sites: tuple[str, ...]
    queries: tuple[str, ...]
    titles: tuple[str, ...]
    sentences: tuple[str, ...]
    summaries: tuple[str, ...]
    thoughts: tuple[str, ...]


@lru_cache(maxsize=1)
def load_script() -> Script:
    text = (
        resources.files("deepresearch_local.bench").joinpath("data/research_script.toml").read_text("utf-8")
    )
    data: dict[str, Any] = tomllib.loads(text)
    return Script(
        question=data["question"],
        goal=data["goal"],
        **{
            k: tuple(data[k])
            for k in ("cities", "sites", "queries", "titles", "sentences", "summaries", "thoughts")
        },
    )


def _rng(*keys: object) -> random.Random:
    """A generator seeded by the keys (stable across processes, unlike ``hash``)."""
    return random.Random(zlib.crc32(json.dumps(keys, default=str).encode("utf-8")))


def _slug(text: str) -> str:
    return "-".join(re.findall(r"[a-z0-9]+", text.lower()))[:60]


@dataclass(frozen=True)
class Page:
    url: str
    title: str
    passages: tuple[tuple[str, str], ...]
    """(location, text) of each passage shown to the model."""
    summary: str


class PageMaker:
    """Seeded search results and pages on the script's topic."""

    def __init__(self, script: Script | None = None, seed: int = 0) -> None:
        self.script = script or load_script()
        self.seed = seed

    def fill(self, template: str, rng: random.Random, city: str | None = None) -> str:
        year = rng.randint(1995, 2021)
        n = rng.randint(1, 20)
        return template.format(
            city=city or rng.choice(self.script.cities),
            station=rng.choice(("central", "university", "airport", "harbour", "observatory")),
            n=n,
            m=n + rng.randint(5, 40),
            year=year,
            year2=year + rng.randint(1, 3),
            delta=f"{rng.uniform(0.5, 4.5):.1f}",
            pct=rng.randint(20, 60),
        )

    def query(self, turn: int) -> str:
        rng = _rng(self.seed, "query", turn)
        return self.fill(self.script.queries[turn % len(self.script.queries)], rng)

    def results(self, query: str) -> list[dict[str, str]]:
        rng = _rng(self.seed, "results", query)
        out = []
        for i in range(RESULTS_PER_QUERY):
            city = rng.choice(self.script.cities)
            title = self.fill(rng.choice(self.script.titles), rng, city)
            body = " ".join(self.fill(rng.choice(self.script.sentences), rng, city) for _ in range(2))
            url = f"https://{rng.choice(self.script.sites)}/{_slug(title)}-{i + 1}"
            out.append({"title": title, "href": url, "body": body})
        return out

    def page(self, url: str) -> Page:
        rng = _rng(self.seed, "page", url)
        city = rng.choice(self.script.cities)
        title = self.fill(rng.choice(self.script.titles), rng, city)
        heading = f"# {title}\n\n"
        offset = len(heading)
        passages = []
        for _ in range(rng.randint(3, 4)):
            size = rng.randint(*PASSAGE_CHARS)
            text = ""
            while len(text) < size:
                text += (" " if text else "") + self.fill(rng.choice(self.script.sentences), rng, city)
            passages.append((f"§ {title}, chars {offset}-{offset + len(text)}", text))
            offset += len(text) + 2 + rng.randint(200, 2000)  # passages not shown lie in between
        summary = self.fill(rng.choice(self.script.summaries), rng, city)
        return Page(url, title, tuple(passages), summary)


class _ScriptedTool:
    """A tool with a real tool's name and schema whose calls are answered by the ``PageMaker``."""

    def __init__(self, real: Tool, pages: PageMaker) -> None:
        self.name = real.name
        self.description = real.description
        self.parameters: Mapping[str, Any] = real.parameters
        self.needs_network = real.needs_network
        self.pages = pages

    def call(self, arguments: Mapping[str, Any], context: ToolContext) -> ToolResult:
        from deepresearch_local.tools.search_format import SEPARATOR, format_results
        from deepresearch_local.tools.visit import shape

        if self.name == "visit":
            urls = arguments.get("url")
            urls = [urls] if isinstance(urls, str) else list(urls or [])
            parts, evidence = [], []
            for url in urls:
                page = self.pages.page(str(url))
                lines = "\n".join(f"[{where}] {text}" for where, text in page.passages)
                parts.append(shape(page.url, str(arguments.get("goal", "")), lines, page.summary))
                evidence += [Evidence(page.url, where, text, page.title) for where, text in page.passages]
            return ToolResult("\n\n".join(parts), evidence, summary=f"visit: read {len(parts)} page(s)")
        if self.name in ("search", "google_scholar"):
            queries = arguments.get("query")
            queries = [queries] if isinstance(queries, str) else list(queries or [])
            blocks = [
                format_results(str(q), self.pages.results(str(q)), scholarly=self.name == "google_scholar")
                for q in queries
            ]
            return ToolResult(SEPARATOR.join(blocks), summary=f"{len(blocks)} queries")
        return ToolResult("stdout:\nFinished execution.", summary="ran code")


def scripted_tools(pages: PageMaker) -> ToolRegistry:
    """The real online tool set (names and schemas as the model sees them), answered by ``pages``."""
    from deepresearch_local.tools.python_sandbox import PythonInterpreter
    from deepresearch_local.tools.search import ScholarTool, SearchSettings, WebSearchTool
    from deepresearch_local.tools.visit import VisitTool

    real: list[Tool] = [
        WebSearchTool(SearchSettings()),
        ScholarTool(SearchSettings()),
        VisitTool(),
        PythonInterpreter(),
    ]
    return ToolRegistry([_ScriptedTool(tool, pages) for tool in real])
