"""A real HTTP server on 127.0.0.1 that answers like the search providers' APIs.

Each test scripts the replies (status, headers, body) the server gives, in order; once the script
is used up it answers with the provider's documented JSON for the query. Every request is
recorded (method, path, query string, headers, JSON body) so tests can check what left the app.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest


@dataclass(frozen=True)
class Reply:
    status: int = 200
    body: bytes | str | dict[str, Any] | list[Any] = b""
    headers: dict[str, str] = field(default_factory=dict)
    hang: bool = False
    """Say nothing until the test ends (a server that never answers)."""


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: dict[str, Any] | None


@dataclass
class SearchServer:
    base: str
    answer: Callable[[Request], Reply]
    """The provider's normal answer (set per test)."""
    script: list[Reply] = field(default_factory=list)
    requests: list[Request] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def reply_for(self, request: Request) -> Reply:
        self.requests.append(request)
        return self.script.pop(0) if self.script else self.answer(request)


def _handler(server: SearchServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            pass

        def _serve(self) -> None:
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            try:
                body = json.loads(raw) if raw else None
            except ValueError:
                body = {"_unparsed": raw.decode("utf-8", "replace")}
            request = Request(
                self.command,
                parts.path,
                {k: v[-1] for k, v in parse_qs(parts.query).items()},
                {k.lower(): v for k, v in self.headers.items()},
                body,
            )
            reply = server.reply_for(request)
            if reply.hang:
                server.stop.wait(60)
                return
            payload = reply.body
            if isinstance(payload, (dict, list)):
                data = json.dumps(payload).encode()
            else:
                data = payload.encode() if isinstance(payload, str) else payload
            self.send_response(reply.status)
            self.send_header(
                "Content-Type", "application/json" if isinstance(payload, (dict, list)) else "text/html"
            )
            self.send_header("Content-Length", str(len(data)))
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        do_GET = _serve
        do_POST = _serve

    return Handler


@pytest.fixture(name="search_server")
def search_server_fixture() -> Iterator[SearchServer]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), lambda *a: None)  # type: ignore[arg-type]
    server = SearchServer(f"http://127.0.0.1:{httpd.server_address[1]}", answer=lambda r: Reply(404))
    httpd.RequestHandlerClass = _handler(server)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield server
    server.stop.set()
    httpd.shutdown()
    httpd.server_close()
