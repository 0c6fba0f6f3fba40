"""Fetch a web page safely: bounded in time and size, polite to hosts, archived on disk.

Every request is streamed and stopped at the size cap or the overall deadline, whichever comes
first, so a 50 MB page or a server that drips one byte a second cannot stall a research run.
Redirects are followed by hand (each hop is paced, logged and checked for loops).
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urljoin, urlsplit

from deepresearch_local import __version__
from deepresearch_local.errors import DeepResearchError
from deepresearch_local.tools import page_text
from deepresearch_local.tools.web_cache import ArchivedPage, PageArchive

_REDIRECTS = {301, 302, 303, 307, 308}


@dataclass(frozen=True)
class FetchSettings:
    connect_timeout: float = 10.0
    """Seconds to open a connection."""
    read_timeout: float = 20.0
    """Seconds to wait for the next bytes of a response."""
    total_timeout: float = 45.0
    """Seconds for the whole fetch, redirects included (bounds slow-drip servers)."""
    max_bytes: int = 10 * 1024 * 1024
    """Bytes read from one body; longer pages are cut (a cut PDF is refused: it cannot be parsed)."""
    max_redirects: int = 5
    politeness_delay: float = 1.0
    """Seconds between two requests to the same host."""
    archive_max_age: float = 24 * 3600.0
    """An archived copy younger than this is used instead of fetching again (0: always fetch)."""
    user_agent: str = f"Mozilla/5.0 (compatible; deepresearch-local/{__version__}; personal research agent)"


HopCheck = Callable[[str], str | None]
"""Says why a redirect target must not be requested (None: it may be)."""


class FetchFailed(DeepResearchError):
    """A page could not be fetched (``stage="unreachable"``), read (``stage="unreadable"``), or a
    redirect led to a URL the privacy guard refused (``stage="refused"``, ``reason`` is its text)."""

    title = "Page not available"

    def __init__(
        self, reason: str, *, stage: Literal["unreachable", "unreadable", "refused"], hops: list[Hop]
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.stage = stage
        self.hops = hops


@dataclass(frozen=True)
class Hop:
    """One request that left the machine."""

    url: str
    ok: bool
    detail: str


@dataclass
class FetchOutcome:
    page: ArchivedPage
    from_archive: bool
    hops: list[Hop] = field(default_factory=list)
    links: list[str] = field(default_factory=list)
    """Targets of the page's links (HTML pages fetched now; not kept in the archive)."""


class HostPacer:
    """Keeps ``delay`` seconds between requests to the same host (shared across tools and threads)."""

    def __init__(
        self, sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._sleep = sleep
        self._clock = clock
        self._next: dict[str, float] = {}
        self._lock = threading.Lock()

    def wait(self, host: str, delay: float) -> float:
        """Sleep until ``host`` may be contacted again; returns the seconds slept."""
        with self._lock:
            now = self._clock()
            start = max(now, self._next.get(host, now))
            self._next[host] = start + delay
        pause = start - now
        if pause > 0:
            self._sleep(pause)
        return pause


DEFAULT_PACER = HostPacer()


def _check_url(url: str) -> str:
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (raises ValueError for a port out of range)
    except ValueError as exc:
        raise ValueError(f"'{url}' is not a valid URL ({exc})") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"'{url}' is not an http(s) URL")
    return parts.hostname.lower()


