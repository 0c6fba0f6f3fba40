"""Search providers behind one interface, and which one a run uses.

ddgs is the keyless default. SearXNG needs the URL of an instance; Serper, Brave and Tavily need
an API key. The choice comes from the environment first, then the settings file:

- ``DEEPRESEARCH_SEARCH_PROVIDER`` / ``search_provider``: ddgs, searxng, serper, brave or tavily
- ``SEARXNG_URL`` (or ``DEEPRESEARCH_SEARCH_URL``) / ``search_url``: the SearXNG instance, or
  another endpoint for a keyed provider (a proxy, or a test server on 127.0.0.1)
- ``SERPER_API_KEY``, ``BRAVE_API_KEY``, ``TAVILY_API_KEY`` / ``search_api_key``
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from deepresearch_local.tools.providers.base import (
    ProviderConfig,
    SearchFailure,
    SearchProvider,
    split_region,
)

if TYPE_CHECKING:
    from deepresearch_local.config import Settings
    from deepresearch_local.tools.network import NetworkStatus
    from deepresearch_local.tools.providers.ddgs_provider import DDGSLike

PROVIDERS = ("ddgs", "searxng", "serper", "brave", "tavily")

KEY_VARIABLES = {"serper": "SERPER_API_KEY", "brave": "BRAVE_API_KEY", "tavily": "TAVILY_API_KEY"}
"""The environment variable holding each keyed provider's key."""

PROVIDER_VARIABLE = "DEEPRESEARCH_SEARCH_PROVIDER"
URL_VARIABLE = "DEEPRESEARCH_SEARCH_URL"


def resolve_config(
    settings: Settings | None = None, env: Mapping[str, str] | None = None, *, timeout: float = 10.0
) -> ProviderConfig:
    """The provider the environment or the settings name (environment first)."""
    env = os.environ if env is None else env
    name = env.get(PROVIDER_VARIABLE) or (settings.search_provider if settings else "") or "ddgs"
    name = name.strip().lower()
    url = (env.get("SEARXNG_URL", "") if name == "searxng" else "") or env.get(URL_VARIABLE, "")
    url = url or (settings.search_url if settings else "")
    key_variable = KEY_VARIABLES.get(name)
    key = (env.get(key_variable, "") if key_variable else "") or (settings.search_api_key if settings else "")
    return ProviderConfig(name=name, url=url.strip(), api_key=key.strip(), timeout=timeout)


def problem(config: ProviderConfig) -> str:
    """What keeps ``config`` from working, as a sentence saying what to set; "" when it can run."""
    if config.name not in PROVIDERS:
        return (
            f"the search provider {config.name!r} is unknown: set {PROVIDER_VARIABLE} or search_provider "
            f"to one of {', '.join(PROVIDERS)}"
        )
    if config.name == "searxng" and not config.url:
        return (
            "SearXNG needs the URL of an instance: set SEARXNG_URL or search_url (e.g. http://127.0.0.1:8888)"
        )
    if config.name in KEY_VARIABLES and not config.api_key:
        return f"{config.name} needs an API key: set {KEY_VARIABLES[config.name]} or search_api_key"
    if config.url and not config.url.startswith(("http://", "https://")):
        return f"the search URL {config.url!r} is not an http(s) URL: fix SEARXNG_URL or search_url"
    return ""


def build_provider(
    config: ProviderConfig,
    *,
    safesearch: str = "moderate",
    backend: str = "auto",
    ddgs_client: Callable[[], DDGSLike] | None = None,
) -> SearchProvider:
    """The provider ``config`` names; raises :class:`SearchFailure` ("unconfigured") with the fix."""
    issue = problem(config)
    if issue:
        raise SearchFailure("unconfigured", issue)
    if config.name == "searxng":
        from deepresearch_local.tools.providers.searxng import SearXNGProvider

        return SearXNGProvider(config.url, timeout=config.timeout, safesearch=safesearch)
    if config.name == "serper":
        from deepresearch_local.tools.providers.serper import SerperProvider

        return SerperProvider(config.api_key, url=config.url, timeout=config.timeout)
    if config.name == "brave":
        from deepresearch_local.tools.providers.brave import BraveProvider

        return BraveProvider(config.api_key, url=config.url, timeout=config.timeout, safesearch=safesearch)
    if config.name == "tavily":
        from deepresearch_local.tools.providers.tavily import TavilyProvider

        return TavilyProvider(config.api_key, url=config.url, timeout=config.timeout)
    from deepresearch_local.tools.providers.ddgs_provider import DDGSProvider, default_client

    factory = ddgs_client or (lambda: default_client(config.timeout))
    return DDGSProvider(factory, safesearch=safesearch, backend=backend)


DEFAULT_HOSTS = {
    "ddgs": "duckduckgo.com",
    "serper": "google.serper.dev",
    "brave": "api.search.brave.com",
    "tavily": "api.tavily.com",
}


def probe_target(config: ProviderConfig) -> tuple[str, int]:
    """(host, port) that shows whether this provider can be reached: its URL's, else its public host."""
    from urllib.parse import urlsplit

    if config.url and not problem(config):
        parts = urlsplit(config.url)
        if parts.hostname:
            try:
                port = parts.port
            except ValueError:
                port = None
            return parts.hostname, port or (443 if parts.scheme == "https" else 80)
    return DEFAULT_HOSTS.get(config.name, DEFAULT_HOSTS["ddgs"]), 443


def network_check(timeout: float = 1.0) -> NetworkStatus:
    """Whether the configured search provider can be reached (the check that decides whether a run
    goes offline by itself): a SearXNG on this machine or the LAN counts even without internet."""
    from deepresearch_local.config import load_settings
    from deepresearch_local.errors import DeepResearchError
    from deepresearch_local.tools.network import check_network

    try:
        settings: Settings | None = load_settings()
    except DeepResearchError:
        settings = None
    host, port = probe_target(resolve_config(settings))
    return check_network(offline=False, host=host, port=port, timeout=timeout)


def describe(config: ProviderConfig, env: Mapping[str, str] | None = None) -> str:
    """One line for ``doctor``: the active provider, whether its URL/key is set (never the key)."""
    env = os.environ if env is None else env
    issue = problem(config)
    if issue:
        return f"{config.name} (not usable: {issue})"
    if config.name == "searxng":
        return f"searxng at {config.url}"
    if config.name in KEY_VARIABLES:
        return f"{config.name}, API key set" + (f", endpoint {config.url}" if config.url else "")
    line = "ddgs (keyless: DuckDuckGo and other engines)"
    found = [(name, var) for name, var in {"searxng": "SEARXNG_URL", **KEY_VARIABLES}.items() if env.get(var)]
    if found:
        name, var = found[0]
        line += f"; {var} is set: {PROVIDER_VARIABLE}={name} would use it"
    return line


__all__ = [
    "KEY_VARIABLES",
    "PROVIDERS",
    "ProviderConfig",
    "SearchFailure",
    "SearchProvider",
    "build_provider",
    "describe",
    "network_check",
    "probe_target",
    "problem",
    "resolve_config",
    "split_region",
]
