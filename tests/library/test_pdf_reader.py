"""PDF text made searchable: words hyphenated at line ends made whole, outline headings."""

from __future__ import annotations

import io
from pathlib import Path

import pypdf

from deepresearch_local.library import Library
from deepresearch_local.library.pdf_reader import outline, with_headings
from deepresearch_local.library.readers import read_document
from tests.library.corpus import pdf_bytes

PAGES = [
    ["Introduction", "The pipeline runs on every ma-", "chine, then stops."],
    [
        "2 Installation",
        "A pseudo-random seed is kept. The seed is pseudo-",
        "random as well.",
        "Well-",
        "Known names stay.",
    ],
    ["The last part of installing.", "2.1 From source", "Run the build script."],
    ["Tables of figures follow."],
]


def _with_outline(data: bytes) -> bytes:
    writer = pypdf.PdfWriter(clone_from=pypdf.PdfReader(io.BytesIO(data)))
    writer.add_outline_item(title="Introduction", page_number=0)
    install = writer.add_outline_item(title="Installation", page_number=1)
    writer.add_outline_item(title="From source", page_number=2, parent=install)
    writer.add_outline_item(title="Appendix (not shown on its page)", page_number=2)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def test_a_word_broken_at_a_line_end_is_made_whole_on_the_first_line() -> None:
    doc = read_document("pdf", pdf_bytes(PAGES), "manual.pdf")
    text = {(line.page, line.no): line.text for line in doc.lines}
    assert text[1, 2] == "The pipeline runs on every machine," and text[1, 3] == "then stops."
    # the document writes "pseudo-random" on one line and never "pseudorandom": the hyphen stays
    assert (
        text[2, 2] == "A pseudo-random seed is kept. The seed is pseudo-random" and text[2, 3] == "as well."
    )
    assert text[2, 4] == "Well-" and text[2, 5] == "Known names stay."  # a capital starts a new word
    assert len(doc.lines) == sum(len(page) for page in PAGES)  # lines and their numbers stay put


def test_the_outline_gives_each_line_its_section() -> None:
    doc = read_document("pdf", _with_outline(pdf_bytes(PAGES)), "manual.pdf")
    by_place = {(line.page, line.no): line for line in doc.lines}
    assert by_place[1, 1].heading == ("Introduction",) and by_place[1, 1].is_heading
    assert by_place[1, 3].heading == ("Introduction",)
    assert by_place[2, 1].heading == ("Installation",) and by_place[2, 1].is_heading  # "2 " numbering
    assert by_place[3, 1].heading == ("Installation",)  # above the subsection's title on its page
    assert by_place[3, 2].heading == ("Installation", "From source") and by_place[3, 2].is_heading
    # an entry whose title is not on its page, after one that is, takes over from the next page
    assert by_place[3, 3].heading == ("Installation", "From source")
    assert by_place[4, 1].heading == ("Appendix (not shown on its page)",) and not by_place[4, 1].is_heading
    plain = read_document("pdf", pdf_bytes(PAGES), "manual.pdf")
    assert all(line.heading == () and not line.is_heading for line in plain.lines)


def test_a_damaged_outline_costs_the_headings_not_the_text() -> None:
    class Broken:
        pages = ()

        @property
        def outline(self) -> list[object]:
            raise ValueError("bad outline")

    assert outline(Broken()) == []
    lines = with_headings([["one", "two"]], [])
    assert [(line.text, line.heading) for line in lines] == [("one", ()), ("two", ())]


def test_a_title_is_found_after_its_section_number() -> None:
    for shown in ("B.2 Tables", "IV  Tables", "12.3.1 tables", "Tables"):
        lines = with_headings([["intro", shown, "rows"]], [(0, ("Tables",))])
        assert [(line.heading, line.is_heading) for line in lines] == [
            ((), False),
            (("Tables",), True),
            (("Tables",), False),
        ], shown
    lines = with_headings([["intro", "Tables of contents", "rows"]], [(0, ("Tables",))])
    assert lines[0].heading == ("Tables",) and not any(line.is_heading for line in lines)


def test_search_finds_the_whole_word_and_shows_the_section(tmp_path: Path, library: Library) -> None:
    root = tmp_path / "papers"
    root.mkdir()
    (root / "manual.pdf").write_bytes(_with_outline(pdf_bytes(PAGES)))
    library.add(root, "papers")
    (hit,) = library.search("machine", k=1, mode="bm25")
    assert hit.location.page == 1 and "machine" in hit.snippet
    (hit,) = library.search("build script from source", k=1, mode="bm25")
    assert hit.location.page == 3
    headings = library.store.query("SELECT page, heading FROM chunks ORDER BY page")
    assert [tuple(r) for r in headings] == [
        (1, "Introduction"),
        (2, "Installation"),
        (3, "Installation"),  # a chunk is named by its first line; this one starts above 2.1
        (4, "Appendix (not shown on its page)"),
    ]