class Fetcher:
    """Fetches and extracts pages. ``client_factory`` returns an ``httpx.Client`` (tests may pass one)."""

    def __init__(
        self,
        settings: FetchSettings | None = None,
        *,
        archive: PageArchive | None = None,
        pacer: HostPacer | None = None,
        clock: Callable[[], float] = time.monotonic,
        client_factory: Callable[[FetchSettings], Any] | None = None,
    ) -> None:
        self.settings = settings or FetchSettings()
        self.archive = archive if archive is not None else PageArchive()
        self.pacer = pacer or DEFAULT_PACER
        self._clock = clock
        self._client_factory = client_factory or _default_client

    def fetch(self, url: str, *, check_hop: HopCheck | None = None) -> FetchOutcome:
        """The page's text, from the archive when fresh, else from the network. Raises FetchFailed.

        ``check_hop`` is asked about every redirect target before it is requested.
        """
        cached = self.archive.get(url)
        if cached is not None and time.time() - cached.fetched_at < self.settings.archive_max_age:
            return FetchOutcome(cached, from_archive=True)
        hops: list[Hop] = []
        final_url, content_type, body, truncated = self._download(url, hops, check_hop)
        page = self._extract(url, final_url, content_type, body, truncated, hops)
        self.archive.put(page)
        links: list[str] = []
        if page.kind == "html":
            html = page_text.decode(body, content_type, html=True, truncated=truncated)
            links = page_text.html_links(html, final_url)
        return FetchOutcome(page, from_archive=False, hops=hops, links=links)

    # ------------------------------------------------------------ network

    def _download(
        self, url: str, hops: list[Hop], check_hop: HopCheck | None = None
    ) -> tuple[str, str, bytes, bool]:
        import httpx

        s = self.settings
        deadline = self._clock() + s.total_timeout
        seen: set[str] = set()
        current = url
        with self._client_factory(s) as client:
            for _ in range(s.max_redirects + 1):
                try:
                    host = _check_url(current)
                except ValueError as exc:
                    raise FetchFailed(str(exc), stage="unreachable", hops=hops) from None
                seen.add(current)
                self.pacer.wait(host, s.politeness_delay)
                remaining = deadline - self._clock()
                if remaining <= 0:
                    raise FetchFailed(self._too_slow(), stage="unreachable", hops=hops)
                try:
                    with client.stream("GET", current, timeout=self._timeout(remaining)) as resp:
                        status = resp.status_code
                        location = resp.headers.get("location")
                        if status in _REDIRECTS and location:
                            target = urljoin(str(resp.url), location.strip())
                            hops.append(Hop(current, True, f"HTTP {status} redirect to {target}"))
                            if target in seen:
                                raise FetchFailed(
                                    f"redirect loop ({current} sends back to {target})",
                                    stage="unreachable",
                                    hops=hops,
                                )
                            refusal = check_hop(target) if check_hop is not None else None
                            if refusal is not None:
                                hops.append(Hop(target, False, "refused by the privacy guard: not requested"))
                                raise FetchFailed(refusal, stage="refused", hops=hops)
                            current = target
                            continue
                        if status >= 400:
                            reason = f"HTTP {status} {resp.reason_phrase}".strip()
                            hops.append(Hop(current, False, reason))
                            raise FetchFailed(f"the server answered {reason}", stage="unreachable", hops=hops)
                        content_type = resp.headers.get("content-type", "")
                        if page_text.refused_early(content_type):
                            hops.append(Hop(current, True, f"HTTP {status}, {content_type} (not read)"))
                            raise FetchFailed(self._unsupported(content_type), stage="unreadable", hops=hops)
                        body, truncated = self._read_capped(resp, deadline, hops, current)
                        hops.append(
                            Hop(
                                current,
                                True,
                                f"HTTP {status}, {content_type or 'no type'}, {len(body)} bytes",
                            )
                        )
                        return current, content_type, body, truncated
                except httpx.TimeoutException as exc:
                    hops.append(Hop(current, False, f"timeout ({exc.__class__.__name__})"))
                    raise FetchFailed(self._too_slow(), stage="unreachable", hops=hops) from None
                except httpx.InvalidURL as exc:
                    raise FetchFailed(
                        f"'{current}' is not a valid URL ({exc})", stage="unreachable", hops=hops
                    ) from None
                except (httpx.HTTPError, httpx.StreamError, OSError) as exc:
                    hops.append(Hop(current, False, f"{exc.__class__.__name__}: {exc}"))
                    raise FetchFailed(
                        f"the connection failed ({exc.__class__.__name__}: {exc})",
                        stage="unreachable",
                        hops=hops,
                    ) from None
        raise FetchFailed(f"too many redirects (more than {s.max_redirects})", stage="unreachable", hops=hops)

    def _timeout(self, remaining: float) -> Any:
        import httpx

        s = self.settings
        read = min(s.read_timeout, remaining)
        return httpx.Timeout(connect=min(s.connect_timeout, remaining), read=read, write=read, pool=read)

    def _read_capped(self, resp: Any, deadline: float, hops: list[Hop], url: str) -> tuple[bytes, bool]:
        """Read at most ``max_bytes`` before the deadline; never holds more than the cap plus one chunk."""
        cap = self.settings.max_bytes
        declared = resp.headers.get("content-length", "")
        if (
            declared.isdigit()
            and int(declared) > cap
            and "pdf" in resp.headers.get("content-type", "").lower()
        ):
            raise FetchFailed(
                f"the PDF is {int(declared) / 1e6:.1f} MB, over the {cap / 1e6:.0f} MB limit",
                stage="unreadable",
                hops=[*hops, Hop(url, True, f"PDF of {declared} bytes (not read)")],
            )
        body = bytearray()
        for chunk in resp.iter_bytes():
            body += chunk
            if len(body) >= cap:
                del body[cap:]
                return bytes(body), True
            if self._clock() > deadline:
                detail = f"too slow: {len(body)} bytes in {self.settings.total_timeout:.0f} s"
                hops.append(Hop(url, False, detail))
                raise FetchFailed(self._too_slow(len(body)), stage="unreachable", hops=hops)
        return bytes(body), False

    def _too_slow(self, size: int | None = None) -> str:
        s = self.settings
        got = f"; only {size} bytes arrived" if size else ""
        return (
            f"the server was too slow (no data for {s.read_timeout:g} s, or not done within "
            f"{s.total_timeout:g} s{got})"
        )

    @staticmethod
    def _unsupported(content_type: str) -> str:
        return (
            f"its content type ({page_text.mime_of(content_type) or 'unknown'}) is not one this tool "
            "reads (HTML, PDF, plain text and Markdown are)"
        )

    # ------------------------------------------------------------ extraction

    def _extract(
        self, url: str, final_url: str, content_type: str, body: bytes, truncated: bool, hops: list[Hop]
    ) -> ArchivedPage:
        kind = page_text.classify(content_type, body[:4096], final_url)
        title = ""
        if kind == "binary":
            declared = page_text.mime_of(content_type) or "no type"
            raise FetchFailed(
                f"the body is binary data (declared as {declared})", stage="unreadable", hops=hops
            )
        if kind == "unsupported":
            raise FetchFailed(self._unsupported(content_type), stage="unreadable", hops=hops)
        if kind == "pdf":
            if truncated:
                raise FetchFailed(
                    f"the PDF is larger than the {self.settings.max_bytes / 1e6:.0f} MB limit",
                    stage="unreadable",
                    hops=hops,
                )
            try:
                text, title = page_text.pdf_to_text(body)
            except ValueError as exc:
                raise FetchFailed(str(exc), stage="unreadable", hops=hops) from None
        elif kind == "html":
            html = page_text.decode(body, content_type, html=True, truncated=truncated)
            text, title = page_text.html_to_text(html, final_url)
        else:
            text = page_text.decode(body, content_type, html=False, truncated=truncated).strip()
        if not text.strip() or (kind == "pdf" and not _has_words(text)):
            raise FetchFailed("the page holds no readable text", stage="unreadable", hops=hops)
        return ArchivedPage(
            url=url,
            final_url=final_url,
            fetched_at=time.time(),
            content_type=content_type,
            kind=kind,
            title=title,
            text=text,
            truncated=truncated,
            bytes_read=len(body),
        )


def _has_words(pdf_text: str) -> bool:
    return bool(re.sub(r"\[page \d+\]", "", pdf_text).strip())


def _default_client(settings: FetchSettings) -> Any:
    import httpx

    return httpx.Client(
        follow_redirects=False,
        headers={
            "User-Agent": settings.user_agent,
            "Accept": "text/html,application/pdf,text/*;q=0.9,*/*;q=0.5",
        },
        timeout=httpx.Timeout(settings.read_timeout, connect=settings.connect_timeout),
    )
