"""Loaded by subprocesses under test (via PYTHONPATH): logs any attempt to reach a non-loopback host.

The app's own offline guard is what blocks such attempts; this watcher is independent of it,
so a test can prove that an offline run never even tried.
"""

import ipaddress
import os
import sys

_LOG = os.environ.get("DRL_NETWATCH_LOG")
_LOCAL_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost", ""}


def _is_local(host: object) -> bool:
    if host is None:
        return True
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    name = str(host).strip("[]").lower()
    if name in _LOCAL_NAMES:
        return True
    try:
        return ipaddress.ip_address(name.split("%")[0]).is_loopback
    except ValueError:
        return False


def _hook(event: str, args: tuple) -> None:  # type: ignore[type-arg]
    host = None
    if event in ("socket.connect", "socket.sendto", "socket.sendmsg") and len(args) >= 2:
        address = args[1]
        if isinstance(address, tuple) and address:
            host = address[0]
        else:
            return  # AF_UNIX and the like
    elif event in ("socket.getaddrinfo", "socket.gethostbyname", "socket.gethostbyname_ex") and args:
        host = args[0]
    else:
        return
    if not _is_local(host) and _LOG:
        with open(_LOG, "a", encoding="utf-8") as fh:
            fh.write(f"{event} {host!r}\n")


if _LOG:
    sys.addaudithook(_hook)
