"""Which encoding a web page is written in, decided from its bytes the way browsers do.

The order, first match wins:

1. a byte order mark (UTF-8, UTF-16 LE/BE), or bytes that are plainly UTF-16 without one;
2. the XML declaration's ``encoding`` (``<?xml version="1.0" encoding="ISO-8859-1"?>``);
3. ``<meta charset>`` or ``<meta http-equiv="Content-Type" content="...; charset=...">`` in the
   first 8 KiB;
4. no declaration: UTF-8 when the bytes are UTF-8, otherwise windows-1252.

Declarations lie more often than bytes do, so two checks follow a declaration: a page declared as
a single-byte charset (ISO-8859-x, windows-125x, ASCII) whose bytes decode strictly as UTF-8 and
hold non-ASCII characters is read as UTF-8 (legacy text is almost never valid UTF-8 by accident),
and a page declared UTF-8 whose bytes are not UTF-8 is read as windows-1252, or as UTF-8 with
replaced bytes when it also holds real UTF-8 sequences. As in browsers, ``latin-1``/``ascii``
labels mean windows-1252, and a declaration of UTF-16 written in ASCII (which a UTF-16 page cannot
hold) means UTF-8. Labels Python does not know are ignored.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

from deepresearch_local.library.detect import utf16_without_bom

_XML_DECL = re.compile(rb"""^\s*<\?xml\s[^>]*?encoding\s*=\s*["']\s*([A-Za-z0-9_\-:.]+)\s*["']""")
_META = re.compile(rb"<meta\b[^>]*>", re.IGNORECASE)
_CHARSET = re.compile(rb"""charset\s*=\s*["']?\s*([A-Za-z0-9_\-:.]+)""", re.IGNORECASE)
_BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_WEB_ALIASES = {"latin-1": "cp1252", "iso8859-1": "cp1252", "ascii": "cp1252"}
_UNICODE = frozenset({"utf-8", "utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-32-le", "utf-32-be"})
_WIDE = frozenset({"utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-32-le", "utf-32-be"})
_MULTIBYTE = frozenset(
    {"big5", "big5hkscs", "cp932", "cp949", "cp950", "euc_jp", "euc_jis_2004", "euc_jisx0213", "euc_kr",
     "gb2312", "gbk", "gb18030", "hz", "iso2022_jp", "iso2022_kr", "johab", "shift_jis", "shift_jis_2004",
     "shift_jisx0213"}
)  # fmt: skip


def _c1_fallback(exc: UnicodeError) -> tuple[str, int]:
    """windows-1252 leaves five bytes undefined; browsers map them to the C1 control characters."""
    if not isinstance(exc, UnicodeDecodeError):
        raise exc
    return chr(exc.object[exc.start]), exc.start + 1


codecs.register_error("deepresearch-c1", _c1_fallback)


@dataclass(frozen=True)
class Decoded:
    text: str
    encoding: str
    """The Python codec name used."""
    note: str = ""
    """Set when the result is worth a word in the coverage report (a legacy charset, a
    declaration the bytes contradicted, bytes that had to be replaced)."""


def _codec(label: bytes | str | None) -> str | None:
    if not label:
        return None
    text = label.decode("ascii", "replace") if isinstance(label, bytes) else label
    try:
        name = codecs.lookup(text.strip().lower()).name
    except LookupError:
        return None
    return _WEB_ALIASES.get(name, name)


def declared_charset(data: bytes) -> tuple[str | None, str, str]:
    """(codec name, the label as written, where: "BOM", "XML declaration", "meta charset" or "")."""
    for bom, name in _BOMS:
        if data.startswith(bom):
            return name, name, "BOM"
    wide = utf16_without_bom(data)
    if wide:
        return wide, wide, "UTF-16 bytes"
    found = [(m.group(1), "XML declaration") for m in [_XML_DECL.match(data[:512])] if m]
    for meta in _META.finditer(data[:8192]):
        found += [(m.group(1), "meta charset") for m in [_CHARSET.search(meta.group(0))] if m]
    for label, source in found:
        codec = _codec(label)
        if codec is not None:
            # Declared in ASCII, so not really UTF-16/32 (browsers read such pages as UTF-8).
            return ("utf-8" if codec in _WIDE else codec), label.decode("ascii"), source
    return None, "", ""


def _utf8_or_legacy(data: bytes) -> Decoded:
    """Bytes that are not strict UTF-8: UTF-8 with replacements when real UTF-8 sequences are in
    them (a page with a few bad bytes), otherwise windows-1252."""
    replaced = data.decode("utf-8", errors="replace")
    if any(ord(c) > 127 and c != "\ufffd" for c in replaced):
        return Decoded(replaced, "utf-8", "invalid UTF-8 bytes were replaced")
    return Decoded(data.decode("cp1252", errors="deepresearch-c1"), "cp1252", "not UTF-8: decoded as cp1252")


def decode_page(data: bytes) -> Decoded:
    """The text of a web page's bytes, decoded in the order this module describes."""
    codec, label, source = declared_charset(data)
    if source == "BOM":
        assert codec is not None
        bom = next(len(b) for b, name in _BOMS if name == codec)
        return Decoded(data[bom:].decode(codec, errors="replace"), codec)
    if source == "UTF-16 bytes":
        assert codec is not None
        return Decoded(data.decode(codec, errors="replace"), codec, "UTF-16 without a byte order mark")
    try:
        as_utf8: str | None = data.decode("utf-8")
    except UnicodeDecodeError:
        as_utf8 = None
    declared = f"its {source} says {label}"
    if codec is None or codec == "utf-8":
        if as_utf8 is not None:
            return Decoded(as_utf8, "utf-8")
        decoded = _utf8_or_legacy(data)
        if codec == "utf-8" and decoded.encoding != "utf-8":
            return Decoded(decoded.text, decoded.encoding, f"{declared} but it is not: decoded as cp1252")
        return decoded
    if as_utf8 is not None and codec not in _UNICODE and codec not in _MULTIBYTE and not as_utf8.isascii():
        return Decoded(as_utf8, "utf-8", f"{declared} but the bytes are UTF-8: read as UTF-8")
    try:
        text = data.decode(codec, errors="deepresearch-c1" if codec == "cp1252" else "strict")
    except UnicodeDecodeError:
        decoded = _utf8_or_legacy(data) if as_utf8 is None else Decoded(as_utf8, "utf-8")
        return Decoded(
            decoded.text, decoded.encoding, f"{declared} but it is not: decoded as {decoded.encoding}"
        )
    return Decoded(text, codec, "" if codec in _UNICODE else f"decoded as {codec} ({declared})")
