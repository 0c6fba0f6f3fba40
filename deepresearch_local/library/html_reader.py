"""HTML and XHTML -> located lines: one line per block element, headings kept as a heading path,
scripts, styles and navigation dropped. The main region (``<main>``, ``role=main``, ``<article>``)
is preferred when the page marks one and holds text.

Pages are decoded from their bytes first (BOM, XML declaration, ``<meta charset>``, then the bytes
themselves; see ``charset``), then parsed with libxml2's HTML parser, which reads XHTML as well;
element names are compared without namespace or prefix."""

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


_LOCAL: dict[object, str | None] = {}


def _local(tag: object) -> str | None:
    """An element's plain lower-case name: ``{http://www.w3.org/1999/xhtml}p`` and ``html:p`` are
    ``p``; None for comments and processing instructions (whose ``tag`` is a function)."""
    try:
        return _LOCAL[tag]
    except KeyError:
        name = tag.rsplit("}", 1)[-1].rsplit(":", 1)[-1].lower() if isinstance(tag, str) else None
        if len(_LOCAL) < 10000:
            _LOCAL[tag] = name
        return name


def _text(el: Any) -> str:
    """All the text inside an element (not comments)."""
    return _xpath("string()")(el)  # type: ignore[no-any-return]


def _hidden(el: Any, names: list[str]) -> bool:
    """Whether an element's attributes (``names``: their names, read once) leave it out."""
    get = el.get
    if "role" in names and get("role").lower() in DROP_ROLES:
        return True
    if "hidden" in names or ("aria-hidden" in names and get("aria-hidden") == "true"):
        return True
    if "class" not in names:
        return False
    classes = get("class")
    return "headerlink" in classes and "headerlink" in classes.split()


def _walk(el: Any, out: _Emitter, depth: int = 0) -> None:
    try:
        tag = _LOCAL[el.tag]
    except KeyError:
        tag = _local(el.tag)
    if tag is None or tag in DROP or ((names := el.keys()) and _hidden(el, names)):  # comments, PIs
        tail = el.tail
        if tail:
            out.buffer.append(tail)
        return
    if depth > MAX_DEPTH:  # past any real page's nesting: keep the words, not the structure
        out.buffer.append(_text(el))
    elif tag in _INLINE:
        text = el.text
        if text:
            out.buffer.append(text)
        for child in el:
            _walk(child, out, depth + 1)
    elif tag in HEADINGS:
        out.heading(HEADINGS[tag], _text(el))
    elif tag == "pre":
        out.flush()
        for line in _PRIVATE_USE.sub(" ", _text(el)).split("\n"):
            if line.strip():
                out.emit(line.rstrip())
    elif tag == "br":
        out.flush()
    else:
        block = tag in BLOCK
        if block:
            out.flush()
        if tag in CELLS and "".join(out.buffer).strip():
            out.buffer.append(" | ")
        text = el.text
        if text:
            out.buffer.append(text)
        for child in el:
            _walk(child, out, depth + 1)
        if block:
            out.flush()
        elif tag in CELLS:
            out.buffer.append(" ")
    tail = el.tail
    if tail:
        out.buffer.append(tail)


_INLINE = _words("a span code em strong b i tt kbd var samp abbr cite sub sup small mark q s u dfn")
"""Common inline elements: their words simply join the current line (a fast path of ``_walk``)."""


_XPATHS: dict[str, Any] = {}


def _xpath(expression: str) -> Any:
    """A compiled XPath (compiled once, not per page)."""
    compiled = _XPATHS.get(expression)
    if compiled is None:
        import lxml.etree  # type: ignore[import-untyped]

        compiled = _XPATHS[expression] = lxml.etree.XPath(expression, smart_strings=False)
    return compiled


def _region(root: Any, text: str) -> Any:
    """The page's main region when it marks one (``<main>``, ``role=main``, ``<article>``, the
    first in that order of preference and then in the page's), else its body, else the whole
    tree. ``text``, the page parsed, says cheaply which of them to look for."""
    roles = _ROLE_MAIN.search(text) is not None
    mains = _MAIN_TAG.search(text) is not None
    if roles and mains:  # both kinds: the first in the page wins, which the full search knows
        marked = _xpath("//main|//*[@role]|//article")(root)
        for want in ("main", "article"):
            for el in marked:
                if el.tag == want or (want == "main" and _role(el) == "main"):
                    return el
    else:
        for el in _by_role(root) if roles else root.iter("main") if mains else ():
            return el
        for el in root.iter("article"):
            return el
    body = root.find("body")
    return body if body is not None else root


_ROLE_MAIN = re.compile(r"""role\s*=\s*["']?\s*main\b""", re.IGNORECASE)
_MAIN_TAG = re.compile(r"<main\b", re.IGNORECASE)
_ROLE_HOLDERS = ("div", "section", "main", "article", "td", "span")
"""Where pages put ``role="main"``, looked through first (a filter in C, not an XPath over
every element)."""


def _role(el: Any) -> str:
    return str(el.get("role", "")).strip().lower()


def _by_role(root: Any) -> Iterator[Any]:
    """The elements with ``role="main"``, the usual holders first."""
    found = False
    for el in root.iter(*_ROLE_HOLDERS):
        if _role(el) == "main":
            found = True
            yield el
    if not found:
        yield from (el for el in _xpath("//*[@role]")(root) if _role(el) == "main")


