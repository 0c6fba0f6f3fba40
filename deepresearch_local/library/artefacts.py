"""Files that tools generate rather than people write, recognised by their content.

Search indexes, minified bundles, source maps, lock files and encoded blobs are text, but nobody
would call them documents, and indexed they bury real pages under noise. They are told apart by
the shape of their bytes, never by a list of file names, so the same rules hold for any generator:

- a source map: a JSON object with ``"version"`` and ``"mappings"``;
- encoded binary data: most bytes in long base64 or hex runs;
- minified code or generated data: most bytes on lines over 1,000 characters, with few spaces or
  many code/JSON symbols (and mostly ASCII, so long lines of Chinese or Japanese prose stay);
- compiled code that names its source map (``sourceMappingURL``);
- a lock file or checksum list: many lines holding package hashes (hex digests, ``sha512-...``);
- navigation data: a file that is only data (array or object literals, JSON or assigned to
  variables, perhaps after a licence comment, no functions or branches) whose strings largely
  link to pages (``"dir/page.html#anchor"``): a generator's table of
  contents or search index written over many short lines;
- data written on lines over 1,000 characters (prose inside, so the minified rule does not see
  it): a search index or data dump holding many page addresses (``page.html#anchor``,
  ``guide/setup/``, ``https://...``) as values, each record a page's address beside its text, as
  MkDocs, Jekyll or Hugo write them; or a script's data, a literal assigned to a variable (a
  sidebar's item list), which nobody writes by hand on such lines (plain JSON without page
  addresses, such as an exported chat history, stays a document);
- pages exported as data: a data literal (pretty-printed, so the rules above miss it) most of
  whose text is HTML inside its strings (``"desc": "<p>Returns ...</p>"``), as documentation
  tools write a machine-readable copy of their pages (Node's ``all.json``, Sphinx's JSON builder);
  the rendered pages are the documents;
- a sitemap: markup whose text outside the tags is mostly web addresses (dates beside them);
- markup with next to no text (text and unknown-type files only): tags and attributes with
  hardly a word between them, such as image maps, icons and labelled diagrams (``.xml`` and other
  code stays).

Only text, code and unknown-type files are checked: HTML, Markdown, CSV, PDF and DOCX are always
documents. A folder's include rule overrides all of this (see ``rules``).
"""

from __future__ import annotations

import re
from typing import NamedTuple

CHECKED_KINDS = frozenset({"text", "code", "sniff"})
LONG_LINE = 1000

_SOURCE_MAP_START = re.compile(rb"^\s*(?:\)\]\}'?\s*)?\{")
_SOURCE_MAP_URL = re.compile(rb"[#@]\s*sourceMappingURL\s*=")
_JSONISH_START = re.compile(rb"^\s*(?:[\w.$]+\s*(?:\(|=)\s*)?[\[{]")
_HASH = re.compile(
    rb"\b(?:[0-9a-f]{64}|[0-9a-f]{40})\b|\b(?:sha1|sha256|sha384|sha512|h1)[-:][A-Za-z0-9+/=_-]{24,}"
)
_BLOB = re.compile(rb"[A-Za-z0-9+/=]{200,}")
_LITERAL_START = re.compile(rb"^\s*(?:(?:(?:var|let|const)\s+)?[\w$.]+\s*=|export\s+default)?\s*[\[{]")
_ASSIGNED = re.compile(rb"^\s*(?:(?:var|let|const)\s+)?[\w$.]+\s*=\s*[\[{]")
_LEADING_COMMENTS = re.compile(rb"(?:\xef\xbb\xbf)?(?:\s+|/\*.*?\*/|//[^\n]*)*", re.DOTALL)
_LOGIC = re.compile(rb"\b(?:function|return|if|for|while|switch|class|new)\b|=>")
_STRING = re.compile(rb'"((?:[^"\\\n]|\\.)*)"|\'((?:[^\'\\\n]|\\.)*)\'')
_PAGE_LINK = re.compile(rb"^[\w./$%~-]*\.html?(?:#.*)?$", re.IGNORECASE)
_LOCATION = re.compile(
    rb"^(?:https?://[^\s\"'<>]+|[\w./$%~-]*(?:\.html?|/)(?:#[^\s\"'<>]*)?|#[\w.:-]+)$", re.IGNORECASE
)
INDEX_MIN_LOCATIONS = 20
"""A long-line data literal with at least this many page addresses among its strings is a search
index or data dump (a hand-kept JSON file is written over short lines)."""
SITEMAP_MIN_URLS = 10
LINK_SHARE = 0.3
"""Of the strings in a data literal, at least this share link to pages for it to be navigation
data (a generator's tables list a name and a link per entry: about half)."""
_HTML_TAG = re.compile(
    rb"<(?:p|a|div|span|code|pre|ul|ol|li|dl|dt|dd|h[1-6]|table|tr|td|em|strong|blockquote|section)"
    rb"(?:\s[^<>]*)?>",
    re.IGNORECASE,
)
EXPORT_MIN_BYTES = 4096
EXPORT_HTML_SHARE = 0.5
"""A data literal whose strings holding HTML tags make up at least this share of its string bytes
is pages exported as data (a translation table with a few ``<strong>`` strings is far below)."""
_TAG = re.compile(rb"<[^>]*>")
MARKUP_TEXT_SHARE = 0.02
"""Markup whose words outside its tags make up less than this share of its bytes holds no text."""
MARKUP_MIN_TAGS = 3
"""...when it has at least this many tags (a note holding one ``<https://...>`` link is a note)."""
_SPACES = b" \t\r\n"
_SYMBOLS = b"{}[]();:,=<>\"'|&!?+*/\\%^~$#@0123456789"
_NOT_ASCII = bytes(range(128, 256))


