"""HTML and XHTML -> located lines: one line per block element, headings kept as a heading path,
scripts, styles and navigation dropped. The main region (``<main>``, ``role=main``, ``<article>``)
is preferred when the page marks one and holds text.

Pages are decoded from their bytes first (BOM, XML declaration, ``<meta charset>``, then the bytes
themselves; see ``charset``), then parsed with Lexbor's HTML5 parser (``selectolax``), which
builds the tree a browser would from broken markup; XHTML's empty-element tags are opened and
closed first, as an XML parser reads them. Element names are compared without prefix."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import PurePath
from typing import Any

from deepresearch_local.library.charset import decode_page
from deepresearch_local.library.detect import looks_binary
from deepresearch_local.library.errors import ReaderSkip
from deepresearch_local.library.model import Document, Line


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


DROP = _words(
    "script style noscript template svg math nav aside footer form iframe object embed button select "
    "option textarea canvas video audio map head"
)
DROP_ROLES = frozenset({"navigation", "banner", "contentinfo", "search", "complementary"})
BLOCK = _words(
    "p div section article main header li ul ol dl dt dd table thead tbody tfoot tr blockquote figure "
    "figcaption address details summary caption hr body center fieldset legend"
)
HEADINGS = {f"h{n}": n for n in range(1, 7)}
MAX_DEPTH = 300
"""Elements nested deeper than this are read as plain text (the walk is recursive)."""
CELLS = frozenset({"td", "th"})


class _Emitter:
    """Collects inline text and turns it into numbered lines at block boundaries."""

    def __init__(self) -> None:
        self.lines: list[Line] = []
        self.buffer: list[str] = []
        self.stack: list[tuple[int, str]] = []
        self._path: tuple[str, ...] = ()

    def path(self) -> tuple[str, ...]:
        return self._path

    def emit(self, text: str, is_heading: bool = False) -> None:
        self.lines.append(Line(text, len(self.lines) + 1, None, self._path, is_heading))

    def flush(self) -> None:
        if not self.buffer:
            return
        text = _spaced("".join(self.buffer))
        self.buffer.clear()
        if text:
            self.emit(text)

    def heading(self, level: int, text: str) -> None:
        self.flush()
        text = _spaced(text.replace("¶", " "))
        if not text:
            return
        self.stack = [(lv, h) for lv, h in self.stack if lv < level] + [(level, text)]
        self._path = tuple(h for _, h in self.stack)
        self.emit(text, True)


_PRIVATE_USE = re.compile("[\ue000-\uf8ff\U000f0000-\U000ffffd\U00100000-\U0010fffd]")
"""Private-use characters: icon-font glyphs (a heading's permalink icon, U+F0C1 in Font Awesome),
not words. Read as spaces, so "Theme\uf0c1" is the word "Theme"."""


def _spaced(text: str) -> str:
    """``text`` on one line, its runs of spaces (and icon glyphs) made single spaces."""
    if text.isascii():  # most text: no icon glyph can be in it, so no regex
        return " ".join(text.split())
    return " ".join(_PRIVATE_USE.sub(" ", text).split())


_LOCAL: dict[str | None, str | None] = {}


def _local(tag: str | None) -> str | None:
    """An element's plain lower-case name (``html:p`` is ``p``); None for text, comments and the
    doctype, whose names start with "-"."""
    try:
        return _LOCAL[tag]
    except KeyError:
        name = tag.rsplit(":", 1)[-1].lower() if tag and not tag.startswith("-") else None
        if len(_LOCAL) < 10000:
            _LOCAL[tag] = name
        return name


_HIDDEN = ", ".join(
    ["[hidden]", '[aria-hidden="true"]', ".headerlink"]
    + [f'[role="{role}" i]' for role in sorted(DROP_ROLES)]
)
"""Elements whose attributes leave them out: hidden, or a navigation, banner, search... role, or
a heading's permalink (Sphinx's ``headerlink``)."""


def _hidden(tree: Any) -> frozenset[int]:
    """The elements of ``tree`` that are left out for their attributes (found by Lexbor's
    selector engine, not attribute by attribute in Python), by node identity."""
    return frozenset(el.mem_id for el in tree.css(_HIDDEN))


def _walk(node: Any, out: _Emitter, hidden: frozenset[int], depth: int) -> None:
    """Read ``node``'s children into ``out``: text joins the current line, blocks break lines."""
    buffer = out.buffer
    for child in node.iter(include_text=True):
        name = child.tag
        if name == "-text":
            buffer.append(child.text_content)
            continue
        try:
            tag = _LOCAL[name]
        except KeyError:
            tag = _local(name)
        if tag is None or tag in DROP or (hidden and child.mem_id in hidden):  # comments, scripts...
            continue
        if depth > MAX_DEPTH:  # past any real page's nesting: keep the words, not the structure
            buffer.append(child.text())
        elif tag in _INLINE:
            _walk(child, out, hidden, depth + 1)
        elif tag in HEADINGS:
            out.heading(HEADINGS[tag], child.text())
        elif tag == "pre":
            out.flush()
            for line in _PRIVATE_USE.sub(" ", child.text()).split("\n"):
                if line.strip():
                    out.emit(line.rstrip())
        elif tag == "br":
            out.flush()
        elif tag == "noframes":  # HTML5 keeps its markup as text: read it as the page it is
            out.flush()
            inner = _parse(child.text())
            _walk(_body(inner), out, _hidden(inner), depth + 1)
            out.flush()
        else:
            block = tag in BLOCK
            if block:
                out.flush()
            if tag in CELLS and "".join(buffer).strip():
                buffer.append(" | ")
            _walk(child, out, hidden, depth + 1)
            if block:
                out.flush()
            elif tag in CELLS:
                buffer.append(" ")


