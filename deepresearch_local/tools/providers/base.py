"""What every search provider is, how its failures are told apart, and the HTTP call they share.

A provider turns one query into raw result dicts (``title``, ``href``, ``body`` and optional
``date``, ``source``, ``cited_by``) or raises :class:`SearchFailure`. Retries, backoff, the cache,
the privacy guard and the outbound log live in the search tool, so every provider gets them.
"""

from __future__ import annotations

import email.utils
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from deepresearch_local.tools.search_policy import Outcome


class SearchFailure(Exception):
    """A query failed. ``outcome`` says how; ``retry_after`` is the wait the server asked for."""

    def __init__(self, outcome: Outcome, reason: str, *, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.outcome: Outcome = outcome
        self.reason = reason
        self.retry_after = retry_after


@dataclass(frozen=True)
class ProviderConfig:
    """Which provider answers, where, and with what key (never printed: see :meth:`redacted`)."""

    name: str = "ddgs"
    url: str = ""
    """Base URL: required for SearXNG; for the keyed providers it overrides the public endpoint."""
    api_key: str = ""
    timeout: float = 10.0
    """Seconds one request may take."""

    def redacted(self) -> str:
        return f"{self.name} (url {self.url or 'default'}, key {'set' if self.api_key else 'not set'})"

    def __repr__(self) -> str:  # keeps the key out of tracebacks and logs
        return f"ProviderConfig({self.redacted()})"


class SearchProvider(Protocol):
    name: str
    """Short id: ddgs, searxng, serper, brave, tavily."""
    label: str
    """How messages name it ("SearXNG at 127.0.0.1:8888")."""
    has_scholar: bool
    """True when it has its own scholarly search (else google_scholar filters web results)."""
    max_results: int
    """The most results one request may ask for."""

    def search(self, query: str, *, region: str, max_results: int, scholar: bool) -> list[dict[str, Any]]:
        """Raw results for ``query``; raises :class:`SearchFailure`."""
        ...


def split_region(region: str) -> tuple[str, str]:
    """A ddgs region ("us-en", "cn-zh", "wt-wt") as (country, language) codes; "" where none applies."""
    country, _, language = region.lower().partition("-")
    language = {"jp": "ja", "kr": "ko", "tzh": "zh-TW", "wt": ""}.get(language, language)
    if country in ("wt", "xa", "xl", ""):
        country = ""
    return country, language


def retry_after_seconds(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """The wait a 429 asks for: ``Retry-After`` (seconds or an HTTP date), else the first window
    of ``X-RateLimit-Reset`` (Brave sends "1, 1419704": seconds until each window resets)."""
    value = headers.get("retry-after", "").strip()
    if value:
        try:
            return max(float(value), 0.0)
        except ValueError:
            parsed = email.utils.parsedate_to_datetime(value) if "," in value or " " in value else None
            if parsed is not None:
                return max(parsed.timestamp() - (now if now is not None else time.time()), 0.0)
    reset = headers.get("x-ratelimit-reset", "").split(",")[0].strip()
    try:
        return max(float(reset), 0.0) if reset else None
    except ValueError:
        return None


def http_json(
    label: str,
    method: str,
    url: str,
    *,
    headers: Mapping[str, str] | None = None,
    params: Mapping[str, str | int] | None = None,
    body: Mapping[str, Any] | None = None,
    timeout: float = 10.0,
    advice: Mapping[int, str] | None = None,
) -> Any:
    """One JSON request. Every failure becomes a :class:`SearchFailure` that names ``label``;
    ``advice`` adds a what-to-do sentence for a status code (e.g. 403 from SearXNG)."""
    import httpx

    try:
        with httpx.Client(timeout=timeout, follow_redirects=True) as client:
            resp = client.request(method, url, headers=dict(headers or {}), params=params, json=body)
    except httpx.TimeoutException as exc:
        raise SearchFailure(
            "timeout", f"{label} did not answer within {timeout:g} s ({type(exc).__name__})"
        ) from None
    except (httpx.ConnectError, httpx.NetworkError) as exc:
        raise SearchFailure("no_network", f"cannot reach {label}: ConnectError: {exc}") from None
    except httpx.HTTPError as exc:
        raise SearchFailure("error", f"{label}: {type(exc).__name__}: {exc}") from None
    status = resp.status_code
    if status >= 400:
        hint = (advice or {}).get(status, "")
        detail = _error_detail(resp.text)
        reason = (
            f"{label} answered HTTP {status}"
            + (f" ({detail})" if detail else "")
            + (f". {hint}" if hint else "")
        )
        if status == 429:
            raise SearchFailure("rate_limited", reason, retry_after=retry_after_seconds(resp.headers))
        if status in (401, 403):
            raise SearchFailure("auth", reason)
        if status in (400, 404, 405, 422):
            raise SearchFailure("bad_request", reason)
        raise SearchFailure("error", reason)
    try:
        return json.loads(resp.content)
    except ValueError:
        start = " ".join(resp.text[:80].split())
        raise SearchFailure(
            "error", f"{label} sent an answer that is not JSON (it starts: {start!r})"
        ) from None


def _error_detail(text: str) -> str:
    """A short reason from an error body: a JSON "message"/"detail"/"error", else its first words."""
    try:
        data = json.loads(text)
    except ValueError:
        return " ".join(text.split())[:120]
    if isinstance(data, dict):
        for key in ("message", "detail", "error"):
            value = data.get(key)
            if isinstance(value, dict):
                value = value.get("detail") or value.get("message") or value.get("code")
            if value:
                return " ".join(str(value).split())[:160]
    return ""


def results_list(data: Any, label: str, *path: str) -> list[Any]:
    """``data[path[0]][path[1]]...`` as a list: a missing key means no results; a wrong type is an error."""
    node = data
    for key in path:
        if not isinstance(node, dict):
            raise SearchFailure(
                "error", f"{label} sent JSON of an unexpected shape (no object around {key!r})"
            )
        node = node.get(key)
        if node is None:
            return []
    if not isinstance(node, list):
        raise SearchFailure(
            "error", f"{label} sent JSON of an unexpected shape ({'.'.join(path)} is not a list)"
        )
    return [item for item in node if isinstance(item, dict)]
