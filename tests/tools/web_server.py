"""A real HTTP server on 127.0.0.1 with the pages the web tools must survive.

Routes: an article with navigation and ads, a PDF, a 50 MB page generated while it streams,
binary bytes labelled text/html, a redirect loop and an endless redirect chain, a slow drip,
a server that goes silent, 404 and 500, pages in windows-1251 and latin-1, Markdown, an image.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest

from tests.support.quiet_server import QuietHTTPServer
from tests.tools.pdf_bytes import make_pdf

ARTICLE = (Path(__file__).parent / "fixtures" / "article.html").read_text(encoding="utf-8")

PDF_PAGES = [
    ["Tidal power survey", "The Bay of Fundy has a tidal range of up to 16 metres."],
    ["Operating history", "The Annapolis Royal station produced 20 megawatts until 2019."],
    ["Outlook", "In-stream turbines are tested at the FORCE site near Parrsboro."],
]
PDF = make_pdf(PDF_PAGES, title="Tidal power survey")

RUSSIAN = "Приливная электростанция в заливе Фанди закрылась в 2019 году после поломки турбины."
CP1251_PAGE = (
    "<html><head><title>Приливы</title></head><body><article><h1>Приливы</h1>"
    f"<p>{RUSSIAN}</p><p>Высота прилива достигает шестнадцати метров.</p></article></body></html>"
).encode("cp1251")
LATIN1_TEXT = "Le café de la baie sert une crème brûlée près du môle, à côté de l'usine marémotrice."
LATIN1_PAGE = (
    '<html><head><meta http-equiv="Content-Type" content="text/html; charset=iso-8859-1">'
    f"<title>Baie</title></head><body><article><p>{LATIN1_TEXT}</p>"
    "<p>Les marées y sont les plus hautes du monde, jusqu'à seize mètres.</p></article></body></html>"
).encode("latin-1")
MARKDOWN = "# Notes\n\nThe tide turns **twice** a day.\n\n- first item\n- second item\n"
HUGE_SIZE = 50 * 1024 * 1024
_HUGE_CHUNK = b"<p>" + b"The tide comes in and the tide goes out again. " * 40 + b"</p>\n"


@dataclass
class WebServer:
    base: str
    hits: Counter[str] = field(default_factory=Counter)
    sent: Counter[str] = field(default_factory=Counter)
    """Body bytes each route managed to send."""
    stop: threading.Event = field(default_factory=threading.Event)

    def url(self, path: str) -> str:
        return self.base + path


def _handler(server: WebServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            pass

        def _send(self, status: int, body: bytes, content_type: str, **headers: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            for name, value in headers.items():
                self.send_header(name.replace("_", "-"), value)
            self.end_headers()
            self.wfile.write(body)
            server.sent[self.path] += len(body)

        def _redirect(self, target: str) -> None:
            self.send_response(302)
            self.send_header("Location", target)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def _stream(self, content_type: str, chunks: Iterator[bytes], length: int | None = None) -> None:
            self.send_response(200)
            self.send_header("Content-Type", content_type)
            if length is not None:
                self.send_header("Content-Length", str(length))
            self.send_header("Connection", "close")
            self.end_headers()
            try:
                for chunk in chunks:
                    if server.stop.is_set():
                        return
                    self.wfile.write(chunk)
                    self.wfile.flush()
                    server.sent[self.path] += len(chunk)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client stopped reading: what we want it to do
            self.close_connection = True

        def do_GET(self) -> None:
            path = self.path
            server.hits[path] += 1
            route = ROUTES.get(path.split("?")[0])
            if route is None:
                if path.startswith("/chain/"):
                    self._redirect(f"/chain/{int(path.rsplit('/', 1)[1]) + 1}")
                    return
                self._send(404, b"<html><body>Not here</body></html>", "text/html")
                return
            route(self)

    def huge(h: Handler) -> None:
        def chunks() -> Iterator[bytes]:
            sent = 0
            while sent < HUGE_SIZE:
                piece = _HUGE_CHUNK[: HUGE_SIZE - sent]
                sent += len(piece)
                yield piece

        h._stream("text/html; charset=utf-8", chunks(), HUGE_SIZE)

    # The slow and the silent server go on for ten minutes (or until the test ends): a client that
    # gave up on time is told apart from one that waited for them by minutes, not by seconds.
    def slow(h: Handler) -> None:
        def drip() -> Iterator[bytes]:
            yield b"<html><body><p>"
            for _ in range(6000):
                if server.stop.wait(0.1):
                    return
                yield b"drip "

        h._stream("text/html", drip())

    def silent(h: Handler) -> None:
        def nothing() -> Iterator[bytes]:
            yield b"<html>"
            server.stop.wait(600)

        h._stream("text/html", nothing())

    ROUTES: dict[str, Callable[[Handler], None]] = {
        "/article": lambda h: h._send(200, ARTICLE.encode(), "text/html; charset=utf-8"),
        "/paper.pdf": lambda h: h._send(200, PDF, "application/pdf"),
        "/paper-unlabelled": lambda h: h._send(200, PDF, "application/octet-stream"),
        "/huge": huge,
        "/binary": lambda h: h._send(200, bytes(range(256)) * 64, "text/html"),
        "/loop": lambda h: h._redirect("/loop2"),
        "/loop2": lambda h: h._redirect("/loop"),
        "/moved": lambda h: h._redirect("/article"),
        "/slow": slow,
        "/silent": silent,
        "/missing": lambda h: h._send(404, b"<html><body>gone</body></html>", "text/html"),
        "/broken": lambda h: h._send(500, b"<html><body>oops</body></html>", "text/html"),
        "/cp1251": lambda h: h._send(200, CP1251_PAGE, "text/html; charset=windows-1251"),
        "/latin1": lambda h: h._send(200, LATIN1_PAGE, "text/html"),
        "/notes.md": lambda h: h._send(200, MARKDOWN.encode(), "text/markdown; charset=utf-8"),
        "/photo.png": lambda h: h._send(200, b"\x89PNG\r\n\x1a\n" + bytes(5000), "image/png"),
        "/empty": lambda h: h._send(200, b"", "text/html"),
    }
    return Handler


@pytest.fixture
def web() -> Iterator[WebServer]:
    """The test web server, on a free port of 127.0.0.1."""
    holder = WebServer(base="")
    httpd = QuietHTTPServer(("127.0.0.1", 0), _handler(holder))
    holder.base = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield holder
    finally:
        holder.stop.set()
        httpd.shutdown()
        httpd.server_close()
