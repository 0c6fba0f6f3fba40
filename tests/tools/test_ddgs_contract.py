"""The contract between the app and the installed ``ddgs``: what we call and what we read back.

The signature and result fields are pinned statically, and the real ddgs client (its engine
selection, payload, native HTTP client, HTML parsing, ranking) runs against a DuckDuckGo-shaped
page served on 127.0.0.1, so a ddgs upgrade that changes any of it fails here, not for users.
"""

from __future__ import annotations

import dataclasses
import inspect
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

import ddgs
import pytest
from ddgs.ddgs import DDGS
from ddgs.engines.duckduckgo import Duckduckgo
from ddgs.exceptions import DDGSException, RatelimitException, TimeoutException
from ddgs.results import TextResult

from deepresearch_local.tools.base import ToolContext
from deepresearch_local.tools.providers import ProviderConfig
from deepresearch_local.tools.search import ScholarTool, SearchSettings, WebSearchTool, classify_error

RESULTS_PAGE = """<html><body>
<div class="result results_links web-result"><div class="links_main result__body">
<h2 class="result__title">
<a class="result__a" href="https://tides.example.org/fundy">Bay of Fundy tides</a></h2>
<a class="result__snippet" href="https://tides.example.org/fundy">The <b>tides</b> there reach 16 metres.</a>
</div></div>
<div class="result results_links web-result"><div class="links_main result__body">
<h2 class="result__title">
<a class="result__a" href="https://power.example.net/annapolis">Annapolis Royal station</a></h2>
<a class="result__snippet" href="https://power.example.net/annapolis">A 20 MW tidal plant, closed in 2019.</a>
</div></div>
</body></html>"""


def test_the_calls_we_make_exist_with_the_parameters_we_pass() -> None:
    assert type(ddgs.DDGS(timeout=5)) is DDGS  # ``ddgs.DDGS`` is a lazy proxy for this class
    init = inspect.signature(DDGS.__init__).parameters
    assert "timeout" in init
    text = inspect.signature(DDGS.text).parameters
    assert list(text)[:2] == ["self", "query"]
    # text(query, **kwargs) forwards to _search_sync: the keywords we pass must be its parameters.
    forwarded = inspect.signature(DDGS._search_sync).parameters
    for name in ("region", "safesearch", "max_results", "backend"):
        assert name in forwarded and forwarded[name].kind is inspect.Parameter.KEYWORD_ONLY, name
    assert [f.name for f in dataclasses.fields(TextResult)] == ["title", "href", "body"]
    assert issubclass(RatelimitException, DDGSException) and issubclass(TimeoutException, DDGSException)
    assert classify_error(DDGSException("No results found.")) == "no_results"  # the message ddgs raises


@dataclasses.dataclass
class FakeDuckDuckGo:
    base: str
    forms: list[dict[str, str]] = dataclasses.field(default_factory=list)
    status: int = 200


@pytest.fixture
def duckduckgo(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeDuckDuckGo]:
    """ddgs's own DuckDuckGo engine, pointed at a page served on 127.0.0.1."""
    state = FakeDuckDuckGo("")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            form = parse_qs(self.rfile.read(length).decode(), keep_blank_values=True)
            state.forms.append({k: v[-1] for k, v in form.items()})
            body = RESULTS_PAGE.encode() if state.status == 200 else b""
            self.send_response(state.status)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    state.base = f"http://127.0.0.1:{httpd.server_address[1]}/html/"
    monkeypatch.setattr(Duckduckgo, "search_url", state.base)
    monkeypatch.delenv("DDGS_PROXY", raising=False)
    yield state
    httpd.shutdown()
    httpd.server_close()


def _tool() -> WebSearchTool:
    settings = SearchSettings(backend="duckduckgo", provider=ProviderConfig("ddgs", timeout=10))
    return WebSearchTool(settings, sleep=lambda _s: None)


def test_the_real_ddgs_client_answers_the_search_tool(duckduckgo: FakeDuckDuckGo) -> None:
    result = _tool().call({"query": ["bay of fundy tides", "潮汐能"]}, ToolContext())
    first = result.text.split("\n=======\n")[0]
    assert first == (
        "A web search for 'bay of fundy tides' returned 2 results:\n\n## Web Results\n"
        "1. [Bay of Fundy tides](https://tides.example.org/fundy)\nThe tides there reach 16 metres.\n\n"
        "2. [Annapolis Royal station](https://power.example.net/annapolis)\n"
        "A 20 MW tidal plant, closed in 2019."
    )
    # What ddgs sent: the query and the region we chose for its script.
    assert [(f["q"], f["l"]) for f in duckduckgo.forms] == [
        ("bay of fundy tides", "wt-wt"),
        ("潮汐能", "cn-zh"),
    ]
    assert result.network[0].detail == "ok; 1 attempt(s); region wt-wt; via ddgs"


def test_a_refusing_engine_reads_as_no_results(duckduckgo: FakeDuckDuckGo) -> None:
    """DuckDuckGo answers 202 when it rate-limits; ddgs 9 turns any non-200 into "No results found."
    (so the model hears "no results", and nothing is retried). Pinned so a change is noticed."""
    duckduckgo.status = 202
    result = _tool().call({"query": ["bay of fundy tides"]}, ToolContext())
    assert result.text == (
        "No results were found for 'bay of fundy tides'. Try a shorter or more general query."
    )
    assert len(duckduckgo.forms) == 1 and not result.error


PRIVATE = (
    "the merger of the Lisbon subsidiary will be announced to the works council on the ninth of March "
    "before the press release goes out"
)


@pytest.mark.parametrize("tool", [WebSearchTool, ScholarTool], ids=["search", "google_scholar"])
def test_a_refused_query_never_reaches_ddgs_and_is_logged(
    duckduckgo: FakeDuckDuckGo, tool: type[WebSearchTool]
) -> None:
    leaky = " ".join(PRIVATE.split()[2:16])
    settings = SearchSettings(backend="duckduckgo", provider=ProviderConfig("ddgs", timeout=10))
    result = tool(settings, sleep=lambda _s: None).call(
        {"query": [leaky, "bay of fundy tides"]}, ToolContext(local_texts=lambda: [PRIVATE])
    )
    assert result.text.startswith("[Privacy guard] This query was not sent")
    assert [f["q"] for f in duckduckgo.forms] == ["bay of fundy tides"]  # only the clean query left
    assert [(e.kind, e.target, e.tool, e.ok, e.detail.split(";")[0]) for e in result.network] == [
        ("search", leaky, tool.name, False, "refused by the privacy guard: not sent"),
        ("search", "bay of fundy tides", tool.name, True, "ok"),
    ]
