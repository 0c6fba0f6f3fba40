"""Every search provider against a loopback server speaking its documented JSON: the request it
sends, the results the model reads, and each failure (429 with Retry-After, a refused key, 5xx,
malformed JSON, a silent server) ending in a clear observation. The privacy guard and the
outbound log cover every provider."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from deepresearch_local.tools.base import ToolContext, ToolResult
from deepresearch_local.tools.providers import ProviderConfig
from deepresearch_local.tools.search import ScholarTool, SearchSettings, WebSearchTool
from deepresearch_local.tools.search_format import SEPARATOR
from tests.tools.search_server import Reply, Request, SearchServer, search_server_fixture  # noqa: F401

KEY = "sk-test-0123456789abcdef"
QUERY = "tidal power bay of fundy"
HITS = [
    (
        "Annapolis Royal Generating Station",
        "https://en.wikipedia.org/wiki/Annapolis_Royal",
        "A 20 MW tidal plant.",
    ),
    ("Bay of Fundy tides", "https://www.bayoffundy.com/about/highest-tides/", "Tides of up to 16 metres."),
]
PAPERS = [
    ("In-stream tidal turbines at FORCE", "https://arxiv.org/abs/2105.01234", "Turbine trials.", "2021", 42),
    ("Fish and tidal turbines", "https://www.nature.com/articles/s41598-020-1", "Collision risk.", "2020", 7),
]


def searxng_answer(request: Request) -> Reply:
    science = request.query.get("categories") == "science"
    rows: list[tuple[Any, ...]] = list(PAPERS if science else HITS)
    results = [
        {"title": r[0], "url": r[1], "content": r[2], "engine": "arxiv" if science else "duckduckgo",
         "engines": ["duckduckgo"], "score": 1.0, "category": "science" if science else "general",
         **({"publishedDate": f"{r[3]}-05-01T00:00:00", "journal": "Renewable Energy"} if science else {})}
        for r in rows
    ]  # fmt: skip
    return Reply(body={"query": request.query.get("q"), "number_of_results": 0, "results": results,
                       "answers": [], "suggestions": [], "unresponsive_engines": []})  # fmt: skip


def serper_answer(request: Request) -> Reply:
    if request.path == "/scholar":
        organic: list[dict[str, Any]] = [
            {"title": p[0], "link": p[1], "snippet": p[2], "year": int(p[3]), "citedBy": p[4],
             "publicationInfo": f"A Author - Journal of Tides, {p[3]} - {p[1].split('/')[2]}", "id": "x"}
            for p in PAPERS
        ]  # fmt: skip
    else:
        organic = [
            {"title": h[0], "link": h[1], "snippet": h[2], "position": i} for i, h in enumerate(HITS, 1)
        ]
        organic[0]["date"] = "Mar 3, 2023"
    return Reply(body={"searchParameters": request.body, "organic": organic, "credits": 1})


def brave_answer(request: Request) -> Reply:
    results = [{"title": h[0], "url": h[1], "description": h[2], "type": "search_result"}
               for h in HITS + [p[:3] for p in PAPERS]]  # fmt: skip
    results[0].update(page_age="2023-03-03T00:00:00", age="March 3, 2023")
    return Reply(body={"type": "search", "query": {"original": request.query.get("q")},
                       "web": {"type": "search", "results": results}})  # fmt: skip


def tavily_answer(request: Request) -> Reply:
    results = [{"title": h[0], "url": h[1], "content": h[2], "score": 0.9 - i / 10}
               for i, h in enumerate(HITS + [p[:3] for p in PAPERS])]  # fmt: skip
    return Reply(body={"query": (request.body or {}).get("query"), "answer": None, "images": [],
                       "results": results, "response_time": 0.4})  # fmt: skip


@dataclass(frozen=True)
class Case:
    name: str
    answer: Callable[[Request], Reply]
    method: str
    path: str
    label: str

    def config(self, server: SearchServer, *, key: str = KEY, timeout: float = 5.0) -> ProviderConfig:
        return ProviderConfig(self.name, url=server.base, api_key="" if self.name == "searxng" else key,
                              timeout=timeout)  # fmt: skip

    def query_of(self, request: Request) -> str:
        if self.method == "GET":
            return request.query["q"]
        body = request.body or {}
        return str(body.get("q") or body.get("query"))

    def key_of(self, request: Request) -> str:
        header = {"serper": "x-api-key", "brave": "x-subscription-token", "tavily": "authorization"}
        return request.headers.get(header.get(self.name, ""), "").removeprefix("Bearer ")


CASES = [
    Case("searxng", searxng_answer, "GET", "/search", "SearXNG at 127.0.0.1"),
    Case("serper", serper_answer, "POST", "/search", "Serper at http://127.0.0.1"),
    Case("brave", brave_answer, "GET", "/res/v1/web/search", "Brave Search at http://127.0.0.1"),
    Case("tavily", tavily_answer, "POST", "/search", "Tavily at http://127.0.0.1"),
]
IDS = [c.name for c in CASES]


class Run:
    def __init__(self, case: Case, server: SearchServer, tool: type[WebSearchTool] = WebSearchTool,
                 **settings: Any) -> None:  # fmt: skip
        server.answer = case.answer
        self.case, self.server, self.sleeps = case, server, list[float]()
        timeout = settings.pop("timeout", 5.0)
        self.tool = tool(
            SearchSettings(provider=case.config(server, timeout=timeout), **settings),
            sleep=self.sleeps.append,
        )

    def __call__(self, *queries: str, context: ToolContext | None = None) -> ToolResult:
        return self.tool.call({"query": list(queries)}, context or ToolContext())


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_results_read_the_same_from_every_provider(case: Case, search_server: SearchServer) -> None:
    run = Run(case, search_server)
    result = run(QUERY)
    assert not result.error, result.text
    lines = result.text.split("\n")
    assert (
        lines[0]
        == f"A web search for '{QUERY}' returned {2 if case.name in ('searxng', 'serper') else 4} results:"
    )
    assert lines[2] == "## Web Results"
    assert lines[3] == f"1. [{HITS[0][0]}]({HITS[0][1]})"
    if case.name in ("serper", "brave"):
        assert lines[4] == f"Date published: {'Mar 3, 2023' if case.name == 'serper' else '2023-03-03'}"
    assert f"2. [{HITS[1][0]}]({HITS[1][1]})\n{HITS[1][2]}" in result.text
    (request,) = search_server.requests
    assert (request.method, request.path) == (case.method, case.path)
    assert case.query_of(request) == QUERY
    if case.name == "searxng":
        assert request.query["format"] == "json"
    else:
        assert case.key_of(request) == KEY
    # The outbound log has the query, the provider and the outcome, never the key.
    (event,) = result.network
    assert (event.kind, event.target, event.tool, event.ok) == ("search", QUERY, "search", True)
    assert event.detail.startswith("ok; 1 attempt(s); region wt-wt; via " + case.label)
    assert KEY not in event.detail and KEY not in result.text


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_rate_limit_waits_as_asked_then_answers(case: Case, search_server: SearchServer) -> None:
    limited = Reply(429, {"message": "Too many requests"}, {"Retry-After": "3"})
    search_server.script = [limited, Reply(429, {"message": "slow down"}, {"Retry-After": "1"})]
    run = Run(case, search_server)
    result = run(QUERY)
    assert run.sleeps == [3.0, 1.0]  # the server's Retry-After, not the exponential backoff
    assert len(search_server.requests) == 3
    assert result.text.startswith(f"A web search for '{QUERY}' returned")
    assert result.network[0].detail.startswith("ok; 3 attempt(s)")


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_a_rate_limit_longer_than_the_wait_limit_is_reported(case: Case, search_server: SearchServer) -> None:
    search_server.script = [Reply(429, "", {"Retry-After": "600"})] * 3
    run = Run(case, search_server)
    result = run(QUERY, "潮汐能 芬迪湾")
    assert run.sleeps == [] and len(search_server.requests) == 1  # never waits 10 minutes, never hammers
    first, second = result.text.split(SEPARATOR)
    assert first.startswith(
        f"The search for '{QUERY}' could not be run. Web search is rate-limited right now ("
    )
    assert "HTTP 429" in first and "asked to wait 600 s more" in first
    assert "local_search" in first
    assert second.startswith("The search for '潮汐能 芬迪湾' could not be run. This query was not sent")
    assert result.error and [e.ok for e in result.network] == [False]


def test_brave_rate_limit_headers_are_honoured(search_server: SearchServer) -> None:
    """Brave's 429 says when its windows reset (per second, per month) instead of Retry-After."""
    search_server.script = [Reply(429, {"type": "ErrorResponse"}, {"X-RateLimit-Reset": "1, 1419704"})]
    run = Run(CASES[2], search_server)
    result = run(QUERY)
    assert run.sleeps == [1.0] and not result.error


