"""Fetching and extracting real pages from a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import json
import time
import tracemalloc

import pytest

from deepresearch_local.paths import get_paths
from deepresearch_local.tools import page_text
from deepresearch_local.tools.fetch import Fetcher, FetchFailed, FetchSettings, HostPacer
from deepresearch_local.tools.web_cache import PageArchive, url_key
from tests.tools.web_server import HUGE_SIZE, LATIN1_TEXT, MARKDOWN, PDF_PAGES, RUSSIAN, WebServer, web

__all__ = ["web"]

FAST = FetchSettings(politeness_delay=0.0, read_timeout=1.5, total_timeout=3.0, connect_timeout=2.0)


def fetcher(settings: FetchSettings = FAST) -> Fetcher:
    return Fetcher(settings, pacer=HostPacer())


def failure(f: Fetcher, url: str) -> FetchFailed:
    with pytest.raises(FetchFailed) as info:
        f.fetch(url)
    return info.value


def test_article_keeps_headings_and_paragraphs_and_drops_navigation_and_ads(web: WebServer) -> None:
    outcome = fetcher().fetch(web.url("/article"))
    page = outcome.page
    assert page.title == "Tidal Energy in the Bay of Fundy"
    assert page.kind == "html"
    assert page.text.startswith("# Tidal Energy in the Bay of Fundy\n\n")
    assert (
        "\n\n## The Annapolis station\n\nThe Annapolis Royal Generating Station opened in 1984" in page.text
    )
    assert (
        "\n\nIt closed in 2019 after the turbine failed, and the province did not fund a replacement.\n\n"
        in (page.text)
    )
    assert (
        "- Sustainable Marine tested a floating platform with six turbines.\n- Cape Sharp Tidal" in page.text
    )
    for junk in ("About us", "Buy cheap widgets", "Ten cats", "Cookie settings", "Win a cruise", "analytics"):
        assert junk not in page.text
    assert [h.url for h in outcome.hops] == [web.url("/article")]
    assert outcome.hops[0].detail.startswith("HTTP 200, text/html; charset=utf-8, ")


def test_pages_are_archived_with_their_metadata_and_reused(web: WebServer) -> None:
    f = fetcher()
    first = f.fetch(web.url("/moved"))
    archived = get_paths().cache_dir / "pages" / f"{url_key(web.url('/moved'))}.json"
    data = json.loads(archived.read_text(encoding="utf-8"))
    assert data["url"] == web.url("/moved")
    assert data["final_url"] == web.url("/article")
    assert data["content_type"] == "text/html; charset=utf-8"
    assert data["text"] == first.page.text
    assert abs(data["fetched_at"] - time.time()) < 60
    assert data["fetched_at_iso"].endswith("Z")
    assert [h.detail.split(" to ")[0] for h in first.hops] == ["HTTP 302 redirect", first.hops[1].detail]
    second = f.fetch(web.url("/moved"))
    assert second.from_archive and second.hops == [] and second.page == first.page
    assert web.hits["/moved"] == 1 and web.hits["/article"] == 1
    fresh = Fetcher(FetchSettings(politeness_delay=0.0, archive_max_age=0.0), pacer=HostPacer())
    assert not fresh.fetch(web.url("/moved")).from_archive
    assert web.hits["/moved"] == 2


def test_pdf_becomes_text_with_page_markers(web: WebServer) -> None:
    for path in ("/paper.pdf", "/paper-unlabelled"):
        page = fetcher().fetch(web.url(path)).page
        assert page.kind == "pdf"
        assert page.title == "Tidal power survey"
        expected = "\n\n".join(
            f"[page {i}]\n" + "\n".join(lines) for i, lines in enumerate(PDF_PAGES, start=1)
        )
        assert page.text == expected


def test_fifty_megabyte_page_is_cut_at_the_cap_in_bounded_time_and_memory(web: WebServer) -> None:
    cap = 3 * 1024 * 1024
    f = fetcher(FetchSettings(politeness_delay=0.0, max_bytes=cap, total_timeout=20.0))
    tracemalloc.start()
    try:
        page = f.fetch(web.url("/huge")).page
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert page.truncated and page.bytes_read == cap  # the cap ended it, not the 20 s limit
    assert page.text.startswith("The tide comes in and the tide goes out again.")
    assert peak < 8 * cap, f"peak Python memory {peak / 1e6:.1f} MB for a {cap / 1e6:.1f} MB cap"
    deadline = time.monotonic() + 60
    while web.sent["/huge"] == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert web.sent["/huge"] < HUGE_SIZE // 2  # the client hung up long before the end


def test_binary_bytes_labelled_html_are_refused(web: WebServer) -> None:
    err = failure(fetcher(), web.url("/binary"))
    assert err.stage == "unreadable"
    assert err.reason == "the body is binary data (declared as text/html)"


def test_image_is_refused_from_its_content_type(web: WebServer) -> None:
    err = failure(fetcher(), web.url("/photo.png"))
    assert err.stage == "unreadable"
    assert err.reason.startswith("its content type (image/png) is not one this tool reads")
    assert err.hops[-1].detail == "HTTP 200, image/png (not read)"


def test_redirect_loop_and_endless_chain_stop(web: WebServer) -> None:
    loop = failure(fetcher(), web.url("/loop"))
    assert loop.reason == f"redirect loop ({web.url('/loop2')} sends back to {web.url('/loop')})"
    assert [h.url for h in loop.hops] == [web.url("/loop"), web.url("/loop2")]
    chain = failure(fetcher(FetchSettings(politeness_delay=0.0, max_redirects=4)), web.url("/chain/0"))
    assert chain.reason == "too many redirects (more than 4)"
    assert [h.url for h in chain.hops] == [web.url(f"/chain/{i}") for i in range(5)]


def test_slow_drip_and_silent_servers_end_in_bounded_time(web: WebServer) -> None:
    for path in ("/slow", "/silent"):
        started = time.monotonic()
        err = failure(fetcher(), web.url(path))
        elapsed = time.monotonic() - started
        assert err.stage == "unreachable"
        assert err.reason.startswith("the server was too slow (no data for 1.5 s, or not done within 3 s")
        assert elapsed < 120, path  # the servers would go on for ten minutes: it gave up on its own
        assert not err.hops[-1].ok


@pytest.mark.parametrize(
    ("path", "reason"), [("/missing", "HTTP 404 Not Found"), ("/broken", "HTTP 500 Internal Server Error")]
)
def test_http_errors(web: WebServer, path: str, reason: str) -> None:
    err = failure(fetcher(), web.url(path))
    assert err.stage == "unreachable"
    assert err.reason == f"the server answered {reason}"
    assert [(h.url, h.ok, h.detail) for h in err.hops] == [(web.url(path), False, reason)]


def test_non_utf8_charsets_from_header_and_meta(web: WebServer) -> None:
    russian = fetcher().fetch(web.url("/cp1251")).page
    assert RUSSIAN in russian.text
    assert russian.title == "Приливы"
    french = fetcher().fetch(web.url("/latin1")).page
    assert LATIN1_TEXT in french.text


def test_markdown_is_kept_as_is_and_empty_pages_are_refused(web: WebServer) -> None:
    page = fetcher().fetch(web.url("/notes.md")).page
    assert page.kind == "text"
    assert page.text == MARKDOWN.strip()
    assert failure(fetcher(), web.url("/empty")).reason == "the page holds no readable text"


def test_non_http_urls_never_leave_the_machine() -> None:
    err = failure(fetcher(), "file:///etc/passwd")
    assert err.reason == "'file:///etc/passwd' is not an http(s) URL"
    assert err.hops == []


def test_politeness_delay_per_host() -> None:
    now = [100.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    pacer = HostPacer(sleep=sleep, clock=lambda: now[0])
    assert pacer.wait("a.example", 2.0) == 0.0
    now[0] += 0.5
    assert pacer.wait("a.example", 2.0) == pytest.approx(1.5)
    assert pacer.wait("b.example", 2.0) == 0.0
    assert pacer.wait("a.example", 2.0) == pytest.approx(2.0)
    assert slept == [pytest.approx(1.5), pytest.approx(2.0)]


def test_fetcher_paces_requests_to_the_same_host(web: WebServer) -> None:
    slept: list[float] = []
    pacer = HostPacer(sleep=slept.append, clock=lambda: 50.0)
    f = Fetcher(
        FetchSettings(politeness_delay=0.75), pacer=pacer, archive=PageArchive(get_paths().cache_dir / "p")
    )
    f.fetch(web.url("/article"))
    f.fetch(web.url("/notes.md"))
    assert slept == [0.75]


def test_classify_and_decode() -> None:
    assert page_text.classify("text/html", b"\x00\x01\x02binary") == "binary"
    assert page_text.classify("", b"<!DOCTYPE html><html>") == "html"
    assert page_text.classify("application/octet-stream", b"%PDF-1.7\n") == "pdf"
    assert page_text.classify("application/pdf", b"<html>not a pdf") == "binary"
    assert page_text.classify("text/markdown", b"# Title") == "text"
    assert page_text.classify("application/zip", b"plain words") == "unsupported"
    assert page_text.decode("café".encode("cp1252"), "text/plain", html=False) == "café"
    assert page_text.decode("日本".encode(), "", html=False) == "日本"
    assert page_text.decode("naïve".encode()[:-3], "", html=False, truncated=True) == "na"
    assert page_text.decode(b'<meta charset="koi8-r">' + "мир".encode("koi8-r"), "", html=True).endswith(
        "мир"
    )
    assert page_text.decode("x".encode("utf-16"), "text/plain; charset=bogus", html=False) == "x"


def test_refused_connection_and_invalid_urls_fail_cleanly(web: WebServer) -> None:
    import socket

    with socket.socket() as probe:  # a loopback port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    refused = failure(fetcher(), f"http://127.0.0.1:{port}/")
    assert refused.stage == "unreachable" and refused.reason.startswith(
        "the connection failed (ConnectError:"
    )
    assert [(h.url, h.ok) for h in refused.hops] == [(f"http://127.0.0.1:{port}/", False)]
    for url in ("http://127.0.0.1:99999/x", "http://[::1/x"):
        bad = failure(fetcher(), url)
        assert bad.stage == "unreachable" and bad.reason.startswith(f"'{url}' is not a valid URL (")
        assert bad.hops == []
