"""Online research end to end without the internet: `deepresearch ask` with the real 0.5B model,
the real online tool set, a SearXNG-shaped search engine on 127.0.0.1 and the pages it links to
on the same server. Nothing is scripted: the model decides what to search and what to visit.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from deepresearch_local.store.sessions import SessionStore
from tests.support.quiet_server import QuietHTTPServer

REPO = Path(__file__).resolve().parents[2]
NETWATCH = REPO / "tests" / "support" / "netwatch"
QUESTION = (
    "Search the web for the Orvanne Lighthouse, then visit its page to find who its keeper was in 1911."
)
MAX_STEPS = 4

# An invented place, so the model cannot answer from memory: only the page knows the keeper.
PAGES = {
    "/history/orvanne-lighthouse.html": (
        "The Orvanne Lighthouse - harbour history",
        "The Orvanne Lighthouse stands on the north cape of Lake Orvanne. In 1911 the keeper of the "
        "Orvanne Lighthouse was Edda Marsh, who kept its lamp lit for twenty-three winters. The wooden "
        "tower was rebuilt in stone in 1934.",
    ),
    "/guides/lake-orvanne.html": (
        "Lake Orvanne - a visitor's guide",
        "Lake Orvanne is a cold glacial lake with three islands and a ferry that runs in summer.",
    ),
    "/news/harbour-festival.html": (
        "Harbour festival returns",
        "The harbour festival returns with boat races, music and a lantern parade along the quay.",
    ),
}


@dataclass
class Site:
    base: str
    requests: list[str] = field(default_factory=list)

    def searches(self) -> list[str]:
        return [
            parse_qs(urlsplit(r).query).get("q", [""])[0] for r in self.requests if r.startswith("/search")
        ]

    def visits(self) -> list[str]:
        return [r for r in self.requests if urlsplit(r).path in PAGES]


def _words(text: str) -> set[str]:
    return {w for w in re.findall(r"\w+", text.lower()) if len(w) >= 3}


@pytest.fixture
def site() -> Iterator[Site]:
    """A small search engine speaking SearXNG's JSON API, and the pages its results link to."""
    state = Site("")

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            state.requests.append(self.path)
            parts = urlsplit(self.path)
            if parts.path == "/search":
                query = parse_qs(parts.query).get("q", [""])[0]
                scored = [
                    (len(_words(query) & _words(title + " " + text)), path, title, text)
                    for path, (title, text) in PAGES.items()
                ]
                results = [
                    {"title": title, "url": state.base + path, "content": text.split(". ")[0] + ".",
                     "engine": "local", "engines": ["local"], "score": float(score), "category": "general"}
                    for score, path, title, text in sorted(scored, reverse=True)
                    if score
                ]  # fmt: skip
                body = json.dumps({"query": query, "number_of_results": len(results), "results": results})
                self._send(200, body.encode(), "application/json")
            elif parts.path in PAGES:
                title, text = PAGES[parts.path]
                html = f"<html><head><title>{title}</title></head><body><nav>Home | Archive</nav>"
                html += f"<article><h1>{title}</h1><p>{text}</p></article></body></html>"
                self._send(200, html.encode(), "text/html; charset=utf-8")
            else:
                self._send(404, b"not found", "text/plain")

        def _send(self, status: int, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    httpd = QuietHTTPServer(("127.0.0.1", 0), Handler)
    state.base = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield state
    httpd.shutdown()
    httpd.server_close()


@pytest.mark.timeout(3000)  # a few model calls; minutes on a quiet 2-core machine, far more on a loaded one
def test_online_ask_searches_visits_and_cites_a_web_page(
    qwen05b: Path, site: Site, tmp_path: Path, isolated_home: Path
) -> None:
    report_path = tmp_path / "report.md"
    netlog = tmp_path / "net.log"
    env = {
        **{k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")},
        "DEEPRESEARCH_HOME": str(isolated_home),
        "DEEPRESEARCH_SEARCH_PROVIDER": "searxng",
        "SEARXNG_URL": site.base,
        "PYTHONPATH": os.pathsep.join([str(NETWATCH), str(REPO)]),
        "DRL_NETWATCH_LOG": str(netlog),
    }
    cmd = [
        sys.executable, "-m", "deepresearch_local", "ask", QUESTION, "--model", str(qwen05b),
        "--context", "8192", "--max-steps", str(MAX_STEPS), "--mode", "fold", "--temperature", "0",
        "--json", "-o", str(report_path),
    ]  # fmt: skip
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=2700)
    assert proc.returncode in (0, 4), proc.stderr[-3000:]
    events = [json.loads(line) for line in proc.stdout.splitlines()]
    started, finished = events[0], events[-1]
    assert started["type"] == "run_started" and finished["type"] == "finished"
    calls = [(e["name"], e["arguments"]) for e in events if e["type"] == "tool_called"]

    # The run was online (the probe reached the local SearXNG) and the model searched through it.
    searched = [c for c in calls if c[0] == "search"]
    assert searched, f"the model never searched: {calls}"
    assert site.searches(), "no query reached the search engine"
    # It visited a page the search returned, and the page server served it.
    visited = [c for c in calls if c[0] == "visit"]
    assert visited, f"the model never visited a page: {calls}"
    assert site.visits(), "no page was fetched from the server"

    # The session's outbound log has every query (via SearXNG) and every fetch.
    with SessionStore(isolated_home / "data" / "sessions.sqlite3") as store:
        network = store.network(finished["session_id"])
    sent = [n for n in network if n["kind"] == "search"]
    assert sent and all(n["detail"].split("; ")[3].startswith("via SearXNG at 127.0.0.1") for n in sent)
    assert sorted({n["target"] for n in sent}) == sorted(set(site.searches()))
    fetched = {n["target"] for n in network if n["kind"] == "fetch"}
    assert {site.base + path for path in site.visits()} <= fetched

    # An answer, with a report whose sources are the web pages it read.
    assert finished["answer"], f"no answer ({finished['termination']})"
    report = report_path.read_text()
    assert "## Sources" in report, report
    sources = report.split("## Sources", 1)[1]
    cited = set(re.findall(re.escape(site.base) + r"/[\w./-]+\.html", sources))
    assert cited and cited <= {site.base + path for path in site.visits()}, sources
    # Online, but nothing beyond this machine: the only sockets went to loopback.
    assert not netlog.exists() or netlog.read_text() == ""
