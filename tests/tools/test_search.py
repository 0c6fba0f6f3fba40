"""Web and scholarly search: ddgs replaced by recorded results, every failure path, backoff, cache."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
from ddgs.exceptions import DDGSException, RatelimitException, TimeoutException

from deepresearch_local.paths import get_paths
from deepresearch_local.tools.base import ToolContext
from deepresearch_local.tools.search import (
    ScholarTool,
    SearchSettings,
    WebSearchTool,
    classify_error,
    region_for,
    script_of,
)
from deepresearch_local.tools.search_format import SEPARATOR

FIXTURES = Path(__file__).parent / "fixtures" / "search"
WEB: dict[str, list[dict[str, str]]] = json.loads((FIXTURES / "web.json").read_text(encoding="utf-8"))
SCHOLAR: dict[str, list[dict[str, str]]] = json.loads((FIXTURES / "scholar.json").read_text(encoding="utf-8"))

Step = list[dict[str, str]] | BaseException


class Replay:
    """Stands in for ddgs.DDGS: answers from recorded results, or raises the scripted failures first."""

    def __init__(
        self, recorded: Mapping[str, list[dict[str, str]]], failures: Mapping[str, Sequence[Step]] = {}
    ):
        self.recorded = recorded
        self.failures = {q: list(steps) for q, steps in failures.items()}
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def text(self, query: str, **kwargs: Any) -> list[dict[str, str]]:
        self.calls.append((query, kwargs))
        steps = self.failures.get(query)
        if steps:
            step = steps.pop(0)
            if isinstance(step, BaseException):
                raise step
            return step
        return [dict(r) for r in self.recorded.get(query, [])]


class Harness:
    def __init__(self, tool_cls: type[WebSearchTool], replay: Replay, **settings: Any) -> None:
        self.replay = replay
        self.sleeps: list[float] = []
        self.now = 1_700_000_000.0
        self.tool = tool_cls(
            SearchSettings(**settings),
            client_factory=lambda _s: replay,
            sleep=self.sleeps.append,
            clock=lambda: self.now,
        )

    def __call__(self, *queries: str, offline: bool = False) -> Any:
        return self.tool.call({"query": list(queries)}, ToolContext(offline=offline))


def web_block(query: str, results: Sequence[Mapping[str, str]]) -> str:
    items = "\n\n".join(
        f"{i}. [{r['title']}]({r['href']})\n{r['body']}" for i, r in enumerate(results, start=1)
    )
    return f"A web search for '{query}' returned {len(results)} results:\n\n## Web Results\n{items}"


def test_results_in_upstream_shape_for_several_queries() -> None:
    h = Harness(WebSearchTool, Replay(WEB))
    result = h("tidal power bay of fundy", "潮汐能 芬迪湾")
    fundy = WEB["tidal power bay of fundy"]
    expected_first = web_block(
        "tidal power bay of fundy",
        [fundy[0], fundy[1], {**fundy[2], "body": "The Bay of Fundy has the highest tides in the world."}],
    )
    assert result.text == expected_first + SEPARATOR + web_block("潮汐能 芬迪湾", WEB["潮汐能 芬迪湾"])
    assert result.text.startswith(
        "A web search for 'tidal power bay of fundy' returned 3 results:\n\n## Web Results\n1. ["
    )
    assert not result.error
    assert result.summary == "search: 2 of 2 queries answered"
    assert [(e.kind, e.target, e.tool, e.ok) for e in result.network] == [
        ("search", "tidal power bay of fundy", "search", True),
        ("search", "潮汐能 芬迪湾", "search", True),
    ]
    assert [c[1]["region"] for c in h.replay.calls] == ["wt-wt", "cn-zh"]
    assert h.replay.calls[0][1]["max_results"] == 10
    assert h.sleeps == []


def test_region_follows_the_script_and_is_configurable() -> None:
    auto = SearchSettings()
    assert region_for("tidal power", auto) == "wt-wt"
    assert region_for("潮汐发电站", auto) == "cn-zh"
    assert region_for("潮力発電 の 歴史", auto) == "jp-jp"
    assert region_for("조력 발전", auto) == "kr-kr"
    assert region_for("приливная электростанция", auto) == "ru-ru"
    assert script_of("Fundy 潮汐") == "han"
    assert region_for("潮汐发电站", SearchSettings(regions={"han": "tw-tzh", "other": "us-en"})) == "tw-tzh"
    assert region_for("tidal", SearchSettings(regions={"han": "tw-tzh", "other": "us-en"})) == "us-en"
    assert region_for("潮汐发电站", SearchSettings(region="de-de")) == "de-de"


def test_rate_limit_backs_off_then_tells_the_model_to_use_local_tools() -> None:
    ratelimited = [DDGSException("https://html.duckduckgo.com/html 202 Ratelimit")] * 3
    h = Harness(WebSearchTool, Replay(WEB, {"tidal power bay of fundy": ratelimited}))
    result = h("tidal power bay of fundy", "潮汐能 芬迪湾")
    assert h.sleeps == [2.0, 4.0]
    first, second = result.text.split(SEPARATOR)
    assert first.startswith(
        "The search for 'tidal power bay of fundy' could not be run. Web search is rate-limited"
    )
    assert "local_search" in first and "local_read" in first
    assert second.startswith("The search for '潮汐能 芬迪湾' could not be run. This query was not sent")
    assert [c[0] for c in h.replay.calls] == ["tidal power bay of fundy"] * 3  # the second was never sent
    assert result.error
    assert [(e.target, e.ok) for e in result.network] == [("tidal power bay of fundy", False)]
    assert result.network[0].detail.startswith(
        "rate_limited; 3 attempt(s); region wt-wt; via ddgs; DDGSException: "
    )


def test_timeout_is_retried_with_exponential_backoff() -> None:
    steps: list[Step] = [TimeoutException("timed out"), TimeoutError("read timed out")]
    h = Harness(
        WebSearchTool, Replay(WEB, {"tidal power bay of fundy": steps}), backoff_seconds=0.5, attempts=4
    )
    result = h("tidal power bay of fundy")
    assert h.sleeps == [0.5, 1.0]
    assert result.text.startswith("A web search for 'tidal power bay of fundy' returned 3 results:")
    assert result.network[0].detail == "ok; 3 attempt(s); region wt-wt; via ddgs"


def test_timeouts_on_every_attempt_end_in_a_failure_observation() -> None:
    steps: list[Step] = [TimeoutException("timed out")] * 2
    h = Harness(WebSearchTool, Replay(WEB, {"q": steps}), attempts=2, backoff_seconds=1.0)
    result = h("q")
    assert h.sleeps == [1.0]
    assert result.text.startswith(
        "The search for 'q' could not be run. Web search failed (TimeoutException: timed out)."
    )
    assert result.error


def test_other_ddgs_errors_are_reported_with_their_reason() -> None:
    steps: list[Step] = [DDGSException("engine exploded")] * 3
    h = Harness(WebSearchTool, Replay(WEB, {"q": steps}))
    result = h("q")
    assert "Web search failed (DDGSException: engine exploded)." in result.text
    assert h.sleeps == [2.0, 4.0]


@pytest.mark.parametrize("empty", [[], DDGSException("No results found.")])
def test_empty_results_give_the_no_results_line_without_retrying(empty: Step) -> None:
    h = Harness(WebSearchTool, Replay({}, {"xqzv tidal": [empty]}))
    result = h("xqzv tidal")
    assert result.text == "No results were found for 'xqzv tidal'. Try a shorter or more general query."
    assert h.sleeps == [] and len(h.replay.calls) == 1
    assert not result.error  # an empty answer is an answer


def test_cache_answers_repeated_queries_and_works_offline() -> None:
    h = Harness(WebSearchTool, Replay(WEB))
    online = h("tidal power bay of fundy")
    assert (get_paths().cache_dir / "web.sqlite3").is_file()
    again = h("  Tidal power   Bay of Fundy ")  # same query, other spacing and case
    assert len(h.replay.calls) == 1 and again.network == []
    assert again.text.split("\n", 1)[1] == online.text.split("\n", 1)[1]

    offline = Harness(WebSearchTool, Replay({}, {"tidal power bay of fundy": [RuntimeError("network used")]}))
    result = offline("tidal power bay of fundy", offline=True)
    assert offline.replay.calls == [] and result.network == []
    header, rest = result.text.split("\n", 1)
    assert header == "A web search for 'tidal power bay of fundy' returned 3 results:"
    assert rest.startswith("(cached on ") and rest.split("\n", 1)[0].endswith("; offline)")
    assert not result.error


def test_offline_without_cache_points_to_local_tools() -> None:
    h = Harness(WebSearchTool, Replay(WEB))
    result = h("never asked before", offline=True)
    assert result.text == (
        "The search for 'never asked before' could not be run. Web search is not available: this session is "
        "offline (no connection may leave the machine). To work with the user's own documents instead, use "
        "local_search (search the indexed folders) and local_read (read a file or a part of it). "
        "Web search may work again later."
    )
    assert result.error and h.replay.calls == [] and result.network == []


def test_expired_cache_is_refreshed_and_served_stale_when_the_refresh_fails() -> None:
    replay = Replay(WEB)
    h = Harness(WebSearchTool, replay, cache_ttl_seconds=3600)
    h("tidal power bay of fundy")
    h.now += 7200
    h("tidal power bay of fundy")
    assert len(replay.calls) == 2  # expired: asked again
    h.now += 7200
    replay.failures["tidal power bay of fundy"] = [RatelimitException("429 Too Many Requests")] * 3
    stale = h("tidal power bay of fundy")
    assert len(replay.calls) == 5
    assert stale.text.split("\n")[1].startswith("(cached on ")
    assert "a fresh search failed: RatelimitException: 429 Too Many Requests)" in stale.text
    assert "1. [Annapolis Royal Generating Station - Wikipedia]" in stale.text
    assert not stale.error and not stale.network[0].ok


def test_scholar_keeps_scholarly_sources_in_the_same_shape() -> None:
    h = Harness(ScholarTool, Replay(SCHOLAR))
    result = h("tidal stream turbine fish collision")
    assert result.text == (
        "A scholarly search for 'tidal stream turbine fish collision' returned 3 results:\n"
        "(ddgs has no scholarly search: these are its web results from scholarly sources "
        "(journals, preprint servers, universities))\n\n"
        "## Scholar Results\n"
        "1. [Fish collision risk with tidal stream turbines](https://arxiv.org/abs/2105.01234)\n"
        "Source: arxiv.org · Year: 2021\n"
        "We estimate collision probabilities for fish passing an in-stream turbine.\n\n"
        "2. [Marine animal interactions with tidal turbines: a review]"
        "(https://www.sciencedirect.com/science/article/pii/S1364032120300000)\n"
        "Source: sciencedirect.com · Year: 2020\n"
        "A review of monitoring studies at tidal energy test sites.\n\n"
        "3. [Tidal fish study at MIT](https://news.mit.edu/2021/tidal-fish)\n"
        "Source: news.mit.edu\n"
        "Researchers studied fish."
    )
    assert h.replay.calls[0][1]["max_results"] == 30
    assert [(e.tool, e.target) for e in result.network] == [
        ("google_scholar", "tidal stream turbine fish collision")
    ]
    assert h.tool.name == "google_scholar" and h.tool.needs_network


def test_scholar_without_scholarly_sources_says_so() -> None:
    result = Harness(ScholarTool, Replay(SCHOLAR))("cat pictures")
    assert result.text.startswith("No scholarly results were found for 'cat pictures'.")
    assert "use search for general web results" in result.text


def test_bad_arguments_become_observations() -> None:
    h = Harness(WebSearchTool, Replay(WEB))
    missing = h.tool.call({}, ToolContext())
    assert missing.error and missing.text.startswith(
        "search needs 'query': a list of one or more search strings"
    )
    single = h.tool.call({"query": "tidal power bay of fundy"}, ToolContext())
    assert single.text.startswith("A web search for 'tidal power bay of fundy' returned 3 results:")


def test_too_many_queries_are_listed_as_not_run() -> None:
    h = Harness(WebSearchTool, Replay(WEB), max_queries=1)
    result = h("tidal power bay of fundy", "潮汐能 芬迪湾")
    assert result.text.split(SEPARATOR)[1] == "The query '潮汐能 芬迪湾' was not run: at most 1 per call."
    assert len(h.replay.calls) == 1


def test_error_classification() -> None:
    assert classify_error(DDGSException("No results found.")) == "no_results"
    assert classify_error(RatelimitException("x")) == "rate_limited"
    assert classify_error(DDGSException("https://lite.duckduckgo.com/lite/ 202 Ratelimit")) == "rate_limited"
    assert classify_error(TimeoutException("x")) == "timeout"
    assert classify_error(DDGSException("ConnectError: [Errno -3] Temporary failure in name resolution")) == (
        "no_network"
    )
    assert classify_error(ValueError("odd")) == "error"


def test_no_network_is_reported_as_such() -> None:
    steps: list[Step] = [DDGSException("ConnectError: Network is unreachable")] * 3
    result = Harness(WebSearchTool, Replay({}, {"q": steps}))("q")
    assert "the machine seems to have no network connection (DDGSException: ConnectError" in result.text


def test_privacy_guard_keeps_verbatim_local_text_out_of_queries() -> None:
    private = (
        "the merger of the Lisbon subsidiary will be announced to the works council on the ninth of March "
        "before the press release goes out"
    )
    h = Harness(WebSearchTool, Replay(WEB))
    leaky = " ".join(private.split()[2:16])
    context = ToolContext(local_texts=lambda: ["notes on gardening", private])
    result = h.tool.call({"query": [leaky, "tidal power bay of fundy"]}, context)
    refused, answered = result.text.split(SEPARATOR)
    assert refused.startswith("[Privacy guard] This query was not sent: it repeats 14 consecutive words")
    assert answered.startswith("A web search for 'tidal power bay of fundy' returned 3 results:")
    assert [c[0] for c in h.replay.calls] == ["tidal power bay of fundy"]
    assert [(e.target, e.ok) for e in result.network] == [(leaky, False), ("tidal power bay of fundy", True)]
