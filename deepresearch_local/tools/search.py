"""Web search (``search``) and scholarly search (``google_scholar``) through one search provider.

The provider is ddgs (keyless, the default), SearXNG, Serper, Brave or Tavily (see
``tools/providers``). Whatever it is, each query goes through the same path: the SQLite cache
when a fresh copy exists; the privacy guard (a query repeating the user's local text is never
sent); then the provider, with retries and exponential backoff, honouring a rate limit's
Retry-After within a bounded total wait; and one outbound-log event per query sent. When the
network is off or the provider fails, cached results (even old ones) still answer; otherwise the
model is told what happened and pointed to the local tools. A refused query is logged too, as
held back (it never left).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from deepresearch_local.tools import search_format as fmt
from deepresearch_local.tools.base import NetworkEvent, ToolContext, ToolResult
from deepresearch_local.tools.providers import ProviderConfig, SearchFailure, SearchProvider, build_provider
from deepresearch_local.tools.providers.ddgs_provider import DDGSLike
from deepresearch_local.tools.search_policy import (
    DEFAULT_REGIONS,
    FINAL,
    Outcome,
    classify_error,
    script_of,
)
from deepresearch_local.tools.web_cache import SearchCache


@dataclass(frozen=True)
class SearchSettings:
    max_results: int = 10
    """Results shown per query."""
    region: str = "auto"
    """A ddgs region ("us-en", "de-de", ...), or "auto": chosen from the query's script."""
    regions: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_REGIONS))
    """Script -> region used by "auto" (keys: han, kana, hangul, cyrillic, arabic, other)."""
    safesearch: str = "moderate"
    backend: str = "auto"
    """ddgs backends, comma-separated ("auto" lets ddgs pick)."""
    timeout: int = 10
    """Seconds one request to the provider may take."""
    attempts: int = 3
    """Tries per query before giving up (rate limits, timeouts, server errors)."""
    backoff_seconds: float = 2.0
    """Wait after the first failure; doubles after each further one (a Retry-After replaces it)."""
    max_wait_seconds: float = 30.0
    """The most one query waits between its attempts in all; a longer Retry-After ends the tries."""
    cache_ttl_seconds: float = 3 * 24 * 3600.0
    """Cached results younger than this are used without asking the network."""
    max_queries: int = 8
    """Queries answered per call; the rest are listed as not run."""
    scholar_pool: int = 30
    """Results asked for by ``google_scholar`` on a provider without a scholarly search, before
    keeping the scholarly ones."""
    provider: ProviderConfig | None = None
    """The search provider; None: from the environment and the settings file."""


def region_for(query: str, settings: SearchSettings) -> str:
    if settings.region != "auto":
        return settings.region
    script = script_of(query)
    return settings.regions.get(script) or settings.regions.get("other") or "wt-wt"


def _configured(settings: SearchSettings) -> ProviderConfig:
    if settings.provider is not None:
        return settings.provider
    from deepresearch_local.config import load_settings
    from deepresearch_local.errors import DeepResearchError
    from deepresearch_local.tools.providers import resolve_config

    try:
        saved = load_settings()
    except DeepResearchError:
        saved = None  # the run already reported a broken settings file; the environment still counts
    return resolve_config(saved, timeout=settings.timeout)


@dataclass
class _CallState:
    blocked: Outcome | None = None
    """Set once the provider failed hard in this call: later queries skip it."""


