"""PDF text made searchable: words hyphenated at line ends made whole, outline headings."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pypdf
import pytest

from deepresearch_local.library import Library
from deepresearch_local.library.errors import ReaderSkip
from deepresearch_local.library.pdf_reader import (
    ENCRYPTED,
    _pdfium_outline,
    _with_pdfium,
    drop_running_lines,
    outline,
    with_headings,
)
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


@pytest.fixture(autouse=True, params=["pdfium", "pypdf"])
def engine(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Every test reads its PDFs with PDFium and again with pypdf, which stands in where
    ``pypdfium2`` is not installed (``import pypdfium2`` then fails)."""
    if request.param == "pypdf":
        monkeypatch.setitem(sys.modules, "pypdfium2", None)
    return str(request.param)


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


def _book(pages: int) -> list[list[str]]:
    """A chapter of a typeset book: a running head with the page number above every page, a foot
    below it, and a sentence that runs on from one page to the next."""
    book = []
    for n in range(1, pages + 1):
        head = f"Chapter 3: Firing the Kiln {n + 40}"
        body = [
            f"Raise the heat slowly, step {2 * n}, and watch the",
            "cones bend before the glaze melts.",
            f"Keep the door shut up to {700 + 100 * n} degrees.",
        ]
        book.append([head, *body, f"Field Guide to Pottery, page {n + 40} of 212"])
    return book


def test_running_heads_and_feet_are_left_out_but_where_they_first_appear() -> None:
    pages = _book(5)
    pages[2].insert(2, "Chapter 3: Firing the Kiln 43")  # mid-page, not a running head: kept
    doc = read_document("pdf", pdf_bytes(pages), "pottery.pdf")
    text = {(line.page, line.no): line.text for line in doc.lines}
    assert text[1, 1] == "Chapter 3: Firing the Kiln 41" and text[1, 5].startswith("Field Guide")
    for page in range(2, 6):
        assert text[page, 1] == "" and text[page, len(pages[page - 1])] == ""
        assert text[page, 2].startswith("Raise the heat")  # the text itself stays
    assert text[3, 3] == "Chapter 3: Firing the Kiln 43"
    assert len(doc.lines) == sum(len(page) for page in pages)  # lines keep their numbers


def test_lines_that_are_not_running_heads_are_kept() -> None:
    pages = [*_book(2), ["Plates"], ["Plates", "Index"], ["Plates", "Index", "Glazes", "Kilns"]]
    before = [list(page) for page in pages]
    drop_running_lines(pages)
    assert pages == before  # two pages are not a pattern; a page of four lines is too short to tell
    three = _book(3)
    three[2][0] = "x" * 200 + " 3"  # a long line is text, never a running head
    three[1][0] = "x" * 200 + " 2"
    three[0][0] = "x" * 200 + " 1"
    for page in three:
        page.insert(-1, "}")  # a listing's closing brace near the foot of every page: code, kept
    drop_running_lines(three)
    assert all(page[0].startswith("xxx") for page in three) and three[2][-1] == ""
    assert all(page[-2] == "}" for page in three)
    invoices = [
        [f"Invoice {n}", f"{item}, {n % 7} boxes", f"shipped to {town}", f"{item} order", f"due {n % 97} EUR"]
        for n, item, town in ((4711, "clay", "Stoke"), (4712, "glaze", "Seto"), (4720, "cones", "Delft"))
    ]
    before = [list(page) for page in invoices]
    drop_running_lines(invoices)
    assert invoices == before  # numbers that are not the pages' own: text, kept
    tools = ("cut", "sort", "uniq", "tr", "sed", "awk", "grep", "find", "xargs", "tee")
    manual = [
        [f"{tool} reads its input", f"{tool} --help", f"{tool} --version", f"{tool} exits with 0"]
        for tool in tools
    ]
    for n in (1, 5, 9):
        manual[n].insert(0, "Syntax:")  # a label starting a page here and there, not a running head
    before = [list(page) for page in manual]
    drop_running_lines(manual)
    assert manual == before


def test_a_library_indexed_before_reads_its_pdfs_again_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "books"
    root.mkdir()
    (root / "pottery.pdf").write_bytes(pdf_bytes(_book(4)))
    db_path = tmp_path / "lib.sqlite3"
    heads = "SELECT COUNT(*) FROM chunks_fts WHERE chunks_fts MATCH 'body:kiln'"
    with monkeypatch.context() as old:  # the reader of the version before
        old.setattr("deepresearch_local.library.pdf_reader.drop_running_lines", lambda pages: None)
        with Library(db_path) as lib:
            lib.add(root, "books")
            assert lib.store.query(heads)[0][0] == 4  # every page's chunk holds the running head
            lib.store.db.execute(
                "DELETE FROM schema_migrations WHERE name = 'read_again_for_pdf_running_heads'"
            )
            lib.store.db.commit()
    with Library(db_path) as lib:
        assert lib.upgrade_pending() == ["books"]
        lib.catch_up()
        assert lib.store.query(heads)[0][0] == 1  # where it first appears, only


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


def test_pdfium_reads_by_default_and_pypdf_where_it_is_missing(engine: str) -> None:
    pages = _with_pdfium(pdf_bytes(PAGES))
    if engine == "pdfium":
        assert pages is not None and pages.texts[0] == [
            "Introduction",
            "The pipeline runs on every ma-",
            "chine, then stops.",
        ]
    else:
        assert pages is None  # read_document then asks pypdf (the other tests read through it)


def _encrypted(user_password: str) -> bytes:
    writer = pypdf.PdfWriter(clone_from=pypdf.PdfReader(io.BytesIO(pdf_bytes(PAGES))))
    writer.encrypt(user_password=user_password, owner_password="owner-secret", algorithm="RC4-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def test_a_pdf_that_needs_a_password_is_skipped_saying_so() -> None:
    with pytest.raises(ReaderSkip, match=ENCRYPTED.replace("(", r"\(").replace(")", r"\)")):
        read_document("pdf", _encrypted("reader-secret"), "locked.pdf")
    # restricted (an owner password) but readable without one: read
    doc = read_document("pdf", _encrypted(""), "restricted.pdf")
    assert any("machine" in line.text for line in doc.lines)


def test_a_damaged_pdfium_outline_costs_the_headings_not_the_text() -> None:
    class Broken:
        def get_toc(self) -> list[object]:
            raise ValueError("bad outline")

    assert _pdfium_outline(Broken()) == []