@pytest.mark.parametrize("case", CASES, ids=IDS)
@pytest.mark.parametrize("status", [401, 403])
def test_a_refused_key_is_not_retried_and_says_so(
    case: Case, status: int, search_server: SearchServer
) -> None:
    search_server.script = [Reply(status, {"message": "Invalid API key"})]
    run = Run(case, search_server)
    result = run(QUERY, "second query")
    assert len(search_server.requests) == 1 and run.sleeps == []
    first, second = result.text.split(SEPARATOR)
    assert first.startswith(
        f"The search for '{QUERY}' could not be run. The search provider refused this app's access ("
    )
    assert f"answered HTTP {status} (Invalid API key)" in first
    assert first.endswith(
        "Retrying will not help: the user has to fix the search settings (deepresearch doctor)."
    )
    assert "This query was not sent" in second
    assert result.error and KEY not in result.text


def test_searxng_403_says_how_to_enable_json(search_server: SearchServer) -> None:
    search_server.script = [Reply(403, "<html>Forbidden</html>")]
    result = Run(CASES[0], search_server)(QUERY)
    assert "search.formats (html, json)" in result.text and "server.limiter: false" in result.text


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_server_errors_are_retried_with_backoff_then_reported(
    case: Case, search_server: SearchServer
) -> None:
    search_server.script = [Reply(502, "Bad Gateway")] * 3
    run = Run(case, search_server)
    result = run(QUERY)
    assert run.sleeps == [2.0, 4.0] and len(search_server.requests) == 3
    assert result.text.startswith(f"The search for '{QUERY}' could not be run. Web search failed (")
    assert "answered HTTP 502 (Bad Gateway)" in result.text
    assert result.network[0].detail.startswith("error; 3 attempt(s)") and not result.network[0].ok


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_malformed_json_becomes_an_observation(case: Case, search_server: SearchServer) -> None:
    search_server.script = [Reply(200, "<html>captcha</html>")] + [Reply(200, '{"results": "nope"')] * 2
    run = Run(case, search_server, backoff_seconds=0.0)
    result = run(QUERY)
    assert result.error and "Web search failed (" in result.text
    assert "sent an answer that is not JSON" in result.text


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_json_of_the_wrong_shape_becomes_an_observation(case: Case, search_server: SearchServer) -> None:
    wrong = {"results": "x", "organic": {"a": 1}, "web": {"results": 3}}
    search_server.script = [Reply(200, wrong)] * 3
    result = Run(case, search_server, backoff_seconds=0.0)(QUERY)
    assert result.error and "sent JSON of an unexpected shape" in result.text


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_empty_results_are_an_answer(case: Case, search_server: SearchServer) -> None:
    empties: dict[str, dict[str, Any]] = {
        "searxng": {"results": []}, "serper": {"organic": []}, "brave": {"type": "search"},
        "tavily": {"results": []},
    }  # fmt: skip
    empty = empties[case.name]
    search_server.script = [Reply(200, empty)]
    result = Run(case, search_server)(QUERY)
    assert result.text == f"No results were found for '{QUERY}'. Try a shorter or more general query."
    assert not result.error and len(search_server.requests) == 1


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_a_silent_server_times_out_into_an_observation(case: Case, search_server: SearchServer) -> None:
    search_server.script = [Reply(hang=True)]
    result = Run(case, search_server, timeout=0.5, attempts=1)(QUERY)
    assert result.text.startswith(f"The search for '{QUERY}' could not be run. Web search failed (")
    assert "did not answer within 0.5 s" in result.text
    assert result.network[0].detail.startswith("timeout; 1 attempt(s)")


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_an_unreachable_provider_is_no_network(case: Case, search_server: SearchServer) -> None:
    run = Run(case, search_server)
    run.tool.settings = SearchSettings(
        provider=ProviderConfig(case.name, url="http://127.0.0.1:9", api_key=KEY)
    )
    result = run(QUERY)
    assert "the machine seems to have no network connection (cannot reach" in result.text


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_the_privacy_guard_covers_every_provider(case: Case, search_server: SearchServer) -> None:
    private = (
        "the merger of the Lisbon subsidiary will be announced to the works council on the ninth of March "
        "before the press release goes out"
    )
    leaky = " ".join(private.split()[2:16])
    run = Run(case, search_server)
    result = run(leaky, QUERY, context=ToolContext(local_texts=lambda: ["notes on gardening", private]))
    refused, answered = result.text.split(SEPARATOR)
    assert refused.startswith("[Privacy guard] This query was not sent: it repeats 14 consecutive words")
    assert answered.startswith(f"A web search for '{QUERY}' returned")
    assert [case.query_of(r) for r in search_server.requests] == [QUERY]  # the leaky query never left
    # The refused query is in the network log as held back, the other as sent.
    assert [(e.kind, e.target, e.tool, e.ok) for e in result.network] == [
        ("search", leaky, "search", False),
        ("search", QUERY, "search", True),
    ]
    assert result.network[0].detail == "refused by the privacy guard: not sent"
    assert result.network[1].detail.startswith("ok; 1 attempt(s)")


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_results_are_cached_per_provider(case: Case, search_server: SearchServer) -> None:
    Run(case, search_server)(QUERY)
    again = Run(case, search_server)(QUERY)
    assert len(search_server.requests) == 1 and again.network == []
    other = CASES[(CASES.index(case) + 1) % len(CASES)]
    Run(other, search_server)(QUERY)
    assert len(search_server.requests) == 2  # another provider's cache is its own


