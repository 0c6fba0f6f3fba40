"""Offline mode and privacy: the availability check, the network guard, the privacy guard.

Nothing here reaches a non-loopback address: blocked targets use TEST-NET-1 (192.0.2.0/24) with
tiny timeouts, and the guard must refuse them before a connection is even attempted.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest

from deepresearch_local.tools.base import ToolRegistry
from deepresearch_local.tools.network import (
    BlockedConnection,
    NetworkGuard,
    NetworkStatus,
    OfflineViolation,
    check_network,
    check_query_privacy,
    decide_offline,
    guard_active,
    is_local_host,
)
from deepresearch_local.tools.python_sandbox import PythonInterpreter
from deepresearch_local.tools.search import ScholarTool, WebSearchTool
from deepresearch_local.tools.visit import VisitTool

TEST_NET = "192.0.2.1"
HOSTNAME = socket.gethostname()
"""A name that is not loopback by name, yet resolves from /etc/hosts: should the guard ever fail
to block its lookup, no DNS query leaves the machine."""


@pytest.fixture
def loopback_server() -> Iterator[tuple[int, list[str]]]:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    server.settimeout(0.1)
    accepted: list[str] = []
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, peer = server.accept()
            except TimeoutError:
                continue
            accepted.append(peer[0])
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield server.getsockname()[1], accepted
    stop.set()
    thread.join()
    server.close()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# --- availability ---------------------------------------------------------------------------


def test_offline_request_makes_no_probe_at_all() -> None:
    calls: list[tuple[str, int, float]] = []
    with NetworkGuard() as guard:
        status = check_network(offline=True, connect=lambda h, p, t: calls.append((h, p, t)))
    assert status == NetworkStatus(False, "offline mode was requested", checked=False)
    assert calls == [] and guard.attempts == []


def test_check_reaches_a_real_server(loopback_server: tuple[int, list[str]]) -> None:
    port, accepted = loopback_server
    status = check_network(offline=False, host="127.0.0.1", port=port, timeout=30.0)  # a busy machine
    assert status == NetworkStatus(True, f"reached 127.0.0.1:{port}", checked=True)
    deadline = time.monotonic() + 60
    while not accepted and time.monotonic() < deadline:
        time.sleep(0.02)
    assert accepted == ["127.0.0.1"]


def test_check_reports_a_refused_connection() -> None:
    port = free_port()
    status = check_network(offline=False, host="127.0.0.1", port=port, timeout=1.0)
    assert status.online is False and status.checked is True
    assert status.reason.startswith(f"cannot reach 127.0.0.1:{port}: [Errno 111]")


def test_check_does_not_wait_for_a_hanging_resolver() -> None:
    release, returned = threading.Event(), threading.Event()

    def hangs(host: str, port: int, timeout: float) -> None:
        release.wait(120)
        returned.set()

    status = check_network(offline=False, host="search.invalid", timeout=0.2, connect=hangs)
    assert not returned.is_set()  # the check answered while the lookup was still hanging
    release.set()
    assert status == NetworkStatus(False, "no answer from search.invalid:443 within 0.2 s", checked=True)


def test_decide_offline() -> None:
    def must_not_run() -> NetworkStatus:
        raise AssertionError("no check when offline is asked for")

    assert decide_offline(True, check=must_not_run).reason == "--offline was given"
    assert decide_offline(False, True, check=must_not_run).reason == "offline is set in the settings"
    down = decide_offline(False, check=lambda: NetworkStatus(False, "cannot reach x:443: boom", True))
    assert (down.offline, down.reason) == (True, "no network (cannot reach x:443: boom): running offline")
    up = decide_offline(False, check=lambda: NetworkStatus(True, "reached x:443", True))
    assert (up.offline, up.reason) == (False, "reached x:443")


# --- the guard ------------------------------------------------------------------------------


def test_guard_refuses_a_non_loopback_connect_before_connecting() -> None:
    with NetworkGuard() as guard, socket.socket() as sock:
        sock.settimeout(0.05)  # should the guard fail, a timeout (not OfflineViolation) ends the test
        with pytest.raises(OfflineViolation, match=r"socket\.connect to 192\.0\.2\.1:80 was blocked"):
            sock.connect((TEST_NET, 80))
        with pytest.raises(OSError):  # refused before connecting: the socket has no peer
            sock.getpeername()
    assert [(a.event, a.target) for a in guard.attempts] == [("socket.connect", f"{TEST_NET}:80")]


def test_guard_allows_loopback(loopback_server: tuple[int, list[str]]) -> None:
    port, _ = loopback_server
    with NetworkGuard() as guard:
        for host in ("127.0.0.1", "localhost"):
            with socket.create_connection((host, port), timeout=30) as conn:
                assert conn.getpeername()[1] == port
    assert guard.attempts == []


def test_guard_blocks_dns_lookups_and_udp() -> None:
    seen: list[BlockedConnection] = []
    with NetworkGuard(on_block=seen.append) as guard:
        with pytest.raises(OfflineViolation):
            socket.getaddrinfo(HOSTNAME, 443)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp, pytest.raises(OfflineViolation):
            udp.sendto(b"x", (TEST_NET, 53))
        assert socket.getaddrinfo("localhost", 80)  # local names still resolve
    expected = [("socket.getaddrinfo", HOSTNAME), ("socket.sendto", f"{TEST_NET}:53")]
    assert [(a.event, a.target) for a in guard.attempts] == expected
    assert seen == guard.attempts


def test_guard_covers_other_threads_and_http_clients() -> None:
    import httpx

    errors: list[BaseException] = []

    def worker() -> None:
        try:
            httpx.get(f"http://{TEST_NET}:8080/", timeout=0.2)
        except BaseException as exc:
            errors.append(exc)

    with NetworkGuard() as guard:
        thread = threading.Thread(target=worker, name="tool-worker")
        thread.start()
        thread.join(120)  # the guard refuses at once; the deadline only turns a hang into a failure
    assert len(errors) == 1 and isinstance(errors[0], httpx.ConnectError)
    assert "was blocked" in str(errors[0])
    assert [(a.target, a.thread) for a in guard.attempts] == [(f"{TEST_NET}:8080", "tool-worker")]


def test_guards_nest_and_switch_off() -> None:
    with NetworkGuard() as outer:
        with NetworkGuard() as inner, pytest.raises(OfflineViolation):
            socket.getaddrinfo(HOSTNAME, 80)
        assert guard_active()
        with pytest.raises(OfflineViolation):
            socket.gethostbyname(HOSTNAME)
    assert not guard_active()
    assert [a.event for a in inner.attempts] == ["socket.getaddrinfo"]
    assert [a.event for a in outer.attempts] == ["socket.getaddrinfo", "socket.gethostbyname"]
    assert {a.target for a in outer.attempts} == {HOSTNAME}


@pytest.mark.parametrize(
    ("host", "local"),
    [
        ("127.0.0.1", True), ("127.8.9.1", True), ("::1", True), ("[::1]", True), ("::ffff:127.0.0.1", True),
        ("localhost", True), ("LOCALHOST.", True), ("app.localhost", True), ("0.0.0.0", True), (None, True),
        ("10.0.0.1", False), ("192.0.2.1", False), ("::ffff:192.0.2.1", False), ("example.com", False),
        ("localhost.example.com", False),
    ],
)  # fmt: skip
def test_is_local_host(host: str | None, local: bool) -> None:
    assert is_local_host(host) is local


# --- privacy --------------------------------------------------------------------------------

PRIVATE = (
    "Our quarterly board memo explains that the Lisbon subsidiary will merge its logistics unit with the "
    "Porto warehouse team before the end of March, pending approval by the works council and the bank."
)


def test_privacy_guard_catches_a_20_word_verbatim_span() -> None:
    span = " ".join(PRIVATE.split()[3:23])  # 20 words: "memo explains that ... before the"
    query = f"What does it mean when {span.upper()}?"
    text = check_query_privacy(query, ["unrelated notes about gardening", PRIVATE])
    assert text is not None
    assert text.startswith("[Privacy guard] This query was not sent: it repeats 20 consecutive words")
    assert '("memo explains that the lisbon subsidiary will merge ...")' in text
    assert "local_search" in text


def test_privacy_guard_lets_normal_queries_through() -> None:
    assert check_query_privacy("Lisbon subsidiary logistics merger works council approval", [PRIVATE]) is None
    eleven = " ".join(PRIVATE.split()[:11])
    assert check_query_privacy(eleven + " news", [PRIVATE]) is None
    assert check_query_privacy(" ".join(PRIVATE.split()[:12]), [PRIVATE]) is not None
    assert check_query_privacy(PRIVATE, []) is None


def test_privacy_guard_ignores_punctuation_and_spacing() -> None:
    query = "the  Lisbon-subsidiary, will merge its logistics unit; with the Porto warehouse team before"
    assert check_query_privacy(query, [PRIVATE], min_span_words=12) is not None


def test_privacy_guard_scales_to_a_large_library() -> None:
    vocabulary = [f"w{i}" for i in range(5000)]
    texts = [" ".join(vocabulary[(i * 7 + j * 13) % 5000] for j in range(150)) for i in range(20_000)]
    texts.append(PRIVATE)
    query = " ".join(PRIVATE.split()[10:30])
    started = time.monotonic()
    assert check_query_privacy(query, iter(texts)) is not None
    assert check_query_privacy("w1 w2 w3 w4 w5 w6 w7 w8 w9 w10 w11 w12 w13", texts) is None
    # Two or three seconds here, alone: the bound catches only a runaway (tens of times slower),
    # never a busy machine; how fast it is belongs in a benchmark.
    assert time.monotonic() - started < 120


# --- the registry offline -------------------------------------------------------------------


def test_offline_registry_offers_no_network_tool() -> None:
    registry = ToolRegistry([WebSearchTool(), ScholarTool(), VisitTool(), PythonInterpreter()])
    online = [schema["function"]["name"] for schema in registry.schemas(offline=False)]
    offline = [schema["function"]["name"] for schema in registry.schemas(offline=True)]
    assert online == ["search", "google_scholar", "visit", "PythonInterpreter"]
    assert offline == ["PythonInterpreter"]
    assert all(not tool.needs_network for tool in registry.available(offline=True))
