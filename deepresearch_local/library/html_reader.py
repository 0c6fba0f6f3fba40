"""HTML -> located lines: one line per block element, headings kept as a heading path, scripts,
styles and navigation dropped. The main region (``<main>``, ``role=main``, ``<article>``) is
preferred when the page marks one."""

from __future__ import annotations

from pathlib import PurePath
from typing import Any

from deepresearch_local.library.detect import decode_text, html_charset, looks_binary
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
CELLS = frozenset({"td", "th"})


class _Emitter:
    """Collects inline text and turns it into numbered lines at block boundaries."""

    def __init__(self) -> None:
        self.lines: list[Line] = []
        self.buffer: list[str] = []
        self.stack: list[tuple[int, str]] = []

    def path(self) -> tuple[str, ...]:
        return tuple(h for _, h in self.stack)

    def emit(self, text: str, is_heading: bool = False) -> None:
        self.lines.append(Line(text, len(self.lines) + 1, None, self.path(), is_heading))

    def flush(self) -> None:
        text = " ".join("".join(self.buffer).split())
        self.buffer.clear()
        if text:
            self.emit(text)

    def heading(self, level: int, text: str) -> None:
        self.flush()
        text = " ".join(text.replace("¶", " ").split())
        if not text:
            return
        self.stack = [(lv, h) for lv, h in self.stack if lv < level] + [(level, text)]
        self.emit(text, True)


def _dropped(el: Any) -> bool:
    tag = el.tag
    if tag in DROP:
        return True
    if el.get("role", "").lower() in DROP_ROLES or el.get("aria-hidden") == "true":
        return True
    classes = set(el.get("class", "").split())
    return "headerlink" in classes or el.get("hidden") is not None


def _walk(el: Any, out: _Emitter) -> None:
    tag = el.tag if isinstance(el.tag, str) else None
    if tag is None or _dropped(el):  # comments, processing instructions, dropped elements
        if el.tail:
            out.buffer.append(el.tail)
        return
    tag = tag.lower()
    if tag in HEADINGS:
        out.heading(HEADINGS[tag], el.text_content())
    elif tag == "pre":
        out.flush()
        for line in el.text_content().split("\n"):
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
        if el.text:
            out.buffer.append(el.text)
        for child in el:
            _walk(child, out)
        if block:
            out.flush()
        elif tag in CELLS:
            out.buffer.append(" ")
    if el.tail:
        out.buffer.append(el.tail)


def read_html(data: bytes, name: str) -> Document:
    from deepresearch_local.library.readers import ReaderSkip

    if looks_binary(data):
        raise ReaderSkip("binary content (not HTML text)")
    text, encoding = decode_text(data, html_charset(data))
    import lxml.etree  # type: ignore[import-untyped]
    import lxml.html  # type: ignore[import-untyped]

    try:
        root = lxml.html.document_fromstring(text)
    except (lxml.etree.ParserError, ValueError) as exc:
        raise ReaderSkip(f"no text in the page ({exc})") from exc
    title = " ".join((root.findtext(".//title") or "").split())
    main = None
    for xpath in ("//main", "//*[@role='main']", "//article"):
        found = root.xpath(xpath)
        if found:
            main = found[0]
            break
    if main is None:
        body = root.find("body")
        main = body if body is not None else root
    out = _Emitter()
    if main.text:
        out.buffer.append(main.text)
    for child in main:  # not _walk(main): its tail lies outside the region
        _walk(child, out)
    out.flush()
    if not out.lines:
        raise ReaderSkip("no text in the page")
    if not title:
        title = next((line.text for line in out.lines if line.is_heading), "") or PurePath(name).name
    note = "" if encoding in ("utf-8", "utf-8-sig", "ascii") else f"decoded as {encoding}"
    return Document(kind="html", title=title, lines=out.lines, note=note)