def test_scholar_uses_serper_scholar(search_server: SearchServer) -> None:
    run = Run(CASES[1], search_server, tool=ScholarTool)
    result = run("tidal turbine fish")
    (request,) = search_server.requests
    assert request.path == "/scholar" and request.body == {"q": "tidal turbine fish", "num": 10}
    assert result.text.startswith(
        "A scholarly search for 'tidal turbine fish' returned 2 results:\n\n## Scholar Results\n"
        f"1. [{PAPERS[0][0]}]({PAPERS[0][1]})\n"
        "Source: arxiv.org · Year: 2021 · Cited by: 42\n"
        "Publication: A Author - Journal of Tides, 2021 - arxiv.org\n"
        "Turbine trials."
    )
    assert result.network[0].tool == "google_scholar"


def test_scholar_uses_searxng_science_engines(search_server: SearchServer) -> None:
    result = Run(CASES[0], search_server, tool=ScholarTool)("tidal turbine fish")
    (request,) = search_server.requests
    assert request.query["categories"] == "science"
    assert "Source: arxiv.org · Year: 2021\nPublication: Renewable Energy\nTurbine trials." in result.text
    assert "has no scholarly search" not in result.text


@pytest.mark.parametrize("case", CASES[2:], ids=IDS[2:])
def test_scholar_without_a_scholarly_search_filters_web_results_and_says_so(
    case: Case, search_server: SearchServer
) -> None:
    result = Run(case, search_server, tool=ScholarTool)("tidal turbine fish")
    assert result.text.startswith(
        "A scholarly search for 'tidal turbine fish' returned 2 results:\n"
        f"({case.label.split(' at ')[0]} at {search_server.base} has no scholarly search: these are its web "
        "results from scholarly sources (journals, preprint servers, universities))\n\n## Scholar Results\n"
        f"1. [{PAPERS[0][0]}]({PAPERS[0][1]})"
    )
    assert "wikipedia" not in result.text  # the non-scholarly hits were dropped
    (request,) = search_server.requests
    asked = request.query.get("count") or (request.body or {}).get("max_results")
    assert int(str(asked)) == 20  # a larger pool to filter from, within the provider's limit


@pytest.mark.parametrize(
    ("region", "expected"),
    [("cn-zh", {"gl": "cn", "hl": "zh"}), ("jp-jp", {"gl": "jp", "hl": "ja"}), ("wt-wt", {}),
     ("xa-ar", {"hl": "ar"})],
)  # fmt: skip
def test_serper_gets_the_region_as_country_and_language(
    region: str, expected: dict[str, str], search_server: SearchServer
) -> None:
    Run(CASES[1], search_server, region=region)(QUERY)
    body = search_server.requests[0].body or {}
    assert {k: v for k, v in body.items() if k in ("gl", "hl")} == expected


def test_searxng_gets_the_language_of_the_query(search_server: SearchServer) -> None:
    Run(CASES[0], search_server)("潮汐能 芬迪湾")
    assert search_server.requests[0].query["language"] == "zh"
