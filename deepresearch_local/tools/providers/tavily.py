"""Tavily: ``POST {url}/search`` with ``{"query", "max_results"}`` and ``Authorization: Bearer KEY``
(the key also goes in the body as ``api_key``, which older accounts need); results in
``results[].title, url, content, score``."""

from __future__ import annotations

from typing import Any

from deepresearch_local.tools.providers.base import http_json, results_list

DEFAULT_URL = "https://api.tavily.com"


class TavilyProvider:
    name = "tavily"
    has_scholar = False
    max_results = 20

    def __init__(self, api_key: str, *, url: str = "", timeout: float = 10.0) -> None:
        self.base = (url or DEFAULT_URL).rstrip("/")
        self.api_key = api_key
        self.timeout = timeout
        self.label = "Tavily" if not url else f"Tavily at {self.base}"

    def search(self, query: str, *, region: str, max_results: int, scholar: bool) -> list[dict[str, Any]]:
        data = http_json(
            self.label,
            "POST",
            f"{self.base}/search",
            headers={"Authorization": f"Bearer {self.api_key}", "Content-Type": "application/json"},
            body={"query": query, "max_results": min(max_results, self.max_results), "api_key": self.api_key},
            timeout=self.timeout,
            advice={401: "Check TAVILY_API_KEY", 432: "The Tavily plan's limit is used up"},
        )
        return [
            {
                "title": item.get("title") or "",
                "href": item.get("url") or "",
                "body": item.get("content") or "",
                "date": str(item.get("published_date") or "")[:10],
            }
            for item in results_list(data, self.label, "results")
        ][:max_results]
