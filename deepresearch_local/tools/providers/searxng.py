"""SearXNG, the self-hosted metasearch engine: ``GET {url}/search?q=...&format=json``.

The instance must allow the JSON format (``search.formats: [html, json]`` in its settings.yml);
otherwise it answers 403. Its bot limiter answers 429 (or 403) to scripted clients.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from deepresearch_local.tools.providers.base import http_json, results_list, split_region

_ADVICE = {
    403: (
        "SearXNG refuses JSON unless its settings.yml lists it under search.formats (html, json), "
        "and its limiter may block scripted clients (server.limiter: false for a private instance)"
    ),
    429: "SearXNG's limiter is throttling this client (server.limiter: false for a private instance)",
}


class SearXNGProvider:
    name = "searxng"
    has_scholar = True
    max_results = 50
    """SearXNG returns one page of results (about 20 to 40, depending on its engines)."""

    def __init__(self, url: str, *, timeout: float = 10.0, safesearch: str = "moderate") -> None:
        self.base = url.rstrip("/")
        self.timeout = timeout
        self.safesearch = {"off": "0", "moderate": "1", "strict": "2"}.get(safesearch, "1")
        self.label = f"SearXNG at {urlsplit(self.base).netloc or self.base}"

    def search(self, query: str, *, region: str, max_results: int, scholar: bool) -> list[dict[str, Any]]:
        params: dict[str, str | int] = {"q": query, "format": "json", "safesearch": self.safesearch}
        _, language = split_region(region)
        if language:
            params["language"] = language
        if scholar:
            params["categories"] = "science"
        data = http_json(
            self.label, "GET", f"{self.base}/search", params=params, timeout=self.timeout, advice=_ADVICE
        )
        out = []
        for item in results_list(data, self.label, "results"):
            out.append(
                {
                    "title": item.get("title") or "",
                    "href": item.get("url") or "",
                    "body": item.get("content") or "",
                    "date": _date(item.get("publishedDate")),
                    "source": _journal(item) if scholar else "",
                }
            )
        return out[:max_results]


def _date(value: Any) -> str:
    return str(value)[:10] if value else ""


def _journal(item: dict[str, Any]) -> str:
    """Science engines (arXiv, Crossref, PubMed...) name the venue in ``journal`` or ``publisher``."""
    return str(item.get("journal") or item.get("publisher") or "").strip()
