"""Offline mode and privacy: is there a network, keep a run off it, keep private text out of queries.

- :func:`check_network` / :func:`decide_offline`: whether a run goes online. Offline requested
  means no connection at all, not even a probe; otherwise one cheap connect with a short timeout.
- :class:`NetworkGuard`: around an offline run, any Python-level attempt to reach a non-loopback
  address (connect, sendto, or a DNS lookup of a non-local name) fails with
  :class:`OfflineViolation` and is recorded. It is a process-wide audit hook, so it sees every
  thread and every library that uses Python sockets (httpx, urllib, asyncio). It does not see
  native code with its own networking (ddgs's HTTP client, hf_xet) or child processes: offline
  runs must not call those at all, which is why the tool registry drops network tools offline.
- :func:`check_query_privacy`: refuses a web query that repeats a long verbatim span of the
  user's local documents, or a secret-looking token of them, and says so to the model (the rules
  are in ``tools.privacy``; URLs are checked by ``tools.url_guard``).
"""

from __future__ import annotations

import ipaddress
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from deepresearch_local.tools.texts import load

if TYPE_CHECKING:
    from deepresearch_local.tools.base import NetworkEvent

DEFAULT_CHECK_HOST = "duckduckgo.com"
"""What the availability check connects to when none is configured (the default search host)."""

Connect = Callable[[str, int, float], None]
"""Opens and closes one connection, raising OSError when it cannot: the injectable probe."""


@dataclass(frozen=True)
class NetworkStatus:
    online: bool
    reason: str
    checked: bool
    """False when no probe was made (offline was requested)."""


def _tcp_connect(host: str, port: int, timeout: float) -> None:
    socket.create_connection((host, port), timeout=timeout).close()


def check_network(
    *,
    offline: bool,
    host: str = DEFAULT_CHECK_HOST,
    port: int = 443,
    timeout: float = 1.0,
    connect: Connect | None = None,
) -> NetworkStatus:
    """Whether the network is usable. ``offline=True`` answers at once and touches no socket.

    The probe runs in a daemon thread so a slow DNS resolver cannot hold the caller past
    ``timeout`` (plus half a second).
    """
    if offline:
        return NetworkStatus(False, "offline mode was requested", checked=False)
    probe = connect or _tcp_connect
    outcome: list[BaseException | None] = []

    def attempt() -> None:
        try:
            probe(host, port, timeout)
            outcome.append(None)
        except Exception as exc:
            outcome.append(exc)

    worker = threading.Thread(target=attempt, name="network-check", daemon=True)
    worker.start()
    worker.join(timeout + 0.5)
    if not outcome:
        return NetworkStatus(False, f"no answer from {host}:{port} within {timeout:g} s", checked=True)
    if outcome[0] is not None:
        return NetworkStatus(False, f"cannot reach {host}:{port}: {outcome[0]}", checked=True)
    return NetworkStatus(True, f"reached {host}:{port}", checked=True)


@dataclass(frozen=True)
class OfflineDecision:
    offline: bool
    reason: str


def decide_offline(
    requested: bool, setting: bool = False, *, check: Callable[[], NetworkStatus] | None = None
) -> OfflineDecision:
    """Offline when asked (flag or setting), and automatically when the network check fails."""
    if requested or setting:
        return OfflineDecision(True, "--offline was given" if requested else "offline is set in the settings")
    status = (check or (lambda: check_network(offline=False)))()
    if status.online:
        return OfflineDecision(False, status.reason)
    return OfflineDecision(True, f"no network ({status.reason}): running offline")


@dataclass(frozen=True)
class BlockedConnection:
    event: str
    """The audit event: ``socket.connect``, ``socket.getaddrinfo``, ..."""
    target: str
    """``host:port`` or the name that would have been looked up."""
    thread: str
    at: float = field(default_factory=time.time)


class OfflineViolation(PermissionError):
    """Raised inside the code that tried to reach the network during an offline run."""


