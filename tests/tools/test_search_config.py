"""Which search provider a run uses (environment over settings), what `doctor` says about it
(never the key), and what the model hears when the provider is not set up."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from deepresearch_local.cli.main import main
from deepresearch_local.config import Settings, save_settings
from deepresearch_local.tools.base import ToolContext
from deepresearch_local.tools.providers import (
    ProviderConfig,
    describe,
    network_check,
    probe_target,
    problem,
    resolve_config,
)
from deepresearch_local.tools.search import ScholarTool, SearchSettings, WebSearchTool
from tests.tools.search_server import Reply, Request, SearchServer, search_server_fixture  # noqa: F401

SECRET = "tvly-secret-key-987654321"
VARIABLES = ("DEEPRESEARCH_SEARCH_PROVIDER", "DEEPRESEARCH_SEARCH_URL", "SEARXNG_URL", "SERPER_API_KEY",
             "BRAVE_API_KEY", "TAVILY_API_KEY")  # fmt: skip


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)


def test_ddgs_is_the_default() -> None:
    assert resolve_config(None, {}) == ProviderConfig("ddgs")
    assert resolve_config(Settings(), {}).name == "ddgs"
    assert problem(resolve_config(None, {})) == ""


def test_the_environment_wins_over_the_settings() -> None:
    settings = Settings(
        search_provider="searxng", search_url="http://10.0.0.5:8888", search_api_key="from-file"
    )
    assert resolve_config(settings, {}) == ProviderConfig(
        "searxng", url="http://10.0.0.5:8888", api_key="from-file"
    )
    env = {"DEEPRESEARCH_SEARCH_PROVIDER": "Serper", "SERPER_API_KEY": " k1 ", "BRAVE_API_KEY": "k2"}
    config = resolve_config(settings, env)
    assert (config.name, config.api_key, config.url) == ("serper", "k1", "http://10.0.0.5:8888")
    assert resolve_config(settings, {"SEARXNG_URL": "http://127.0.0.1:9999/"}).url == "http://127.0.0.1:9999/"
    tavily = resolve_config(Settings(search_provider="tavily"), {"TAVILY_API_KEY": SECRET})
    assert tavily.api_key == SECRET and SECRET not in repr(tavily)


@pytest.mark.parametrize(
    ("config", "fix"),
    [
        (
            ProviderConfig("google"),
            "set DEEPRESEARCH_SEARCH_PROVIDER or search_provider to one of ddgs, searxng",
        ),
        (ProviderConfig("searxng"), "set SEARXNG_URL or search_url (e.g. http://127.0.0.1:8888)"),
        (ProviderConfig("serper"), "serper needs an API key: set SERPER_API_KEY or search_api_key"),
        (ProviderConfig("brave"), "set BRAVE_API_KEY"),
        (ProviderConfig("tavily", url="api.tavily.com", api_key="k"), "is not an http(s) URL"),
    ],
)
def test_a_provider_that_cannot_run_says_what_to_set(config: ProviderConfig, fix: str) -> None:
    assert fix in problem(config)
    assert describe(config, {}).startswith(f"{config.name} (not usable: ")


def test_describe_never_shows_the_key() -> None:
    assert describe(ProviderConfig("tavily", api_key=SECRET), {}) == "tavily, API key set"
    assert (
        describe(ProviderConfig("searxng", url="http://127.0.0.1:8888"), {})
        == "searxng at http://127.0.0.1:8888"
    )
    hint = describe(ProviderConfig("ddgs"), {"BRAVE_API_KEY": SECRET})
    assert hint == (
        "ddgs (keyless: DuckDuckGo and other engines); BRAVE_API_KEY is set: "
        "DEEPRESEARCH_SEARCH_PROVIDER=brave would use it"
    )


def test_doctor_names_the_active_provider(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], isolated_home: Path
) -> None:
    save_settings(Settings(search_provider="tavily", search_api_key=SECRET))
    assert main(["doctor"]) == 0
    out = capsys.readouterr().out
    assert "web search     tavily, API key set" in out and SECRET not in out
    monkeypatch.setenv("DEEPRESEARCH_SEARCH_PROVIDER", "searxng")
    assert main(["doctor", "--json"]) == 0
    raw = capsys.readouterr().out
    search = json.loads(raw)["search"]
    assert search["provider"] == "searxng" and search["key_set"] is True and SECRET not in raw
    assert search["problem"].startswith("SearXNG needs the URL of an instance")


def test_an_unconfigured_provider_is_an_observation_not_a_crash(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEEPRESEARCH_SEARCH_PROVIDER", "serper")
    result = WebSearchTool().call({"query": ["tidal power", "fundy"]}, ToolContext())
    first, second = result.text.split("\n=======\n")
    assert first == (
        "The search for 'tidal power' could not be run. Web search is not set up: serper needs an API key: "
        "set SERPER_API_KEY or search_api_key. To work with the user's own documents instead, use "
        "local_search (search the indexed folders) and local_read (read a file or a part of it). "
        "Retrying will not help until the user fixes the search settings."
    )
    assert "This query was not sent" in second
    assert result.error and result.network == []


def test_the_tools_pick_up_the_configured_provider(
    monkeypatch: pytest.MonkeyPatch, search_server: SearchServer
) -> None:
    """What `ask` builds (``WebSearchTool(SearchSettings(region=...))``) follows the environment."""

    def answer(request: Request) -> Reply:
        return Reply(body={"results": [{"title": "A page", "url": "https://example.org/a", "content": "x"}]})

    search_server.answer = answer
    monkeypatch.setenv("DEEPRESEARCH_SEARCH_PROVIDER", "searxng")
    monkeypatch.setenv("SEARXNG_URL", search_server.base)
    web = WebSearchTool(SearchSettings(region="de-de")).call({"query": ["Gezeiten"]}, ToolContext())
    scholar = ScholarTool(SearchSettings()).call({"query": ["tides"]}, ToolContext())
    assert web.text.startswith("A web search for 'Gezeiten' returned 1 results:")
    assert scholar.text.startswith("A scholarly search for 'tides' returned 1 results:")
    assert [(r.path, r.query.get("language"), r.query.get("categories")) for r in search_server.requests] == [
        ("/search", "de", None),
        ("/search", None, "science"),
    ]


def test_the_network_check_probes_the_search_provider() -> None:
    assert probe_target(ProviderConfig("ddgs")) == ("duckduckgo.com", 443)
    assert probe_target(ProviderConfig("brave", api_key="k")) == ("api.search.brave.com", 443)
    assert probe_target(ProviderConfig("searxng", url="http://192.168.1.20:8888/")) == ("192.168.1.20", 8888)
    assert probe_target(ProviderConfig("searxng", url="https://search.example.org")) == (
        "search.example.org",
        443,
    )
    assert probe_target(ProviderConfig("serper", url="http://127.0.0.1:7000", api_key="k")) == (
        "127.0.0.1",
        7000,
    )
    assert probe_target(ProviderConfig("searxng")) == ("duckduckgo.com", 443)  # not set up: the default host


def test_a_local_searxng_keeps_a_run_online_without_internet(
    monkeypatch: pytest.MonkeyPatch, search_server: SearchServer
) -> None:
    """The rule ask and the app share: the probe goes to the configured provider, here on 127.0.0.1."""
    from deepresearch_local.service.run_policy import decide_run_offline

    monkeypatch.setenv("DEEPRESEARCH_SEARCH_PROVIDER", "searxng")
    monkeypatch.setenv("SEARXNG_URL", search_server.base)
    assert network_check().online
    decision = decide_run_offline(requested=False, setting=False, backend="llama.cpp", base_url=None)
    assert (decision.offline, decision.reason) == (
        False,
        f"reached 127.0.0.1:{search_server.base.split(':')[-1]}",
    )
    monkeypatch.setenv("SEARXNG_URL", "http://127.0.0.1:9")  # nothing listens there
    down = decide_run_offline(requested=False, setting=False, backend="llama.cpp", base_url=None)
    assert down.offline and down.reason.startswith("no network (cannot reach 127.0.0.1:9: ")
