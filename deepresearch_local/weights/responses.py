"""Judging one HTTP answer to a Range request: go on, start over, retry, or give up on the source."""

from __future__ import annotations

from typing import TYPE_CHECKING

from deepresearch_local.units import human_bytes
from deepresearch_local.weights.errors import DownloadError
from deepresearch_local.weights.hub import RemoteFile

if TYPE_CHECKING:
    import httpx


class Retry(Exception):
    """A failure worth another attempt (after a backoff)."""


class Stalled(Retry):
    """Too few bytes for too long: reconnect."""


def check_response(response: httpx.Response, remote: RemoteFile, pos: int) -> bool:
    """Raise for an answer that cannot be used; True when the server ignored the Range (sends it all)."""
    status, size = response.status_code, remote.size
    name, hub = remote.path.rsplit("/", 1)[-1], remote.hub_name
    if status in (401, 403):
        raise DownloadError(
            f"{hub} refused {name} (HTTP {status}): set HF_TOKEN to a token that may read it, or accept "
            "the model's terms on its page."
        )
    if status in (404, 410):
        raise DownloadError(f"{hub} no longer has {name} (HTTP {status}).")
    if status == 416:
        raise DownloadError(
            f"{hub} has fewer bytes of {name} than the {human_bytes(size)} it announced: the file may be "
            "changing. Try again later."
        )
    if status == 429 or status >= 500:
        raise Retry(f"the server answered HTTP {status}")
    changed = f"the file changed on {hub}: run the command again to fetch the new version."
    if status == 200:
        length = response.headers.get("Content-Length")
        if length is not None and int(length) != size:
            raise DownloadError(f"{name} is now {length} bytes, not {size}: {changed}")
        return pos > 0
    if status != 206:
        raise Retry(f"unexpected HTTP {status}")
    content_range = response.headers.get("Content-Range", "")
    try:
        span, total = content_range.split(" ", 1)[1].split("/")
        first = int(span.split("-")[0])
    except (IndexError, ValueError):
        raise Retry(f"a bad Content-Range header ({content_range!r})") from None
    if total != "*" and int(total) != size:
        raise DownloadError(f"{name} is now {total} bytes, not {size}: {changed}")
    if first != pos:
        raise Retry(f"the server resumed at byte {first} instead of {pos}")
    return False


def transport_reason(exc: Exception) -> str:
    """A short reason for a network exception (httpx's messages are long)."""
    import httpx

    if isinstance(exc, Retry):
        return str(exc)
    if isinstance(exc, httpx.RemoteProtocolError):
        return "the connection was cut mid-transfer"
    if isinstance(exc, httpx.ConnectTimeout):
        return "connecting timed out"
    if isinstance(exc, httpx.ConnectError):
        return "cannot connect to the server"
    if isinstance(exc, httpx.ReadTimeout):
        return "no data arrived"
    if isinstance(exc, httpx.ReadError | httpx.WriteError):
        return "the connection was reset"
    return f"{type(exc).__name__}: {exc}".rstrip(": ")
