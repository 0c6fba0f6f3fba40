"""Read a library file back, whole or at a location, as text with page or line markers.

The text comes from the file on disk through the same readers the index uses, so what the model
reads (and later cites) is what the file says now. Each returned span is reported separately
with its exact location and text, which is what citations are checked against.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from deepresearch_local.library.compressed import unpack
from deepresearch_local.library.detect import kind_for, looks_binary, unsupported_reason
from deepresearch_local.library.errors import LibraryError, ReaderSkip
from deepresearch_local.library.extract import read_bytes
from deepresearch_local.library.indexer import BINARY_KINDS, DEFAULT_LIMITS, Limits
from deepresearch_local.library.model import Document, Line, Location, parse_location
from deepresearch_local.library.readers import read_document

KIND_NAMES = {
    "pdf": "PDF",
    "docx": "Word document",
    "html": "HTML page",
    "markdown": "Markdown",
    "csv": "CSV",
    "code": "source code",
    "text": "text",
}


@dataclass(frozen=True)
class Span:
    location: Location
    text: str


@dataclass
class ReadResult:
    path: Path
    title: str
    kind: str
    rendered: str
    """The text with markers: ``[page N]`` before each PDF page, ``N| `` before each other line."""
    spans: list[Span]
    shown: Location
    total_pages: int | None
    total_lines: int
    next_location: str = ""
    """Where to continue when the text was cut to the size limit ("" when nothing is left)."""
    notes: list[str] = field(default_factory=list)

    def extent(self) -> str:
        if self.kind == "pdf":
            return f"{self.total_pages} pages"
        return f"{self.total_lines} lines"


def load_document(path: Path, limits: Limits = DEFAULT_LIMITS) -> Document:
    """Read ``path`` with the reader its type calls for (raises ``LibraryError`` when it cannot)."""
    kind = kind_for(path.name) or "sniff"
    if kind in ("binary", "unsupported"):
        raise LibraryError(f"{path.name}: {unsupported_reason(path.name)}.")
    limit = limits.max_document_bytes if kind in BINARY_KINDS else limits.max_text_bytes
    try:
        data = read_bytes(path, limit)
    except OSError as exc:
        raise LibraryError(f"{path.name} cannot be read ({exc.strerror or exc}).") from exc
    if len(data) > limit:
        raise LibraryError(f"{path.name} is too large to read (over {limit // (1024 * 1024)} MiB).")
    unpacked = unpack(path.name, data, limit)
    if unpacked.problem:
        raise LibraryError(f"{path.name} could not be read: {unpacked.problem}.")
    name, data = unpacked.name, unpacked.data
    if kind == "sniff":
        if looks_binary(data):
            raise LibraryError(f"{path.name} holds binary data, not text.")
        kind = "text"
    try:
        return read_document(kind, data, name)
    except ReaderSkip as exc:
        raise LibraryError(f"{path.name}: {exc}.") from exc
    except Exception as exc:
        raise LibraryError(f"{path.name} could not be read: {exc}") from exc


def _section(lines: list[Line], heading: str) -> list[Line]:
    """The lines under the first heading path that ends with (or equals) ``heading``."""
    wanted = [part.strip().lower() for part in heading.split(">") if part.strip()]
    if not wanted:
        return []
    for i, line in enumerate(lines):
        path = [h.lower() for h in line.heading]
        if line.is_heading and path[-len(wanted) :] == wanted:
            depth = len(path)
            end = i + 1
            while end < len(lines) and not (lines[end].is_heading and len(lines[end].heading) <= depth):
                end += 1
            return lines[i:end]
    return []


def _render_pages(doc: Document, first: int, last: int, max_chars: int) -> tuple[str, list[Span], int]:
    parts: list[str] = []
    spans: list[Span] = []
    used = 0
    shown_last = first - 1
    for page in range(first, last + 1):
        text = "\n".join(line.text for line in doc.lines if line.page == page).strip()
        if spans and used + len(text) > max_chars:
            break
        cut = len(text) > max_chars
        if cut:
            text = text[:max_chars].rstrip()
        shown = text + (" …" if cut else "") if text else "(no text on this page)"
        parts.append(f"[page {page}]\n{shown}")
        if text:
            spans.append(Span(Location(page=page), text))
        used += len(text)
        shown_last = page
    return "\n\n".join(parts), spans, shown_last


def read_document_at(
    path: Path, location: str | None, max_chars: int, limits: Limits = DEFAULT_LIMITS
) -> ReadResult:
    """Read ``path`` at ``location`` (or from the start), at most about ``max_chars`` of text."""
    doc = load_document(path, limits)
    notes = [doc.note] if doc.note else []
    loc = parse_location(location, paged=doc.kind == "pdf") if location else None
    if location and loc is None:
        notes.append(f"The location {location!r} was not understood, so the file is shown from the start.")
    if doc.kind == "pdf":
        total = doc.pages or 0
        first = min(max(loc.page or 1, 1) if loc else 1, max(total, 1))
        last = min(loc.page_end or first, total) if loc and loc.page else total
        rendered, spans, shown_last = _render_pages(doc, first, max(last, first), max_chars)
        nxt = f"p. {shown_last + 1}" if shown_last < total else ""
        shown = Location(page=first, page_end=shown_last)
        return ReadResult(
            path, doc.title, doc.kind, rendered, spans, shown, total, len(doc.lines), nxt, notes
        )
    lines = doc.lines
    selected = lines
    if loc and loc.line_start is not None:
        end = loc.line_end if loc.line_end is not None else loc.line_start
        selected = [line for line in lines if loc.line_start <= line.no <= end]
    elif loc and loc.heading:
        selected = _section(lines, loc.heading)
        if not selected:
            notes.append(f"No heading {loc.heading!r} in this file, so it is shown from the start.")
            selected = lines
    if not selected:
        raise LibraryError(f"{path.name} has {len(lines)} lines; {location!r} is past its end.")
    out: list[str] = []
    used = 0
    taken: list[Line] = []
    for line in selected:
        if taken and used + len(line.text) + 1 > max_chars:
            break
        cut = len(line.text) > max_chars  # one huge line (minified text, a long HTML paragraph)
        if cut:
            line = line._replace(text=line.text[:max_chars].rstrip())
        out.append(f"{line.no}| {line.text}" + (" …" if cut else ""))
        taken.append(line)
        used += len(line.text) + 1
    last_no = taken[-1].no
    nxt = ""
    if last_no < lines[-1].no:
        span = max(last_no - taken[0].no, 50)
        nxt = f"lines {last_no + 1}-{min(last_no + 1 + span, lines[-1].no)}"
    heading = " > ".join(taken[0].heading)
    shown = Location(line_start=taken[0].no, line_end=last_no, heading=heading)
    text = "\n".join(line.text for line in taken).strip("\n")
    spans = [Span(shown, text)] if text.strip() else []
    return ReadResult(path, doc.title, doc.kind, "\n".join(out), spans, shown, None, len(lines), nxt, notes)
