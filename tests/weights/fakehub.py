"""Model hubs on 127.0.0.1 for the download tests: Hugging Face-shaped and ModelScope-shaped.

The Hugging Face shape is what huggingface_hub itself calls: ``HEAD``/``GET
/{repo}/resolve/{rev}/{file}`` (``X-Repo-Commit``, ``ETag``; LFS files answer ``302`` to a
second "CDN" origin with ``X-Linked-Size`` and ``X-Linked-Etag``), ``POST
/api/models/{repo}/paths-info/{rev}`` and ``GET /api/models/{repo}/tree/{rev}``. The
ModelScope shape is ``GET /api/v1/models/{repo}/repo/files`` and ``GET
/api/v1/models/{repo}/repo?Revision=…&FilePath=…``. File bodies honour ``Range`` (206 +
``Content-Range``), can be throttled, and can misbehave on demand (:class:`Fault`). Every
request and every byte sent is recorded.
"""

from __future__ import annotations

import hashlib
import json
import socket
import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

COMMIT = "0123456789abcdef0123456789abcdef01234567"
BLOCK = 64 << 10


def make_bytes(size: int, seed: int = 0) -> bytes:
    """Deterministic pseudo-random content (fast: a repeated 1 MiB block, salted per MiB)."""
    import random

    base = random.Random(seed).randbytes(1 << 20)
    out = bytearray()
    i = 0
    while len(out) < size:
        out += i.to_bytes(8, "little") + base[8:]
        i += 1
    return bytes(out[:size])


@dataclass
class HubFile:
    data: bytes
    lfs: bool = True

    @property
    def size(self) -> int:
        return len(self.data)

    @cached_property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()

    @cached_property
    def git_oid(self) -> str:
        return hashlib.sha1(b"blob %d\0" % len(self.data) + self.data).hexdigest()


@dataclass
class Fault:
    """How one GET of a file's bytes misbehaves.

    ``status``: answer that HTTP status. ``drop``: announce the full length, send ``after`` bytes,
    cut the connection. ``stall``: send ``after`` bytes, then nothing for ``seconds``. ``short``: a
    well-formed answer that holds only ``after`` bytes. ``wrong``: the right length, one byte
    flipped at ``after``. ``ignore_range``: answer 200 with the whole file.
    """

    kind: str
    status: int = 500
    after: int = 0
    seconds: float = 0.0


@dataclass
class Served:
    method: str
    path: str
    range: str | None
    auth: str | None
    host: str
    sent: int = 0
    ended: bool = False
    """The body is over: all sent, or the client hung up (no byte of it can move any more)."""


@dataclass
class FakeHub:
    style: str = "hf"
    """"hf" or "modelscope"."""
    rate: float | None = None
    """Bytes per second for file bodies (None: as fast as possible)."""
    block: int = BLOCK
    """Bytes per write of a body."""
    cdn: bool = True
    """HF style: answer LFS files with a redirect to a second origin, like the real hub."""
    token: str | None = None
    """When set, gated repositories (``gated``) need ``Authorization: Bearer TOKEN``."""
    repos: dict[str, dict[str, HubFile]] = field(default_factory=dict)
    gated: set[str] = field(default_factory=set)
    faults: dict[str, deque[Fault]] = field(default_factory=dict)
    always: dict[str, Fault] = field(default_factory=dict)
    log: list[Served] = field(default_factory=list)
    sent: Counter[str] = field(default_factory=Counter)
    on_bytes: Callable[[str, int], None] | None = None
    """Called with (file path, end offset) after each block of a body is sent."""

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._servers: list[ThreadingHTTPServer] = []

    # -- setup ----------------------------------------------------------------------------
    def add(self, repo: str, path: str, data: bytes, lfs: bool = True) -> HubFile:
        f = HubFile(data, lfs)
        self.repos.setdefault(repo, {})[path] = f
        return f

    def fault(self, path: str, *faults: Fault) -> None:
        self.faults.setdefault(path, deque()).extend(faults)

    def start(self) -> FakeHub:
        for role in ("main", "cdn"):
            handler = type("Handler", (_Handler,), {"hub": self, "role": role})
            server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
            server.daemon_threads = True
            threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
            self._servers.append(server)
        return self

    def stop(self) -> None:
        for server in self._servers:
            server.shutdown()
            server.server_close()

    def __enter__(self) -> FakeHub:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._servers[0].server_address[1]}"

    @property
    def cdn_url(self) -> str:
        return f"http://127.0.0.1:{self._servers[1].server_address[1]}"

    def body_gets(self, path: str) -> list[Served]:
        """The GETs that asked for this file's bytes (not redirects, not metadata)."""
        return [s for s in self.log if s.method == "GET" and s.path == path and s.host == "file"]

    def next_fault(self, path: str) -> Fault | None:
        with self._lock:
            queue = self.faults.get(path)
            if queue:
                return queue.popleft()
        return self.always.get(path)

    def find_blob(self, sha: str) -> tuple[str, HubFile] | None:
        for files in self.repos.values():
            for path, f in files.items():
                if f.sha256 == sha:
                    return path, f
        return None


