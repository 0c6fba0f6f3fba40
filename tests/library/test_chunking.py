"""Chunk sizes, overlap, page and heading boundaries, and exact line ranges."""

from __future__ import annotations

import itertools

from deepresearch_local.library.chunking import MAX_CHARS, MIN_CHARS, chunk_document
from deepresearch_local.library.model import Document, Line
from deepresearch_local.library.readers import read_document
from tests.library.corpus import filler, pdf_bytes


def _text_doc(lines: list[str]) -> Document:
    return Document("text", "t", [Line(t, i) for i, t in enumerate(lines, start=1)])


def test_paragraph_breaks_end_chunks_and_line_ranges_are_exact() -> None:
    lines: list[str] = []
    for i in range(30):
        p = filler(300 + 40 * (i % 5))
        lines += [p[:150], p[150:], ""]
    chunks = chunk_document(_text_doc(lines))
    assert len(chunks) > 5
    for chunk in chunks[:-1]:
        assert MIN_CHARS <= len(chunk.text) <= MAX_CHARS, len(chunk.text)
    for chunk in chunks:
        # The chunk's text is exactly the file's lines in its range.
        assert chunk.text == "\n".join(lines[chunk.line_start - 1 : chunk.line_end])
    for before, after in itertools.pairwise(chunks):
        assert after.line_start == before.line_end + 2  # the blank line between, no overlap
    assert [c.ordinal for c in chunks] == list(range(len(chunks)))
    assert chunks[-1].line_end == len(lines) - 1  # the trailing blank line is not part of a chunk


def test_chunks_cut_inside_a_paragraph_overlap() -> None:
    lines = [f"{n:03d} " + filler(70) for n in range(1, 61)]  # one long paragraph of 75-char lines
    chunks = chunk_document(_text_doc(lines))
    assert len(chunks) == 5
    for before, after in itertools.pairwise(chunks):
        assert len(before.text) <= MAX_CHARS
        carried = before.line_end - after.line_start + 1
        assert carried == 2  # two whole lines (about 150 characters) are repeated
        assert after.text.startswith("\n".join(lines[after.line_start - 1 : before.line_end]))
    assert (chunks[0].line_start, chunks[-1].line_end) == (1, 60)


def test_long_lines_are_split_but_keep_their_number() -> None:
    words = " ".join(f"word{n}" for n in range(1000))
    chunks = chunk_document(_text_doc(["short", words, "tail"]))
    assert all(len(c.text) <= MAX_CHARS for c in chunks)
    assert {c.line_start for c in chunks[1:]} == {2} and chunks[-1].line_end == 3
    joined = " ".join(c.text for c in chunks)
    assert "word0 " in joined and "word999" in joined and "tail" in joined


def test_chunks_never_span_pages() -> None:
    pages = [[filler(90) for _ in range(4)], ["page two starts here", filler(60)], [filler(90)]]
    doc = read_document("pdf", pdf_bytes(pages), "p.pdf")
    chunks = chunk_document(doc)
    assert [c.page for c in chunks] == [1, 2, 3]
    assert chunks[1].text.startswith("page two starts here")
    assert [str(c.location) for c in chunks] == ["p. 1", "p. 2", "p. 3"]


def test_headings_start_chunks_with_their_path() -> None:
    body = filler(500)
    text = f"# A\n\n{body}\n\n## B\n\n{body}\n\n## C\n\nshort\n\n### D\n\ntiny\n"
    chunks = chunk_document(read_document("markdown", text.encode(), "x.md"))
    assert [(c.heading, c.line_start, c.line_end) for c in chunks] == [
        ("A", 1, 3),
        ("A > B", 5, 7),
        ("A > C", 9, 15),  # a short section joins the next one instead of standing alone
    ]
    assert str(chunks[1].location) == "§ A > B, lines 5-7"
    assert not chunks[1].text.startswith(body[-100:])  # no overlap carried into a new section