def is_local_host(host: Any) -> bool:
    """True for loopback addresses, ``localhost`` names and the unspecified address."""
    if host is None:
        return True
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    name = str(host).strip("[]").rstrip(".").lower()
    if name in ("", "localhost") or name.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(name.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_loopback or address.is_unspecified


def _is_ip_literal(host: Any) -> bool:
    try:
        ipaddress.ip_address(str(host).strip("[]").split("%", 1)[0])
    except ValueError:
        return False
    return True


def _refused_target(event: str, args: tuple[Any, ...], allowed: frozenset[str]) -> str | None:
    """The remote target an audit event would reach, or None when it stays on this machine."""
    if event in ("socket.connect", "socket.sendto", "socket.sendmsg"):
        sock, address = args[0], args[1] if len(args) > 1 else None
        if getattr(sock, "family", None) not in (socket.AF_INET, socket.AF_INET6) or not address:
            return None
        host = address[0] if isinstance(address, tuple) else address
        port = address[1] if isinstance(address, tuple) and len(address) > 1 else ""
        if is_local_host(host) or str(host).lower() in allowed:
            return None
        return f"{host}:{port}"
    if event in ("socket.getaddrinfo", "socket.gethostbyname", "socket.gethostbyaddr", "socket.getnameinfo"):
        host = args[0][0] if event == "socket.getnameinfo" and isinstance(args[0], tuple) else args[0]
        if is_local_host(host) or str(host).lower() in allowed:
            return None
        if event == "socket.getaddrinfo" and _is_ip_literal(host):
            return None  # no lookup leaves the machine; a connect to it is checked on its own
        return str(host)
    return None


_guards: list[NetworkGuard] = []
_guards_lock = threading.Lock()
_hook_installed = False


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if not _guards or not event.startswith("socket."):
        return
    with _guards_lock:
        active = list(_guards)
    allowed = frozenset(host for guard in active for host in guard.allow_hosts)
    target = _refused_target(event, args, allowed)
    if target is None:
        return
    blocked = BlockedConnection(event, target, threading.current_thread().name)
    for guard in active:
        guard.record(blocked)
    raise OfflineViolation(f"Offline mode: {event} to {target} was blocked; nothing may leave this machine.")


def guard_active() -> bool:
    """Whether some :class:`NetworkGuard` is in force in this process right now."""
    return bool(_guards)


class NetworkGuard:
    """While entered, no Python code in this process can reach a non-loopback address.

    Usable around a whole agent run (``with NetworkGuard() as guard: ...``); nesting and
    several guards at once are fine. Every refused attempt is kept in :attr:`attempts` and
    passed to ``on_block`` (e.g. to log it in the session).
    """

    def __init__(
        self,
        *,
        allow_hosts: Iterable[str] = (),
        on_block: Callable[[BlockedConnection], None] | None = None,
    ) -> None:
        self.allow_hosts = frozenset(host.lower() for host in allow_hosts)
        """Extra hosts that stay reachable (e.g. an OpenAI-compatible server on the LAN)."""
        self.on_block = on_block
        self.attempts: list[BlockedConnection] = []

    def record(self, blocked: BlockedConnection) -> None:
        self.attempts.append(blocked)
        if self.on_block is not None:
            self.on_block(blocked)

    def __enter__(self) -> NetworkGuard:
        global _hook_installed
        with _guards_lock:
            if not _hook_installed:
                sys.addaudithook(_audit)  # permanent by design; it is inert while no guard is active
                _hook_installed = True
            _guards.append(self)
        return self

    def __exit__(self, *exc_info: object) -> None:
        with _guards_lock:
            if self in _guards:
                _guards.remove(self)


def check_query_privacy(query: str, local_texts: Iterable[str], min_span_words: int = 12) -> str | None:
    """The observation refusing ``query`` if it repeats ``min_span_words`` consecutive words of a
    local text (case, accents' composition and punctuation ignored), or carries a key, password
    or account number found in one; else None. Every search channel calls this before sending.
    """
    from deepresearch_local.tools.privacy import find_leak

    leak = find_leak([query], local_texts, min_span_words)
    if leak is None:
        return None
    texts = load("privacy")
    if leak.kind == "secret":
        return texts["refused_secret"].format(excerpt=leak.excerpt).strip()
    return texts["refused"].format(count=leak.words, excerpt=leak.excerpt).strip()


def refused_query_event(query: str, tool: str) -> NetworkEvent:
    """The session's network-log entry for a query :func:`check_query_privacy` refused: search
    tools return it with the refusal, so the log shows what was held back (it never left)."""
    from deepresearch_local.tools.base import NetworkEvent

    return NetworkEvent("search", query, tool, ok=False, detail="refused by the privacy guard: not sent")