_INLINE = _words("a span code em strong b i tt kbd var samp abbr cite sub sup small mark q s u dfn")
"""Common inline elements: their words simply join the current line (a fast path of ``_walk``)."""


def _role(el: Any) -> str:
    return str(el.attributes.get("role") or "").strip().lower()


def _region(tree: Any, text: str) -> Any:
    """The page's main region when it marks one (``<main>`` or ``role=main``, the first in the
    page; else the first ``<article>``), else its body. ``text``, the page parsed, says cheaply
    whether to look for the first kind."""
    if _ROLE_MAIN.search(text) or _MAIN_TAG.search(text):
        for el in tree.css("main, [role]"):
            if _local(el.tag) == "main" or _role(el) == "main":
                return el
    article = tree.css_first("article")
    if article is not None:
        return article
    return _body(tree)


def _body(tree: Any) -> Any:
    """The page's body, or its root where it has none (a frameset page)."""
    body = tree.body
    return body if body is not None else tree.root


def _title(tree: Any) -> str:
    """The text of the page's first ``<title>`` ("" when it has none)."""
    title = tree.css_first("title")
    return _spaced(title.text()) if title is not None else ""


_ROLE_MAIN = re.compile(r"""role\s*=\s*["']?\s*main\b""", re.IGNORECASE)
_MAIN_TAG = re.compile(r"<main\b", re.IGNORECASE)


def _lines(region: Any, hidden: frozenset[int]) -> list[Line]:
    out = _Emitter()
    _walk(region, out, hidden, 1)
    out.flush()
    return out.lines


_XML_DECLARATION = re.compile(r"^\s*<\?xml\b[^>]*\?>")
_MARKUP = re.compile(r"<!--.*?(?:-->|$)|<[!?][^>]*>|<[^>]*>", re.DOTALL)
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9:._-]*")
_VOID = _words(
    "area base basefont bgsound br col embed frame hr img input keygen link meta param source track wbr"
)


def _self_closed_opened(text: str) -> str:
    """``text`` with XML's empty-element tags of non-void elements written as a start and an end
    tag (``<title/>`` -> ``<title></title>``), as an XML parser reads them."""
    pieces: list[str] = []
    done = 0
    end = text.find("/>")
    while end != -1:
        start = text.rfind("<", done, end)
        name = _NAME.match(text, start + 1) if start != -1 else None
        if name and text.find(">", start, end) == -1 and name.group().lower() not in _VOID:
            pieces += (text[done:end], "></", name.group(), ">")
            done = end + 2
        end = text.find("/>", end + 2)
    return "".join(pieces) + text[done:] if pieces else text


MAX_NESTING = 10_000
"""Pages whose containers nest deeper than this are failed. No real page comes near it (the deepest
of the 44,592 pages in the question sets' documentation folders nests 14 containers), and an HTML5
parser's time grows with depth times elements: 100,000 nested ``<div>`` take half a minute, 10,000
a third of a second."""
_CHECKED_FROM = 20_000
"""Pages with fewer tags than this are not checked for depth: at worst they take a second or two."""
_CONTAINER = re.compile(
    r"<(/?)(?:div|ul|ol|dl|section|article|aside|blockquote|main|header|footer|nav|figure|details|"
    r"fieldset|form|table|center|menu|address|dialog|search|hgroup)\b",
    re.IGNORECASE,
)
"""Containers HTML does not close by itself: how deep they nest is how deep the page nests."""


def _nesting(text: str) -> int:
    """How deep the page's containers nest (0 when it has too few tags to matter)."""
    if text.count("<") < _CHECKED_FROM:
        return 0
    depth = deepest = 0
    for close in _CONTAINER.findall(text):
        if close:
            depth = max(depth - 1, 0)
        else:
            depth += 1
            deepest = max(deepest, depth)
    return deepest


