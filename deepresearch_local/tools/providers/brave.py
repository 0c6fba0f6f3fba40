"""Brave Search API: ``GET {url}/res/v1/web/search?q=...&count=...`` with the key in
``X-Subscription-Token``; results in ``web.results[].title, url, description, age``. The free
plan allows one request a second: a 429 carries ``X-RateLimit-Reset``."""

from __future__ import annotations

from typing import Any

from deepresearch_local.tools.providers.base import http_json, results_list

DEFAULT_URL = "https://api.search.brave.com"


class BraveProvider:
    name = "brave"
    has_scholar = False
    max_results = 20

    def __init__(
        self, api_key: str, *, url: str = "", timeout: float = 10.0, safesearch: str = "moderate"
    ) -> None:
        self.base = (url or DEFAULT_URL).rstrip("/")
        self.api_key = api_key
        self.timeout = timeout
        self.safesearch = safesearch if safesearch in ("off", "moderate", "strict") else "moderate"
        self.label = "Brave Search" if not url else f"Brave Search at {self.base}"

    def search(self, query: str, *, region: str, max_results: int, scholar: bool) -> list[dict[str, Any]]:
        # No region parameters: Brave's country and language codes differ from ddgs's, and a code
        # it does not know is an error; it detects the query's language itself.
        data = http_json(
            self.label,
            "GET",
            f"{self.base}/res/v1/web/search",
            headers={"X-Subscription-Token": self.api_key, "Accept": "application/json"},
            params={"q": query, "count": min(max_results, self.max_results), "safesearch": self.safesearch},
            timeout=self.timeout,
            advice={401: "Check BRAVE_API_KEY", 403: "Check BRAVE_API_KEY and the plan it belongs to"},
        )
        return [
            {
                "title": item.get("title") or "",
                "href": item.get("url") or "",
                "body": item.get("description") or "",
                "date": str(item.get("page_age") or item.get("age") or "")[:10],
            }
            for item in results_list(data, self.label, "web", "results")
        ][:max_results]
