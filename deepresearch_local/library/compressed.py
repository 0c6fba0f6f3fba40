"""Files compressed with gzip (``NEWS.gz``, ``guide.html.gz``, ``changelog.Debian.gz``) are read as
what they hold: the name without ``.gz`` chooses the reader, the content is unpacked in memory.

Unpacking stops at the limit of the inner file's type, so a small file that would unpack to
gigabytes is refused ("too large once decompressed") after reading no more than the limit. Files
of several gzip members (``cat a.gz b.gz``) are read whole; zero bytes padding the end are
ignored. Archives (``.tar.gz``, ``.tgz``) stay unsupported: they hold many files, not one text.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

from deepresearch_local.units import mib

SUFFIX = ".gz"
_GZIP = 16 + zlib.MAX_WBITS
"""``wbits`` for zlib to expect a gzip header and trailer."""


class TooLarge(ValueError):
    """The unpacked content passes the limit."""


def inner_name(name: str) -> str | None:
    """``guide.html`` for ``guide.html.gz``; None when the name does not say gzip."""
    if len(name) > len(SUFFIX) and name.lower().endswith(SUFFIX):
        return name[: -len(SUFFIX)]
    return None


def gunzip(data: bytes, limit: int) -> bytes:
    """The unpacked bytes of ``data``. Raises ``TooLarge`` past ``limit`` bytes and ``ValueError``
    (saying what is wrong) for data that is not gzip, is damaged or ends too soon."""
    out = bytearray()
    rest = data
    while True:
        unpacker = zlib.decompressobj(_GZIP)
        try:
            out += unpacker.decompress(rest, limit + 1 - len(out))
        except zlib.error as exc:
            raise ValueError(f"damaged or not gzip data ({exc})") from exc
        if len(out) > limit:
            raise TooLarge(f"over {limit} bytes once decompressed")
        if unpacker.unconsumed_tail:  # stopped at the limit with input left
            raise TooLarge(f"over {limit} bytes once decompressed")
        if not unpacker.eof:
            raise ValueError("truncated gzip data (the file ends in the middle of its content)")
        rest = unpacker.unused_data
        if not rest.strip(b"\0"):
            return bytes(out)


@dataclass(frozen=True)
class Unpacked:
    """A file's content as its reader sees it."""

    name: str
    """The name that chooses the reader: without ``.gz`` for a gzip file."""
    data: bytes
    problem: str = ""
    """Why the content could not be unpacked ("" when it was, or needed no unpacking)."""
    too_large: bool = False
    """The problem is the size limit (a skip), not damage (a failure)."""


def unpack(name: str, data: bytes, limit: int) -> Unpacked:
    """The content of a file called ``name``: unpacked when the name says gzip, as is otherwise.
    Indexing and reading one document both come through here, so they refuse the same files for
    the same reasons."""
    inner = inner_name(name)
    if inner is None:
        return Unpacked(name, data)
    try:
        return Unpacked(inner, gunzip(data, limit))
    except TooLarge:
        reason = f"too large once decompressed (over {mib(limit)}, the limit for this type)"
        return Unpacked(inner, b"", reason, too_large=True)
    except ValueError as exc:
        return Unpacked(inner, b"", str(exc))
