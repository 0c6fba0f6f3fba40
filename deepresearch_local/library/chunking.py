"""Cut a document's lines into chunks of about a thousand characters.

Chunks prefer to end at a paragraph break once they reach ``min_chars``, never pass
``max_chars`` (a longer line is split at spaces), never span two pages, start afresh at a new
heading, and, when a chunk had to end inside a paragraph, repeat up to ``overlap`` characters
of its last lines so a passage cut in two is still found whole in one of them.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from deepresearch_local.library.model import Chunk, Document, Line

MIN_CHARS = 800
MAX_CHARS = 1200
OVERLAP = 200
SECTION_MIN = 200
"""A heading closes the current chunk once it holds at least this much."""


def _pieces(lines: Iterable[Line], max_chars: int) -> Iterator[Line]:
    """Lines no longer than ``max_chars`` (long ones split at spaces, keeping their number)."""
    for line in lines:
        text = line.text.rstrip()
        if text is line.text and len(text) <= max_chars:  # the usual case: the line as it is
            yield line
            continue
        while len(text) > max_chars:
            cut = text.rfind(" ", 0, max_chars)
            if cut < max_chars // 2:
                cut = max_chars
            yield line._replace(text=text[:cut].rstrip())
            text = text[cut:].lstrip()
        yield line._replace(text=text)


def _join(lines: list[Line]) -> str:
    out: list[str] = []
    for line in lines:
        if line.text.strip() or (out and out[-1]):
            out.append(line.text if line.text.strip() else "")
    while out and not out[-1]:
        out.pop()
    return "\n".join(out)


def chunk_document(
    doc: Document, min_chars: int = MIN_CHARS, max_chars: int = MAX_CHARS, overlap: int = OVERLAP
) -> list[Chunk]:
    chunks: list[Chunk] = []
    current: list[Line] = []
    size = 0
    fresh = 0
    """Non-blank lines in ``current`` that were not carried over from the previous chunk."""

    def flush(carry: bool) -> None:
        nonlocal current, size, fresh
        body = [line for line in current if line.text.strip()]
        if fresh and body:
            chunks.append(
                Chunk(
                    text=_join(current),
                    ordinal=len(chunks),
                    page=body[0].page,
                    line_start=body[0].no,
                    line_end=body[-1].no,
                    heading=" > ".join(body[0].heading),
                )
            )
        kept: list[Line] = []
        if carry:
            total = 0
            for line in reversed(body):
                total += len(line.text) + 1
                if total > overlap:
                    break
                kept.insert(0, line)
        current, size, fresh = kept, sum(len(line.text) + 1 for line in kept), 0

    for line in _pieces(doc.lines, max_chars):
        if current and (line.page != current[0].page or (line.is_heading and size >= SECTION_MIN)):
            flush(carry=False)
        if not line.text.strip():
            if size >= min_chars:
                flush(carry=False)  # a paragraph break: the next chunk starts clean
            elif current:
                current.append(line)
            continue
        if current and size + len(line.text) + 1 > max_chars:
            flush(carry=True)
        if line.is_heading and current and not fresh:
            current, size = [], 0  # a new section does not start with the last one's tail
        current.append(line)
        size += len(line.text) + 1
        fresh += 1
    flush(carry=False)
    return chunks
