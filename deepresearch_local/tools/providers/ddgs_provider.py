"""The keyless default: ddgs (DuckDuckGo and the other engines the ``ddgs`` package scrapes)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from deepresearch_local.tools.providers.base import SearchFailure
from deepresearch_local.tools.search_policy import classify_error


class DDGSLike(Protocol):
    """The part of ``ddgs.DDGS`` we use (tests pass a replay of recorded results)."""

    def text(self, query: str, **kwargs: Any) -> list[dict[str, Any]]: ...


def default_client(timeout: float) -> DDGSLike:
    from ddgs import DDGS

    client: DDGSLike = DDGS(timeout=int(timeout))
    return client


class DDGSProvider:
    """``DDGS().text(query, region=, safesearch=, max_results=, backend=)``: dicts with title, href, body."""

    name = "ddgs"
    label = "ddgs"
    has_scholar = False
    max_results = 50

    def __init__(
        self,
        client_factory: Callable[[], DDGSLike],
        *,
        safesearch: str = "moderate",
        backend: str = "auto",
    ) -> None:
        self._factory = client_factory
        self._client: DDGSLike | None = None
        self.safesearch = safesearch
        self.backend = backend

    def search(self, query: str, *, region: str, max_results: int, scholar: bool) -> list[dict[str, Any]]:
        try:
            if self._client is None:
                self._client = self._factory()
            raw = self._client.text(
                query,
                region=region,
                safesearch=self.safesearch,
                max_results=max_results,
                backend=self.backend,
            )
        except Exception as exc:  # ddgs and its HTTP stack raise many kinds
            reason = f"{type(exc).__name__}: {exc}".strip().rstrip(":")
            raise SearchFailure(classify_error(exc), reason) from None
        return [dict(item) for item in raw or [] if isinstance(item, dict)]