class WebSearchTool:
    """The ``search`` tool.

    ``provider`` answers the queries (default: the configured one, built at the first query);
    ``client_factory`` keeps the older way to inject a ddgs client (tests replay recorded results).
    """

    name = "search"
    description = (
        "Search the web. Accepts several queries at once and returns, per query, the top results "
        "with title, link and snippet."
    )
    parameters: Mapping[str, Any] = {
        "type": "object",
        "properties": {
            "query": {
                "type": "array",
                "items": {"type": "string"},
                "minItems": 1,
                "description": "The search queries; several phrasings of the question help.",
            }
        },
        "required": ["query"],
    }
    needs_network = True
    scholarly = False

    def __init__(
        self,
        settings: SearchSettings | None = None,
        *,
        provider: SearchProvider | None = None,
        client_factory: Callable[[SearchSettings], DDGSLike] | None = None,
        cache: SearchCache | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings or SearchSettings()
        self._provider = provider
        if provider is None and client_factory is not None:
            factory = client_factory
            self._provider = build_provider(
                ProviderConfig("ddgs"),
                safesearch=self.settings.safesearch,
                backend=self.settings.backend,
                ddgs_client=lambda: factory(self.settings),
            )
        self._cache = cache
        self._sleep = sleep
        self._clock = clock

    @property
    def cache(self) -> SearchCache:
        if self._cache is None:
            self._cache = SearchCache()
        return self._cache

    def provider(self) -> SearchProvider:
        """The provider answering this tool's queries; raises SearchFailure when it is not set up."""
        if self._provider is None:
            self._provider = build_provider(
                _configured(self.settings), safesearch=self.settings.safesearch, backend=self.settings.backend
            )
        return self._provider

    def call(self, arguments: Mapping[str, Any], context: ToolContext) -> ToolResult:
        queries = _queries(arguments.get("query"))
        if not queries:
            return ToolResult(
                f"{self.name} needs 'query': a list of one or more search strings, "
                'e.g. {"query": ["tidal power Bay of Fundy"]}.',
                error=True,
                summary=f"{self.name}: no query given",
            )
        state = _CallState()
        blocks: list[str] = []
        network: list[NetworkEvent] = []
        outcomes: list[Outcome] = []
        for i, query in enumerate(queries):
            if i >= self.settings.max_queries:
                blocks.append(
                    f"The query '{query}' was not run: at most {self.settings.max_queries} per call."
                )
                continue
            context.progress(f"{self.name}: {query}")
            text, outcome, event = self._one(query, context, state)
            blocks.append(text)
            outcomes.append(outcome)
            if event is not None:
                network.append(event)
        ok = sum(1 for o in outcomes if o == "ok")
        failed = all(o not in ("ok", "no_results") for o in outcomes)
        return ToolResult(
            fmt.SEPARATOR.join(blocks),
            network=network,
            error=failed,
            summary=f"{self.name}: {ok} of {len(outcomes)} queries answered",
        )

    # ------------------------------------------------------------ one query

    def _cache_key(self) -> str:
        """Results are cached per tool and provider (ddgs keeps the plain tool name)."""
        name = self._provider.name if self._provider is not None else _configured(self.settings).name
        return self.name if name == "ddgs" else f"{self.name}@{name}"

    def _one(
        self, query: str, context: ToolContext, state: _CallState
    ) -> tuple[str, Outcome, NetworkEvent | None]:
        region = region_for(query, self.settings)
        key = self._cache_key()
        cached = self.cache.get(key, query, region)
        now = self._clock()
        if context.offline:
            if cached is not None:
                return (
                    self._render(query, cached.results, f"cached on {_date(cached.fetched_at)}; offline"),
                    "ok",
                    None,
                )
            return fmt.failure(query, "offline", ""), "offline", None
        if cached is not None and cached.age(now) < self.settings.cache_ttl_seconds:
            return self._render(query, cached.results), "ok", None
        if context.local_texts is not None:
            from deepresearch_local.tools.network import check_query_privacy, refused_query_event

            refusal = check_query_privacy(query, context.local_texts())
            if refusal is not None:
                return refusal, "private", refused_query_event(query, self.name)
        if state.blocked is not None:
            if cached is not None:
                return (
                    self._render(query, cached.results, f"cached on {_date(cached.fetched_at)}"),
                    "ok",
                    None,
                )
            return fmt.failure(query, "skipped", ""), "skipped", None
        try:
            provider = self.provider()
        except SearchFailure as failure:
            state.blocked = failure.outcome
            return fmt.failure(query, failure.outcome, failure.reason), failure.outcome, None
        raw, outcome, reason, attempts = self._fetch(provider, query, region, context)
        detail = f"{outcome}; {attempts} attempt(s); region {region}; via {provider.label}"
        detail += f"; {reason}" if reason else ""
        event = NetworkEvent("search", query, self.name, ok=outcome in ("ok", "no_results"), detail=detail)
        if outcome == "ok":
            results = self._select(fmt.clean_results(raw), provider)
            if results:
                self.cache.put(key, query, region, results, self._clock())
            return self._render(query, results), "ok" if results else "no_results", event
        if outcome == "no_results":
            return fmt.no_results(query, scholarly=self.scholarly), outcome, event
        if outcome in ("rate_limited", "no_network", "timeout", "auth", "unconfigured"):
            state.blocked = outcome
        if cached is not None:
            note = f"cached on {_date(cached.fetched_at)}; a fresh search failed: {reason}"
            return self._render(query, cached.results, note), "ok", event
        return fmt.failure(query, outcome, reason), outcome, event

    def _fetch(
        self, provider: SearchProvider, query: str, region: str, context: ToolContext
    ) -> tuple[list[dict[str, Any]], Outcome, str, int]:
        """Ask the provider with retries. Backoff doubles after each failure; a rate limit's
        Retry-After replaces it, as long as the waits stay within ``max_wait_seconds``."""
        s = self.settings
        reason = ""
        outcome: Outcome = "error"
        retry_after: float | None = None
        waited = 0.0
        for attempt in range(1, s.attempts + 1):
            if attempt > 1:
                pause = retry_after if retry_after is not None else s.backoff_seconds * 2 ** (attempt - 2)
                if waited + pause > s.max_wait_seconds:
                    reason += f"; the provider asked to wait {pause:g} s more, beyond this tool's limit"
                    return [], outcome, reason, attempt - 1
                self._sleep(pause)
                waited += pause
            if context.cancel.cancelled:
                return [], "error", "cancelled", attempt - 1
            try:
                raw = provider.search(
                    self._query_text(query), region=region, max_results=self._pool(provider),
                    scholar=self.scholarly and provider.has_scholar,
                )  # fmt: skip
            except SearchFailure as failure:
                outcome, reason, retry_after = failure.outcome, failure.reason, failure.retry_after
                if outcome in FINAL:
                    return [], outcome, "" if outcome == "no_results" else reason, attempt
                continue
            except Exception as exc:  # a provider bug must not crash the run: it becomes an observation
                outcome, reason, retry_after = classify_error(exc), f"{type(exc).__name__}: {exc}", None
                continue
            return (list(raw), "ok", "", attempt) if raw else ([], "no_results", "", attempt)
        return [], outcome, reason, s.attempts

    # ------------------------------------------------------------ hooks for google_scholar

    def _query_text(self, query: str) -> str:
        return query

    def _pool(self, provider: SearchProvider) -> int:
        return min(self.settings.max_results, provider.max_results)

    def _select(self, results: list[dict[str, str]], provider: SearchProvider) -> list[dict[str, str]]:
        return results[: self.settings.max_results]

    def _render(self, query: str, results: Sequence[Mapping[str, str]], note: str = "") -> str:
        return fmt.format_results(query, results, scholarly=self.scholarly, note=note)


class ScholarTool(WebSearchTool):
    """``google_scholar``: the provider's scholarly search where it has one (Serper's Google
    Scholar, SearXNG's science engines); else its web results restricted to scholarly sources
    (publishers, preprint servers, indexes, universities), with a note saying so."""

    name = "google_scholar"
    description = (
        "Search scholarly literature (papers, preprints, journals). Accepts several queries at once "
        "and returns, per query, the top scholarly results with title, link, source and snippet."
    )
    scholarly = True

    def _pool(self, provider: SearchProvider) -> int:
        if provider.has_scholar:
            return min(self.settings.max_results, provider.max_results)
        return min(max(self.settings.scholar_pool, self.settings.max_results), provider.max_results)

    def _select(self, results: list[dict[str, str]], provider: SearchProvider) -> list[dict[str, str]]:
        if not provider.has_scholar:
            results = [r for r in results if fmt.is_scholarly(r["href"])]
        return results[: self.settings.max_results]

    def _render(self, query: str, results: Sequence[Mapping[str, str]], note: str = "") -> str:
        try:
            provider = self.provider()
        except SearchFailure:
            provider = None
        if provider is not None and not provider.has_scholar:
            fallback = fmt.web_fallback_note(provider.label)
            note = f"{fallback}; {note}" if note else fallback
        return fmt.format_results(query, results, scholarly=True, note=note)


def _queries(value: object) -> list[str]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, (list, tuple)):
        return []
    return [" ".join(str(q).split()) for q in value if str(q).strip()]


__all__ = [
    "DDGSLike",
    "ScholarTool",
    "SearchSettings",
    "WebSearchTool",
    "classify_error",
    "region_for",
    "script_of",
]


def _date(epoch: float) -> str:
    return time.strftime("%Y-%m-%d", time.localtime(epoch))