def _marks(chars: bytes) -> bytes:
    """A ``bytes.translate`` table: ``chars`` -> ``x``, every other byte -> a space."""
    return bytes(ord("x") if b in chars else ord(" ") for b in range(256))


_BLOB_CHARS = _marks(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=")
_HEX_CHARS = _marks(b"0123456789abcdef")


def _has_run(data: bytes, table: bytes, length: int) -> bool:
    """Whether ``data`` holds ``length`` bytes in a row of the set ``table`` marks: a quick test
    (a substring search) that spares the regular expressions most files, where they find nothing."""
    return b"x" * length in data.translate(table)


def _size(n: int) -> str:
    return f"{n / 1024 / 1024:.1f} MiB" if n >= 1024 * 1024 else f"{max(1, round(n / 1024))} KiB"


def _share(data: bytes, chars: bytes) -> float:
    return (len(data) - len(data.translate(None, chars))) / max(1, len(data))


def _notebook(data: bytes) -> bool:
    """A Jupyter notebook: JSON with long embedded outputs, but written by a person."""
    return b'"nbformat"' in data[:4096] or b'"nbformat"' in data[-4096:]


def artefact_reason(data: bytes, kind: str) -> str:
    """Why ``data`` (a file of reader kind ``kind``) is a generated artefact, or ""."""
    if kind not in CHECKED_KINDS or not data or _notebook(data):
        return ""
    if _SOURCE_MAP_START.match(data) and b'"mappings"' in data and b'"version"' in data[:4096]:
        return "generated source map (JSON that maps compiled code to its source), not a document"
    if len(data) >= 4096 and _has_run(data, _BLOB_CHARS, 200):
        blobs = sum(len(b) for b in _BLOB.findall(data))
        if blobs >= 0.5 * len(data):
            return f"encoded binary data: {round(100 * blobs / len(data))}% of it is base64 or hex, not text"
    lines = data.split(b"\n")
    long_bytes = sum(len(line) for line in lines if len(line) > LONG_LINE)
    long_share = long_bytes / len(data)
    long_lines = sum(len(line) > LONG_LINE for line in lines)
    if long_share >= 0.5 and _share(data, _NOT_ASCII) < 0.3:
        spaces, symbols = _share(data, _SPACES), _share(data, _SYMBOLS)
        if spaces < 0.08 or symbols >= 0.15:
            where = f"{_size(len(data))} on {long_lines} line{'s' if long_lines > 1 else ''}"
            if _JSONISH_START.match(data[:256]) and _share(data, b'"') >= 0.03:
                return f"generated data (a search index or data dump): {where} of JSON-like text"
            share = f"{round(100 * long_share)}% of its {where} over {LONG_LINE:,} characters"
            if data.lstrip()[:1] == b"<":
                return f"generated markup (tags run together on long lines): {share}"
            return f"minified or bundled code: {share}"
    literal = _data_literal(data)
    if long_share >= 0.5 and literal is not None:
        long_data = _long_data(data, literal, long_lines)
        if long_data:
            return long_data
    if kind == "code" and _SOURCE_MAP_URL.search(data[-1024:]):
        return "generated code: it points to its source map, so it was compiled from another file"
    if literal is not None:
        navigation = _navigation_data(literal) or _exported_pages(literal)
        if navigation:
            return navigation
    if data.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] == b"<":
        markup = _markup_reason(data, kind)
        if markup:
            return markup
    if len(lines) >= 20 and (
        _has_run(data, _HEX_CHARS, 40) or b"sha" in data or b"h1-" in data or b"h1:" in data
    ):
        hashes = len(_HASH.findall(data))
        if hashes >= 10 and hashes >= 0.08 * len(lines):
            return f"generated lock file or checksum list: {hashes:,} package hashes in {len(lines):,} lines"
    return ""