def _parse(text: str) -> Any:
    """The page's tree, built by Lexbor's HTML5 parser, as browsers build it. XHTML written for
    an XML parser is read as one reads it: ``<title/>`` or ``<script src="x"/>`` is an empty
    element (HTML5 would take the rest of the page as the title or the script). Raises
    ``ValueError`` for a page that cannot be read."""
    from selectolax.lexbor import LexborHTMLParser

    text = _self_closed_opened(text)
    deepest = _nesting(text)
    if deepest > MAX_NESTING:
        raise ValueError(f"elements nested {deepest:,} deep (more than {MAX_NESTING:,})")
    # A stray NUL reads as U+FFFD, as in text files (HTML5 would drop it silently).
    data = text.replace("\x00", "\ufffd").encode("utf-8", errors="replace")
    try:
        return LexborHTMLParser(data)
    except (RuntimeError, ValueError, MemoryError) as exc:
        raise ValueError(str(exc) or type(exc).__name__) from exc


REDIRECT_TEXT = 200
"""A page that sends the reader on at once (``<meta http-equiv="refresh" content="0; url=...">``)
and holds fewer characters of text than this ("Redirecting...", "This page has moved") is a
redirect, not a document: the page it points to is indexed on its own."""
REDIRECT_DELAY = 5
"""Seconds: a refresh later than this is a page that reloads itself, not a redirect."""
_REFRESH_TO = re.compile(r"^\s*(\d+(?:\.\d*)?)\s*[;,]\s*(?:url\s*=\s*)?['\"]?([^'\">\s]+)", re.IGNORECASE)
"""A refresh's delay and address, ``0; url=page.html`` or, as browsers also accept, ``0; page.html``."""


def _refreshes(tree: Any) -> Iterator[str]:
    """The contents of a page's ``<meta http-equiv="refresh">`` elements, in order."""
    for meta in tree.css("meta"):
        attributes = meta.attributes
        if (attributes.get("http-equiv") or "").lower() == "refresh":
            yield attributes.get("content") or ""


def _redirect_target(tree: Any) -> str:
    """Where a page's immediate meta refresh sends the reader ("" when it has none)."""
    for content in _refreshes(tree):
        found = _REFRESH_TO.match(content)
        if found and float(found.group(1)) <= REDIRECT_DELAY:
            return found.group(2)
    return ""


REDIRECT_PREFIX = "a redirect page (to "
"""Starts the coverage reason of a page that only sends the reader to another."""


def redirect_reason(target: str) -> str:
    return f"{REDIRECT_PREFIX}{target})"


def _why_empty(tree: Any, text: str) -> str:
    """Why a parsed page (``text``) gave no lines, truthfully."""
    for content in _refreshes(tree):
        target = _REFRESH_TO.match(content)
        return redirect_reason(target.group(2)) if target else "a redirect page"
    if not " ".join(_MARKUP.sub(" ", text).split()):
        return "no text in the page (it holds only markup)"
    whole = _spaced(tree.root.text()) if tree.root is not None else ""
    if whole and whole != _title(tree):
        return "no text in the page outside scripts, navigation and other parts that are left out"
    return "no text in the page"


def read_html(data: bytes, name: str) -> Document:
    """Parse an HTML or XHTML page from its bytes (see ``charset`` for how its encoding is found).

    Raises ``ReaderSkip`` for a page with no text (saying why), ``ValueError`` with the reason
    for one that cannot be read."""
    if looks_binary(data):
        raise ReaderSkip("binary content (not HTML text)")
    decoded = decode_page(data)
    # The encoding is settled: the declaration has nothing more to say.
    text = _XML_DECLARATION.sub("", decoded.text.lstrip("\ufeff"), count=1)
    if not text.strip():
        raise ReaderSkip("empty page")
    try:
        tree = _parse(text)
    except ValueError as exc:
        raise ValueError(f"cannot parse the HTML: {exc}") from exc
    region = _region(tree, text)
    hidden = _hidden(tree)
    lines = _lines(region, hidden)
    body = tree.body
    if not lines and body is not None and region.mem_id != body.mem_id:  # a marked region, no text
        lines = _lines(body, hidden)
    if not lines:
        raise ReaderSkip(_why_empty(tree, text))
    if len(lines) < REDIRECT_TEXT and sum(len(line.text) for line in lines) < REDIRECT_TEXT:
        target = _redirect_target(tree)
        if target:
            raise ReaderSkip(redirect_reason(target))
    title = _title(tree)
    if not title:
        title = next((line.text for line in lines if line.is_heading), "") or PurePath(name).name
    notes = [decoded.note] if decoded.note else []
    return Document(kind="html", title=title, lines=lines, note="; ".join(notes))
