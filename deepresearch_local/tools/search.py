"""Keyless web search (``search``) and scholarly search (``google_scholar``) through ddgs.

Each query is answered from the SQLite cache when a fresh copy exists, else sent to ddgs with
retries and exponential backoff. When the network is off or rate-limited, cached results (even
old ones) still answer; otherwise the model is told what happened and pointed to the local tools.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from deepresearch_local.tools import search_format as fmt
from deepresearch_local.tools.base import NetworkEvent, ToolContext, ToolResult
from deepresearch_local.tools.search_policy import DEFAULT_REGIONS, Outcome, classify_error, script_of
from deepresearch_local.tools.web_cache import SearchCache


class DDGSLike(Protocol):
    """The part of ``ddgs.DDGS`` we use (tests pass a replay of recorded results)."""

    def text(self, query: str, **kwargs: Any) -> list[dict[str, Any]]: ...


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
    """Seconds ddgs waits for its engines."""
    attempts: int = 3
    """Tries per query before giving up (rate limits, timeouts, engine errors)."""
    backoff_seconds: float = 2.0
    """Wait after the first failure; doubles after each further one."""
    cache_ttl_seconds: float = 3 * 24 * 3600.0
    """Cached results younger than this are used without asking the network."""
    max_queries: int = 8
    """Queries answered per call; the rest are listed as not run."""
    scholar_pool: int = 30
    """Results requested from ddgs for ``google_scholar`` before keeping the scholarly ones."""


def region_for(query: str, settings: SearchSettings) -> str:
    if settings.region != "auto":
        return settings.region
    script = script_of(query)
    return settings.regions.get(script) or settings.regions.get("other") or "wt-wt"


def _default_client(settings: SearchSettings) -> DDGSLike:
    from ddgs import DDGS

    client: DDGSLike = DDGS(timeout=settings.timeout)
    return client


@dataclass
class _CallState:
    client: DDGSLike | None = None
    blocked: Outcome | None = None
    """Set once the network failed hard in this call: later queries skip it."""


class WebSearchTool:
    """The ``search`` tool. ``client_factory`` builds the ddgs client (injectable for tests)."""

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
        client_factory: Callable[[SearchSettings], DDGSLike] | None = None,
        cache: SearchCache | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings or SearchSettings()
        self._client_factory = client_factory or _default_client
        self._cache = cache
        self._sleep = sleep
        self._clock = clock

    @property
    def cache(self) -> SearchCache:
        if self._cache is None:
            self._cache = SearchCache()
        return self._cache

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

    def _one(
        self, query: str, context: ToolContext, state: _CallState
    ) -> tuple[str, Outcome, NetworkEvent | None]:
        region = region_for(query, self.settings)
        cached = self.cache.get(self.name, query, region)
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
            from deepresearch_local.tools.network import check_query_privacy

            refusal = check_query_privacy(query, context.local_texts())
            if refusal is not None:
                return refusal, "private", None
        if state.blocked is not None:
            if cached is not None:
                return (
                    self._render(query, cached.results, f"cached on {_date(cached.fetched_at)}"),
                    "ok",
                    None,
                )
            return fmt.failure(query, "skipped", ""), "skipped", None
        raw, outcome, reason, attempts = self._fetch(query, region, context, state)
        detail = f"{outcome}; {attempts} attempt(s); region {region}" + (f"; {reason}" if reason else "")
        event = NetworkEvent("search", query, self.name, ok=outcome in ("ok", "no_results"), detail=detail)
        if outcome == "ok":
            results = self._select(fmt.clean_results(raw))
            if results:
                self.cache.put(self.name, query, region, results, self._clock())
            return self._render(query, results), "ok" if results else "no_results", event
        if outcome == "no_results":
            return fmt.no_results(query, scholarly=self.scholarly), outcome, event
        if outcome in ("rate_limited", "no_network", "timeout"):
            state.blocked = outcome
        if cached is not None:
            note = f"cached on {_date(cached.fetched_at)}; a fresh search failed: {reason}"
            return self._render(query, cached.results, note), "ok", event
        return fmt.failure(query, outcome, reason), outcome, event

    def _fetch(
        self, query: str, region: str, context: ToolContext, state: _CallState
    ) -> tuple[list[dict[str, Any]], Outcome, str, int]:
        """Ask ddgs with retries; backoff doubles after each failure."""
        reason = ""
        outcome: Outcome = "error"
        for attempt in range(1, self.settings.attempts + 1):
            if attempt > 1:
                self._sleep(self.settings.backoff_seconds * 2 ** (attempt - 2))
            if context.cancel.cancelled:
                return [], "error", "cancelled", attempt - 1
            try:
                if state.client is None:
                    state.client = self._client_factory(self.settings)
                raw = state.client.text(
                    self._query_text(query),
                    region=region,
                    safesearch=self.settings.safesearch,
                    max_results=self._pool(),
                    backend=self.settings.backend,
                )
            except Exception as exc:  # ddgs and its HTTP stack raise many kinds
                outcome = classify_error(exc)
                reason = f"{type(exc).__name__}: {exc}".strip().rstrip(":")
                if outcome == "no_results":
                    return [], outcome, "", attempt
                continue
            return (list(raw), "ok", "", attempt) if raw else ([], "no_results", "", attempt)
        return [], outcome, reason, self.settings.attempts

    # ------------------------------------------------------------ hooks for google_scholar

    def _query_text(self, query: str) -> str:
        return query

    def _pool(self) -> int:
        return self.settings.max_results

    def _select(self, results: list[dict[str, str]]) -> list[dict[str, str]]:
        return results[: self.settings.max_results]

    def _render(self, query: str, results: Sequence[Mapping[str, str]], note: str = "") -> str:
        return fmt.format_results(query, results, scholarly=self.scholarly, note=note)


class ScholarTool(WebSearchTool):
    """``google_scholar`` without Google: ddgs results restricted to scholarly sources
    (publishers, preprint servers, indexes, universities)."""

    name = "google_scholar"
    description = (
        "Search scholarly literature (papers, preprints, journals). Accepts several queries at once "
        "and returns, per query, the top scholarly results with title, link, source and snippet."
    )
    scholarly = True

    def _pool(self) -> int:
        return max(self.settings.scholar_pool, self.settings.max_results)

    def _select(self, results: list[dict[str, str]]) -> list[dict[str, str]]:
        return [r for r in results if fmt.is_scholarly(r["href"])][: self.settings.max_results]


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
