"""Turn fetched bytes into readable text: content sniffing, charsets, HTML main text, PDF pages.

HTML goes through readability-lxml (main content only, navigation and ads dropped), then is
rendered block by block so headings (as ``#`` lines) and paragraph breaks survive. PDFs become
text with ``[page N]`` markers. Everything here is pure: bytes in, text out.
"""

from __future__ import annotations

import codecs
import io
import re
from typing import Any, Literal
from urllib.parse import urljoin

PageKind = Literal["html", "pdf", "text", "binary", "unsupported"]

_HTML_TYPES = {"text/html", "application/xhtml+xml"}
_TEXT_TYPES = {
    "text/plain",
    "text/markdown",
    "text/x-markdown",
    "text/csv",
    "text/x-rst",
    "text/xml",
    "application/xml",
    "application/json",
    "application/x-ndjson",
}
_SNIFF_TYPES = {"", "application/octet-stream", "binary/octet-stream", "application/unknown"}
_BINARY_MAGIC = (
    b"\x89PNG",
    b"\xff\xd8\xff",
    b"GIF8",
    b"PK\x03\x04",
    b"\x1f\x8b",
    b"BZh",
    b"\x7fELF",
    b"RIFF",
    b"OggS",
    b"ID3",
    b"\x00\x00\x00",
)
_HTML_HINTS = (b"<!doctype html", b"<html", b"<head", b"<body", b"<title", b"<div", b"<p>")
_BOMS = ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9._:-]+)""", re.IGNORECASE)


def mime_of(content_type: str | None) -> str:
    """``text/html; charset=x`` -> ``text/html``."""
    return (content_type or "").split(";", 1)[0].strip().lower()


def charset_of(content_type: str | None) -> str | None:
    match = re.search(r"charset\s*=\s*[\"']?([A-Za-z0-9._:-]+)", content_type or "", re.IGNORECASE)
    return match.group(1) if match else None


def refused_early(content_type: str | None) -> bool:
    """True when the declared type alone says we cannot read the body (images, audio, archives...)."""
    mime = mime_of(content_type)
    if mime in _HTML_TYPES or mime in _TEXT_TYPES or mime in _SNIFF_TYPES or mime == "application/pdf":
        return False
    return not (mime.startswith("text/") or mime.endswith(("+xml", "+json")))


def looks_binary(head: bytes) -> bool:
    """Control bytes or a known binary signature in the first bytes (UTF-16 text excepted)."""
    if not head:
        return False
    if any(head.startswith(bom) for bom, _ in _BOMS):
        return False
    if head.startswith(_BINARY_MAGIC):
        return True
    sample = head[:2048]
    if b"\x00" in sample:
        return True
    controls = sum(1 for b in sample if b < 32 and b not in (9, 10, 12, 13, 27))
    return controls > len(sample) * 0.05


def classify(content_type: str | None, head: bytes, url: str = "") -> PageKind:
    """Decide how to read a body from its declared type and its first bytes."""
    mime = mime_of(content_type)
    if head.lstrip()[:5] == b"%PDF-":
        return "pdf"
    if mime == "application/pdf":
        return "binary"  # declared PDF without the PDF signature
    if looks_binary(head):
        return "binary"
    if mime in _HTML_TYPES:
        return "html"
    if mime in _TEXT_TYPES or mime.startswith("text/") or mime.endswith(("+xml", "+json")):
        return "text"
    if mime in _SNIFF_TYPES:
        lowered = head[:1024].lstrip().lower()
        if any(hint in lowered for hint in _HTML_HINTS):
            return "html"
        return "text"
    return "unsupported"


def _codec(name: str | None) -> str | None:
    """A Python codec for a declared charset, or None if unknown.

    Latin-1 and ASCII labels mean cp1252, as in browsers."""
    if not name:
        return None
    try:
        codec = codecs.lookup(name.strip().strip("\"'")).name
    except LookupError:
        return None
    return "cp1252" if codec in ("latin-1", "iso8859-1", "ascii") else codec


def decode(body: bytes, content_type: str | None, *, html: bool, truncated: bool = False) -> str:
    """Decode with the BOM, the header charset, the HTML meta charset, then UTF-8, then cp1252."""
    for bom, name in _BOMS:
        if body.startswith(bom):
            return body.decode(name, errors="replace")
    declared = _codec(charset_of(content_type))
    if declared is None and html:
        match = _META_CHARSET.search(body[:4096])
        declared = _codec(match.group(1).decode("ascii", "ignore")) if match else None
    if declared is not None:
        return body.decode(declared, errors="replace")
    try:
        # A body cut at the size cap may end inside a character: decode incrementally.
        return codecs.getincrementaldecoder("utf-8")().decode(body, final=not truncated)
    except UnicodeDecodeError:
        return body.decode("cp1252", errors="replace")


# ---------------------------------------------------------------- HTML

_HEADINGS = {"h1": 1, "h2": 2, "h3": 3, "h4": 4, "h5": 5, "h6": 6}
_SKIP = {"script", "style", "noscript", "template", "svg", "iframe", "button", "select", "input"}
_CHROME = {"nav", "header", "footer", "aside", "form", "menu"}
_BLOCKS = {
    "p", "div", "section", "article", "main", "ul", "ol", "dl", "dd", "dt", "blockquote", "table",
    "tr", "figure", "figcaption", "details", "summary", "address", "hr", "body", "html", "center",
    *_CHROME,
}  # fmt: skip
_SPACES = re.compile(r"[ \t\r\f\v\u00a0]+")


def _clean_inline(parts: list[str]) -> str:
    text = "".join(parts)
    lines = (_SPACES.sub(" ", line).strip() for line in text.split("\n"))
    return "\n".join(line for line in lines if line)


class _Renderer:
    """Walks an lxml tree and emits one string per block."""

    def __init__(self, *, skip_chrome: bool) -> None:
        self.blocks: list[str] = []
        self.inline: list[str] = []
        self.skip = _SKIP | (_CHROME if skip_chrome else set())

    def flush(self, prefix: str = "") -> None:
        text = _clean_inline(self.inline)
        self.inline = []
        if text:
            self.blocks.append(prefix + text)

    def walk(self, el: Any) -> None:
        tag = el.tag.lower() if isinstance(el.tag, str) else ""
        if not tag or tag in self.skip:
            return
        if tag in _HEADINGS:
            self.flush()
            text = _SPACES.sub(" ", el.text_content().replace("\n", " ")).strip()
            if text:
                self.blocks.append("#" * _HEADINGS[tag] + " " + text)
            return
        if tag == "pre":
            self.flush()
            text = el.text_content().strip("\n")
            if text.strip():
                self.blocks.append(text)
            return
        if tag == "br":
            self.inline.append("\n")
            return
        is_block = tag in _BLOCKS or tag == "li"
        if is_block:
            self.flush()
        if el.text:
            self.inline.append(el.text)
        for child in el:
            self.walk(child)
            if child.tail:
                self.inline.append(child.tail)
            if isinstance(child.tag, str) and child.tag.lower() in ("td", "th"):
                self.inline.append(" | ")
        if is_block:
            self.flush("- " if tag == "li" else "")


def render_blocks(root: Any, *, skip_chrome: bool) -> str:
    renderer = _Renderer(skip_chrome=skip_chrome)
    renderer.walk(root)
    renderer.flush()
    out: list[str] = []
    for block in (b.strip(" |") for b in renderer.blocks):
        if not block:
            continue
        if out and block.startswith("- ") and out[-1].startswith("- "):
            out[-1] += "\n" + block  # consecutive list items stay one block
        else:
            out.append(block)
    return "\n\n".join(out)


def html_to_text(html: str, url: str = "") -> tuple[str, str]:
    """Main text of an HTML page and its title. Falls back to the whole body when readability
    keeps too little of it (short pages, unusual layouts)."""
    import lxml.html  # type: ignore[import-untyped]
    from lxml.etree import ParserError  # type: ignore[import-untyped]
    from readability import Document
    from readability.readability import Unparseable

    if not html.strip():
        return "", ""
    doc = Document(html, url=url or None)
    try:
        title = doc.short_title() or ""  # before summary(), which mutates the tree
    except (ParserError, Unparseable, ValueError):
        title = ""
    try:
        main = render_blocks(lxml.html.fromstring(doc.summary(html_partial=True)), skip_chrome=False)
    except (ParserError, Unparseable, ValueError):
        main = ""
    try:
        whole = render_blocks(lxml.html.fromstring(html), skip_chrome=True)
    except (ParserError, ValueError):
        whole = ""
    text = main if len(main) >= min(400, len(whole) // 3) else whole
    title = _SPACES.sub(" ", title).strip()
    if title and not text.lstrip("# ").startswith(title):
        text = f"# {title}\n\n{text}" if text else f"# {title}"
    return text, title


def html_links(html: str, base_url: str, limit: int = 1000) -> list[str]:
    """The http(s) targets of the page's ``<a href>`` links, made absolute (the first ``limit``).

    ``visit`` records them: a URL linked from a page the run read may be visited as it is.
    """
    import lxml.html  # type: ignore[import-untyped]
    from lxml.etree import ParserError  # type: ignore[import-untyped]

    if not html.strip():
        return []
    try:
        root = lxml.html.fromstring(html)
    except (ParserError, ValueError):
        return []
    links: list[str] = []
    for element in root.iter("a"):
        href = (element.get("href") or "").strip()
        if not href:
            continue
        try:
            target = urljoin(base_url, href)
        except ValueError:
            continue
        if target.lower().startswith(("http://", "https://")):
            links.append(target)
            if len(links) >= limit:
                break
    return links


# ---------------------------------------------------------------- PDF


def pdf_to_text(data: bytes, *, max_pages: int = 500) -> tuple[str, str]:
    """Text of a PDF with ``[page N]`` markers, and its title from the metadata. Raises ValueError
    when the file cannot be read."""
    from pypdf import PdfReader

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise ValueError("the PDF is encrypted")
        title = str(reader.metadata.title or "") if reader.metadata is not None else ""
        pages = []
        for number, page in enumerate(reader.pages, start=1):
            if number > max_pages:
                pages.append(f"[pages {number}-{len(reader.pages)} not read: more than {max_pages} pages]")
                break
            pages.append(f"[page {number}]\n{(page.extract_text() or '').strip()}")
    except ValueError:
        raise
    except Exception as exc:  # pypdf raises many kinds of errors on damaged files
        raise ValueError(f"the PDF could not be parsed ({exc.__class__.__name__}: {exc})") from exc
    return "\n\n".join(pages), title