class _Handler(BaseHTTPRequestHandler):
    hub: FakeHub
    role: str
    body: bytes = b""
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    # -- helpers --------------------------------------------------------------------------
    def _json(self, status: int, data: Any, headers: dict[str, str] | None = None) -> None:
        body = json.dumps(data).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _error(self, status: int, code: str = "") -> None:
        self._json(status, {"error": code or "error"}, {"X-Error-Code": code} if code else None)

    def _record(self, path: str, host: str = "file") -> Served:
        entry = Served(self.command, path, self.headers.get("Range"), self.headers.get("Authorization"), host)
        with self.hub._lock:
            self.hub.log.append(entry)
        return entry

    def _repo(self, repo: str) -> dict[str, HubFile] | None:
        files = self.hub.repos.get(repo)
        if files is None:
            self._error(404, "RepoNotFound")
            return None
        if repo in self.hub.gated and self.headers.get("Authorization") != f"Bearer {self.hub.token}":
            self._error(403 if self.headers.get("Authorization") else 401, "GatedRepo")
            return None
        return files

    # -- routing --------------------------------------------------------------------------
    def do_HEAD(self) -> None:
        self._route()

    def do_GET(self) -> None:
        self._route()

    def do_POST(self) -> None:
        self._route()

    def _route(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.body = self.rfile.read(length) if length else b""  # always drain it: keep-alive
        url = urlsplit(self.path)
        parts = [unquote(p) for p in url.path.split("/") if p]
        query = parse_qs(url.query)
        try:
            if self.role == "cdn":
                found = self.hub.find_blob(parts[-1]) if parts[:1] == ["cdn"] else None
                if found is None:
                    return self._error(404)
                return self._send_file(found[0], found[1])
            if self.hub.style == "modelscope":
                return self._modelscope(parts, query)
            return self._hf(parts, query)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def _hf(self, parts: list[str], query: dict[str, list[str]]) -> None:
        if parts[:2] == ["api", "models"] and len(parts) >= 6 and parts[4] in ("paths-info", "tree"):
            repo, kind, rev = f"{parts[2]}/{parts[3]}", parts[4], parts[5]
            self._record("/".join(parts), "meta")
            files = self._repo(repo)
            if files is None:
                return None
            if rev not in ("main", COMMIT):
                return self._error(404, "RevisionNotFound")
            if kind == "paths-info":
                form = parse_qs(self.body.decode())
                wanted = form.get("paths", [])
                return self._json(200, [_hf_entry(p, files[p]) for p in wanted if p in files])
            return self._json(200, _hf_tree(files))
        if len(parts) >= 5 and parts[2] == "resolve":
            repo, rev, path = f"{parts[0]}/{parts[1]}", parts[3], "/".join(parts[4:])
            files = self._repo(repo)
            if files is None:
                self._record(path, "meta")
                return None
            if rev not in ("main", COMMIT):
                return self._error(404, "RevisionNotFound")
            f = files.get(path)
            if f is None:
                return self._error(404, "EntryNotFound")
            if f.lfs and self.hub.cdn:
                self._record(path, "meta")
                self.send_response(302)
                self.send_header("Location", f"{self.hub.cdn_url}/cdn/{f.sha256}")
                self.send_header("X-Linked-Size", str(f.size))
                self.send_header("X-Linked-Etag", f'"{f.sha256}"')
                self.send_header("X-Repo-Commit", COMMIT)
                self.send_header("ETag", f'"{f.git_oid}"')
                self.send_header("Content-Length", "0")
                self.end_headers()
                return None
            return self._send_file(
                path, f, {"X-Repo-Commit": COMMIT, "ETag": f'"{f.sha256 if f.lfs else f.git_oid}"'}
            )
        return self._error(404)

    def _modelscope(self, parts: list[str], query: dict[str, list[str]]) -> None:
        if parts[:3] != ["api", "v1", "models"] or len(parts) < 6 or parts[5] != "repo":
            return self._error(404)
        repo = f"{parts[3]}/{parts[4]}"
        files = self.hub.repos.get(repo)
        if files is None:
            self._record("/".join(parts), "meta")
            return self._json(404, {"Code": 10010205, "Message": f"model {repo} not found", "Success": False})
        if parts[6:] == ["files"]:
            self._record("/".join(parts), "meta")
            listing = [
                {
                    "Name": p.rsplit("/", 1)[-1],
                    "Path": p,
                    "Size": f.size,
                    "Sha256": f.sha256,
                    "Type": "blob",
                    "Revision": query.get("Revision", ["master"])[0],
                }
                for p, f in sorted(files.items())
            ]
            return self._json(200, {"Code": 200, "Data": {"Files": listing}, "Success": True})
        path = query.get("FilePath", [""])[0]
        f = files.get(path)
        if f is None:
            return self._json(404, {"Code": 10010205, "Message": "file not found", "Success": False})
        return self._send_file(path, f)

    # -- bodies ---------------------------------------------------------------------------
    def _send_file(self, path: str, f: HubFile, extra: dict[str, str] | None = None) -> None:
        entry = self._record(path)
        fault = self.hub.next_fault(path) if self.command == "GET" else None
        if fault and fault.kind == "status":
            self.close_connection = True
            return self._error(fault.status)
        start, end = 0, f.size
        ranged = self.headers.get("Range")
        status = 200
        if ranged and not (fault and fault.kind == "ignore_range"):
            first = int(ranged.removeprefix("bytes=").split("-")[0])
            if first >= f.size:
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{f.size}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return None
            start, status = first, 206
        data = f.data
        if fault and fault.kind == "wrong":
            data = data[: fault.after] + bytes([data[fault.after] ^ 0xFF]) + data[fault.after + 1 :]
        body_end = min(end, start + fault.after) if fault and fault.kind == "short" else end
        self.send_response(status)
        self.send_header("Content-Length", str(body_end - start))
        self.send_header("Accept-Ranges", "bytes")
        if status == 206:
            self.send_header("Content-Range", f"bytes {start}-{body_end - 1}/{f.size}")
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command == "HEAD":
            return None
        stop = start + fault.after if fault and fault.kind in ("drop", "stall") else body_end
        self._stream(path, data, start, min(stop, body_end), entry)
        if fault and fault.kind == "stall":
            time.sleep(fault.seconds)
        if fault and fault.kind in ("drop", "stall"):
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)

    def _stream(self, path: str, data: bytes, start: int, stop: int, entry: Served) -> None:
        try:
            self._stream_body(path, data, start, stop, entry)
        finally:
            entry.ended = True

    def _stream_body(self, path: str, data: bytes, start: int, stop: int, entry: Served) -> None:
        began, pos = time.monotonic(), start
        while pos < stop:
            block = data[pos : min(pos + self.hub.block, stop)]
            self.wfile.write(block)
            pos += len(block)
            entry.sent += len(block)
            with self.hub._lock:
                self.hub.sent[path] += len(block)
            if self.hub.on_bytes is not None:
                self.hub.on_bytes(path, pos)
            if self.hub.rate:
                ahead = began + (pos - start) / self.hub.rate - time.monotonic()
                if ahead > 0:
                    time.sleep(ahead)


def _hf_entry(path: str, f: HubFile) -> dict[str, Any]:
    entry: dict[str, Any] = {"type": "file", "path": path, "size": f.size, "oid": f.git_oid}
    if f.lfs:
        entry["lfs"] = {"oid": f.sha256, "size": f.size, "pointerSize": 134}
    return entry


def _hf_tree(files: dict[str, HubFile]) -> list[dict[str, Any]]:
    folders = sorted({p.rsplit("/", 1)[0] for p in files if "/" in p})
    out: list[dict[str, Any]] = [{"type": "directory", "path": d, "oid": "0" * 40} for d in folders]
    return out + [_hf_entry(p, f) for p, f in sorted(files.items())]