def _lines(region: Any) -> list[Line]:
    out = _Emitter()
    if region.text:
        out.buffer.append(region.text)
    for child in region:  # not _walk(region): its tail lies outside the region
        _walk(child, out)
    out.flush()
    return out.lines


_XML_DECLARATION = re.compile(r"^\s*<\?xml\b[^>]*\?>")
_MARKUP = re.compile(r"<!--.*?(?:-->|$)|<[!?][^>]*>|<[^>]*>", re.DOTALL)


def _parse(text: str) -> tuple[Any, str]:
    """(the tree, the parser's fatal error or ""). Raises ``ValueError`` when there is no tree."""
    import lxml.etree  # type: ignore[import-untyped]

    # Comments and processing instructions are dropped by the parser (the walk leaves them out
    # anyway) and element ids are not collected (nothing looks them up): fewer nodes, less work.
    parser = lxml.etree.HTMLParser(
        encoding="utf-8", huge_tree=True, collect_ids=False, remove_comments=True, remove_pis=True
    )
    try:
        root = lxml.etree.fromstring(text.encode("utf-8", errors="replace"), parser=parser)
    except (lxml.etree.XMLSyntaxError, ValueError) as exc:
        root, reason = None, str(exc)
    else:
        reason = "Document is empty"
    if root is None:
        errors = [e.message for e in parser.error_log if e.level_name == "FATAL"]
        raise ValueError("; ".join(errors) or reason)
    fatal = [e.message for e in parser.error_log if e.level_name == "FATAL"]
    return root, "; ".join(dict.fromkeys(fatal))


REDIRECT_TEXT = 200
"""A page that sends the reader on at once (``<meta http-equiv="refresh" content="0; url=...">``)
and holds fewer characters of text than this ("Redirecting...", "This page has moved") is a
redirect, not a document: the page it points to is indexed on its own."""
REDIRECT_DELAY = 5
"""Seconds: a refresh later than this is a page that reloads itself, not a redirect."""
_REFRESH_TO = re.compile(r"^\s*(\d+(?:\.\d*)?)\s*[;,]\s*(?:url\s*=\s*)?['\"]?([^'\">\s]+)", re.IGNORECASE)
"""A refresh's delay and address, ``0; url=page.html`` or, as browsers also accept, ``0; page.html``."""


def _refreshes(root: Any) -> Iterator[str]:
    """The contents of a page's ``<meta http-equiv="refresh">`` elements, in order."""
    for meta in root.iter("meta"):
        if meta.get("http-equiv", "").lower() == "refresh":
            yield meta.get("content", "")


def _redirect_target(root: Any) -> str:
    """Where a page's immediate meta refresh sends the reader ("" when it has none)."""
    for content in _refreshes(root):
        found = _REFRESH_TO.match(content)
        if found and float(found.group(1)) <= REDIRECT_DELAY:
            return found.group(2)
    return ""


REDIRECT_PREFIX = "a redirect page (to "
"""Starts the coverage reason of a page that only sends the reader to another."""


def redirect_reason(target: str) -> str:
    return f"{REDIRECT_PREFIX}{target})"


def _why_empty(root: Any) -> str:
    """Why a parsed page gave no lines, truthfully."""
    for content in _refreshes(root):
        target = _REFRESH_TO.match(content)
        return redirect_reason(target.group(2)) if target else "a redirect page"
    body = root.find("body")
    if " ".join(_text(body if body is not None else root).split()):
        return "no text in the page outside scripts, navigation and other parts that are left out"
    return "no text in the page"


def read_html(data: bytes, name: str) -> Document:
    """Parse an HTML or XHTML page from its bytes (see ``charset`` for how its encoding is found).

    Raises ``ReaderSkip`` for a page with no text (saying why), ``ValueError`` with the parser's
    message for one that cannot be parsed."""
    if looks_binary(data):
        raise ReaderSkip("binary content (not HTML text)")
    decoded = decode_page(data)
    # The encoding is settled, so the declaration goes (lxml refuses text that carries one).
    text = _XML_DECLARATION.sub("", decoded.text.lstrip("\ufeff"), count=1)
    if not text.strip():
        raise ReaderSkip("empty page")
    try:
        root, fatal = _parse(text)
    except ValueError as exc:
        if not " ".join(_MARKUP.sub(" ", text).split()):
            raise ReaderSkip("no text in the page (it holds only markup)") from exc
        raise ValueError(f"cannot parse the HTML: {exc}") from exc
    region = _region(root, text)
    lines = _lines(region)
    if not lines and region is not root:  # a marked region without text: read the whole body
        body = root.find("body")
        lines = _lines(body) if body is not None and body is not region else lines
    if not lines:
        if fatal:
            raise ValueError(f"cannot parse the HTML: {fatal}")
        raise ReaderSkip(_why_empty(root))
    if sum(len(line.text) for line in lines) < REDIRECT_TEXT:
        target = _redirect_target(root)
        if target:
            raise ReaderSkip(redirect_reason(target))
    head_title = next(root.iter("title"), None)
    title = _spaced(_text(head_title)) if head_title is not None else ""
    if not title:
        title = next((line.text for line in lines if line.is_heading), "") or PurePath(name).name
    notes = [decoded.note] if decoded.note else []
    if fatal:
        notes.append(f"the parser stopped early ({fatal}); text after that point is missing")
    return Document(kind="html", title=title, lines=lines, note="; ".join(notes))