def _code_start(data: bytes) -> int:
    """Where ``data`` starts past a byte-order mark, blank space and comments."""
    found = _LEADING_COMMENTS.match(data)
    return found.end() if found else 0


class _Literal(NamedTuple):
    start: int
    """Where the data starts, past comments."""
    strings: list[bytes]


def _data_literal(data: bytes) -> _Literal | None:
    """``data`` when it is data and nothing else: past any leading comments, an array or object
    literal (JSON, or assigned: ``var NAME = [...]``, ``window.NAME = {...}``), perhaps followed by
    more assignments, with no program logic (functions, returns, branches, loops) outside its
    strings; with its strings. None for anything else."""
    start = _code_start(data)
    if not _LITERAL_START.match(data[start : start + 512]):
        return None
    found = _STRING.findall(data)
    if _LOGIC.search(_STRING.sub(b'""', data[start:])):
        return None
    return _Literal(start, [double or single for double, single in found])


def _navigation_data(literal: _Literal) -> str:
    """Why a data literal is a generator's navigation data (see the module's docstring), or ""."""
    strings = literal.strings
    links = sum(1 for text in strings if _PAGE_LINK.match(text))
    if not links or links < LINK_SHARE * len(strings):
        return ""
    return (
        f"generated navigation data: {links:,} of the {len(strings):,} strings in its data literal "
        "link to pages"
    )


def _exported_pages(literal: _Literal) -> str:
    """Why a data literal is pages exported as data (HTML in most of its text), or ""."""
    total = sum(len(text) for text in literal.strings)
    if total < EXPORT_MIN_BYTES:
        return ""
    html = sum(len(text) for text in literal.strings if _HTML_TAG.search(text))
    if html < EXPORT_HTML_SHARE * total:
        return ""
    return (
        f"generated data: pages exported as data, {round(100 * html / total)}% of the text in its "
        "data literal is HTML markup (the rendered pages are the documents)"
    )


def _long_data(data: bytes, literal: _Literal, long_lines: int) -> str:
    """Why a data literal mostly on long lines is a search index, data dump or script data, or ""."""
    where = f"{_size(len(data))} on {long_lines} long line{'s' if long_lines > 1 else ''}"
    locations = sum(1 for text in literal.strings if _LOCATION.match(text))
    if locations >= INDEX_MIN_LOCATIONS:
        return (
            f"generated search index or data dump: one data literal ({where}) whose strings hold "
            f"{locations:,} page addresses"
        )
    if _ASSIGNED.match(data[literal.start : literal.start + 512]):
        return f"generated script data: a value assigned to a variable, {where}"
    return ""


def _markup_reason(data: bytes, kind: str) -> str:
    """Why markup (``data`` starts with a tag) is generated, or "": tags with next to no text
    between them (text and unknown-type files only), or a sitemap, markup whose text outside the
    tags is mostly web addresses."""
    sitemap_like = data.count(b"://", 0, 8192) >= SITEMAP_MIN_URLS
    if kind == "code" and not sitemap_like:
        return ""
    outside, tags = _TAG.subn(b" ", data)
    words = outside.split()
    if (
        kind != "code"
        and tags >= MARKUP_MIN_TAGS
        and sum(len(word) for word in words) < MARKUP_TEXT_SHARE * len(data)
    ):
        count = f"{len(words):,} word{'s' if len(words) != 1 else ''}"
        return f"markup with next to no text: tags and attributes, {count} outside them"
    if not sitemap_like:
        return ""
    addresses = [word for word in words if b"://" in word]
    if len(addresses) < SITEMAP_MIN_URLS or sum(map(len, addresses)) < 0.5 * sum(map(len, words)):
        return ""
    return (
        f"generated list of web addresses (a sitemap): {len(addresses):,} addresses make up most of "
        "the text outside its tags"
    )
