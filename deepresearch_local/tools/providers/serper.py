"""Serper (Google results, what upstream Tongyi used): ``POST {url}/search`` and ``/scholar``
with the key in ``X-API-KEY``. Web results: ``organic[].title, link, snippet, date``; scholar
results: ``organic[].title, link, snippet, publicationInfo, year, citedBy``."""

from __future__ import annotations

from typing import Any

from deepresearch_local.tools.providers.base import http_json, results_list, split_region

DEFAULT_URL = "https://google.serper.dev"


class SerperProvider:
    name = "serper"
    has_scholar = True
    max_results = 100

    def __init__(self, api_key: str, *, url: str = "", timeout: float = 10.0) -> None:
        self.base = (url or DEFAULT_URL).rstrip("/")
        self.api_key = api_key
        self.timeout = timeout
        self.label = "Serper" if not url else f"Serper at {self.base}"

    def search(self, query: str, *, region: str, max_results: int, scholar: bool) -> list[dict[str, Any]]:
        body: dict[str, Any] = {"q": query, "num": max_results}
        country, language = split_region(region)
        if country:
            body["gl"] = country
        if language:
            body["hl"] = language
        data = http_json(
            self.label,
            "POST",
            f"{self.base}/{'scholar' if scholar else 'search'}",
            headers={"X-API-KEY": self.api_key, "Content-Type": "application/json"},
            body=body,
            timeout=self.timeout,
            advice={401: "Check SERPER_API_KEY", 403: "Check SERPER_API_KEY and the account's credits"},
        )
        out = []
        for item in results_list(data, self.label, "organic"):
            result = {
                "title": item.get("title") or "",
                "href": item.get("link") or "",
                "body": item.get("snippet") or "",
                "date": str(item.get("year") or item.get("date") or ""),
            }
            if scholar:
                result["source"] = str(item.get("publicationInfo") or "")
                result["cited_by"] = str(item.get("citedBy") or "")
            out.append(result)
        return out[:max_results]
