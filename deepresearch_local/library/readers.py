"""Readers: file bytes -> a ``Document`` of located lines, one function per format.

Every reader keeps where each line came from (line number, page, heading path), so every chunk
and every span read back can be cited. Heavy parsers (pypdfium2, pypdf, python-docx, selectolax) are imported
inside the reader that needs them.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from pathlib import PurePath

from deepresearch_local.library.detect import decode_text, looks_binary
from deepresearch_local.library.errors import ReaderSkip
from deepresearch_local.library.front_matter import front_matter
from deepresearch_local.library.model import Document, Line

_NEWLINES = re.compile(r"\r\n|\r|\n")
_ATX = re.compile(r"^ {0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_SETEXT = re.compile(r"^ {0,3}(=+|-+)\s*$")


def split_lines(text: str) -> list[str]:
    """Lines as an editor numbers them (``str.splitlines`` also splits on form feeds and more; a
    final newline ends the last line rather than starting another)."""
    lines = _NEWLINES.split(text)
    if len(lines) > 1 and lines[-1] == "":
        lines.pop()
    return lines


def decode_plain(data: bytes) -> tuple[str, str]:
    """(the text of a text file, a note when it was not UTF-8); ``ReaderSkip`` for binary data."""
    if looks_binary(data):
        raise ReaderSkip("binary content (not text)")
    text, encoding = decode_text(data)
    text = text.replace("\x00", "\ufffd")  # a stray NUL (see ``looks_binary``), as HTML pages read one
    note = "" if encoding in ("utf-8", "utf-8-sig", "ascii") else f"not UTF-8: decoded as {encoding}"
    return text, note


def read_text(data: bytes, name: str, kind: str = "text") -> Document:
    """Plain text, source code and CSV: lines as they are."""
    text, note = decode_plain(data)
    lines = [Line(t, i) for i, t in enumerate(split_lines(text), start=1)]
    return Document(kind=kind, title=PurePath(name).name, lines=lines, note=note)


def read_markdown(data: bytes, name: str) -> Document:
    """Markdown: source line numbers plus the heading path (ATX and setext headings; fenced code
    blocks are never headings). The title is the front matter's, else the first level-1 heading's,
    else the file name; front matter lines are kept as text (its description and keywords can be
    what a search needs) but never read as headings."""
    text, note = decode_plain(data)
    raw = split_lines(text)
    top, fields = front_matter(raw)
    lines = [Line(t, i + 1) for i, t in enumerate(raw[:top])]
    stack: list[tuple[int, str]] = []
    fence = ""
    title = fields.get("title", "")
    i = top
    while i < len(raw):
        t = raw[i]
        match = _FENCE.match(t)
        if fence:
            if match and match.group(1)[0] == fence[0] and len(match.group(1)) >= len(fence):
                fence = ""
        elif match:
            fence = match.group(1)
        level, heading = 0, ""
        if not fence and not match:
            atx = _ATX.match(t)
            nxt = raw[i + 1] if i + 1 < len(raw) else ""
            if atx:
                level, heading = len(atx.group(1)), atx.group(2)
            elif (
                t.strip()
                and _SETEXT.match(nxt)
                and not _SETEXT.match(t)
                and (i == top or not raw[i - 1].strip())
            ):
                level, heading = (1 if nxt.strip()[0] == "=" else 2), t.strip()
        if level:
            stack = [(lv, h) for lv, h in stack if lv < level] + [(level, heading)]
            title = title or (heading if level == 1 else "")
        lines.append(Line(t, i + 1, None, tuple(h for _, h in stack), bool(level)))
        i += 1
    return Document(kind="markdown", title=title or PurePath(name).name, lines=lines, note=note)


def read_pdf(data: bytes, name: str) -> Document:
    """PDF via pypdf: one unit per page, lines numbered within their page (see ``pdf_reader``)."""
    from deepresearch_local.library.pdf_reader import read_pdf as read

    return read(data, name)


def read_docx(data: bytes, name: str) -> Document:
    """DOCX via python-docx: paragraphs and table rows in order, one line each, with the heading
    path from the Heading/Title styles."""
    import docx
    from docx.table import Table

    try:
        document = docx.Document(io.BytesIO(data))
    except Exception as exc:
        raise ValueError(f"not a readable DOCX ({type(exc).__name__}: {exc})") from exc
    stack: list[tuple[int, str]] = []
    lines: list[Line] = []
    first_heading = ""

    def add(text: str, is_heading: bool = False) -> None:
        for part in split_lines(text):
            lines.append(Line(part, len(lines) + 1, None, tuple(h for _, h in stack), is_heading))

    for block in document.iter_inner_content():
        if isinstance(block, Table):
            for row in block.rows:
                cells: list[str] = []
                for cell in row.cells:
                    value = cell.text.strip()
                    if value and (not cells or cells[-1] != value):  # merged cells repeat
                        cells.append(value)
                add(" | ".join(cells))
            add("")
            continue
        style = (block.style.name if block.style is not None else "") or ""
        level = 0
        if style == "Title":
            level = 1
        elif style.startswith("Heading "):
            digits = style.split(" ", 1)[1]
            level = int(digits) if digits.isdigit() else 0
        text = block.text
        if level and text.strip():
            stack = [(lv, h) for lv, h in stack if lv < level] + [(level, text.strip())]
            first_heading = first_heading or text.strip()
            add(text, True)
        else:
            add(text)
    title = (document.core_properties.title or "").strip() or first_heading or PurePath(name).name
    if not any(line.text.strip() for line in lines):
        raise ReaderSkip("no text in the document")
    return Document(kind="docx", title=title, lines=lines)


def _read_html(data: bytes, name: str) -> Document:
    from deepresearch_local.library.html_reader import read_html

    return read_html(data, name)


READERS: dict[str, Callable[[bytes, str], Document]] = {
    "markdown": read_markdown,
    "html": _read_html,
    "pdf": read_pdf,
    "docx": read_docx,
    "text": read_text,
    "code": lambda data, name: read_text(data, name, "code"),
    "csv": lambda data, name: read_text(data, name, "csv"),
}


def read_document(kind: str, data: bytes, name: str) -> Document:
    """Extract ``data`` (the bytes of file ``name``) with the reader for ``kind``.

    Raises ``ReaderSkip`` when there is nothing to index, any other exception when the file is
    damaged or unreadable.
    """
    if not data:
        raise ReaderSkip("empty file")
    return READERS[kind](data, name)
