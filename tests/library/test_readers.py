"""Readers per format: located lines, headings, encodings, and what counts as unreadable."""

from __future__ import annotations

import codecs
from pathlib import Path

import pytest

from deepresearch_local.library import Library
from deepresearch_local.library.detect import decode_text, kind_for, looks_binary
from deepresearch_local.library.errors import ReaderSkip
from deepresearch_local.library.model import Location, parse_location
from deepresearch_local.library.readers import read_document, split_lines
from tests.library.corpus import pdf_bytes


def test_markdown_heading_paths_ignore_code_fences() -> None:
    text = (
        "Title\n=====\n\nintro\n\n## Setup\n\n```sh\n# not a heading\n```\n\n### Deep ###\nbody\n\n"
        "Other\n-----\ntail\n"
    )
    doc = read_document("markdown", text.encode(), "x.md")
    by_no = {line.no: line for line in doc.lines}
    assert doc.title == "Title"
    assert by_no[1].heading == ("Title",) and by_no[1].is_heading
    assert by_no[9].text == "# not a heading" and by_no[9].heading == ("Title", "Setup")
    assert not by_no[9].is_heading
    assert by_no[12].heading == ("Title", "Setup", "Deep") and by_no[13].heading == ("Title", "Setup", "Deep")
    assert by_no[15].heading == ("Title", "Other") and by_no[17].heading == ("Title", "Other")
    assert len(doc.lines) == 17


def test_text_line_numbers_follow_the_file() -> None:
    data = b"one\r\ntwo\rthree\nfour\x0cstill four\n"
    doc = read_document("text", data, "a.txt")
    assert [(line.no, line.text) for line in doc.lines] == [
        (1, "one"),
        (2, "two"),
        (3, "three"),
        (4, "four\x0cstill four"),
    ]
    assert split_lines("a\n\nb\n") == ["a", "", "b"]


@pytest.mark.parametrize(
    ("data", "text", "encoding"),
    [
        ("naïve café".encode(), "naïve café", "utf-8"),
        (codecs.BOM_UTF8 + b"bom", "bom", "utf-8-sig"),
        ("x€y".encode("cp1252"), "x€y", "cp1252"),
        ("Grüße".encode("utf-16"), "Grüße", "utf-16"),
        (b"\x81\x8d\x8f\x90\x9d", "\x81\x8d\x8f\x90\x9d", "latin-1"),  # undefined in cp1252
    ],
)
def test_decoding(data: bytes, text: str, encoding: str) -> None:
    assert decode_text(data) == (text, encoding)


def test_binary_sniffing() -> None:
    assert looks_binary(b"abc\x00def")
    assert looks_binary(bytes(range(1, 32)) * 10)
    assert not looks_binary("Grüße".encode("utf-16"))
    assert not looks_binary(b"plain\ttext\r\n")
    with pytest.raises(ReaderSkip, match="binary content"):
        read_document("text", b"\x00\x01\x02" * 100, "b.txt")
    with pytest.raises(ReaderSkip, match="empty file"):
        read_document("markdown", b"", "e.md")


def test_a_stray_nul_byte_does_not_make_a_page_binary() -> None:
    """Generated API pages can copy a NUL character from a source comment into the page; the page
    is still text (it was once skipped as "binary content"), while data full of NULs is not."""
    prose = "The character helpers turn code points into strings and back. " * 40
    page = f"<html><body><p>{prose}</p><p><code>\x00</code> null control character</p></body></html>"
    assert not looks_binary(page.encode())
    lines = [line.text for line in read_document("html", page.encode(), "CharUtils.html").lines]
    assert any("null control character" in line for line in lines)
    note = read_document("text", f"{prose}\nNUL is \x00 here.\nLast line.\n".encode(), "n.txt")
    assert [line.text for line in note.lines][1:] == ["NUL is \ufffd here.", "Last line."]
    assert looks_binary(b"record\x00" * 200)  # one byte in seven is NUL


def test_a_binary_file_that_opens_with_text_is_binary(tmp_path: Path) -> None:
    """A DVI file opens with a few NUL bytes and kilobytes of PostScript text; its typesetting
    body is binary. It was once sniffed as text and skipped as "minified or bundled code" (a
    reason that was not true); its body now says what it is. Long text, and long UTF-16 text
    with a BOM that is mostly Chinese, stay text."""
    header = b"\xf7\x02\x01\x83\x92\xc0\x1c;\x00\x00\x00\x00\x03\xe8 TeX output"
    specials = b"".join(
        b"! /pdfmark where {pop} {userdict /pdfmark /cleartomark load put} ifelse %d\n" % i
        for i in range(200)
    )
    body = bytes((i * 7) % 256 for i in range(64 * 1024))  # typesetting commands: NULs among them
    dvi = header + specials + body
    assert not looks_binary(dvi[:8192])  # its start alone passes for text
    assert looks_binary(dvi)
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "manual.dvi").write_bytes(dvi)
    (folder / "notes.txt").write_text("Plain notes about the plotting program. " * 2000)
    with Library(tmp_path / "lib.sqlite3") as library:
        library.add(folder, "docs")
        records = {e.rel: (e.status, e.reason) for e in library.coverage("docs")}
    assert records["manual.dvi"] == ("skipped", "binary content (unknown file type)")
    assert records["notes.txt"][0] == "indexed"
    chinese = ("这是一个很长的中文文件，讲述绘图程序的用法。" * 300 + "Version 5.4 notes\n") * 20
    assert not looks_binary(chinese.encode("utf-16"))
    assert not looks_binary(("plain text line\n" * 10000).encode())


def test_kinds_by_name() -> None:
    names = ("a.MD", "b.htm", "c.pdf", "d.docx", "e.tsv", "f.rs", "g.rst", "h.xlsx")
    assert [kind_for(n) for n in names] == [
        "markdown", "html", "pdf", "docx", "csv", "code", "text", "unsupported",
    ]  # fmt: skip
    assert kind_for("README") is None and kind_for("photo.JPG") == "binary" and kind_for(".bashrc") is None
    assert {kind_for(n) for n in ("t.xsl", "s.xsd", "g.rng", "d.dtd")} == {"code"}  # XML that is code
    assert kind_for("flows.dat") is None  # text tables as often as binary records: the content decides


def test_pdf_pages_title_and_failures() -> None:
    doc = read_document("pdf", pdf_bytes([["alpha (one)"], [], ["gamma"]], title="T"), "p.pdf")
    assert (doc.title, doc.pages) == ("T", 3)
    assert [(line.page, line.text) for line in doc.lines if line.text] == [(1, "alpha (one)"), (3, "gamma")]
    with pytest.raises(ValueError, match="not a readable PDF"):
        read_document("pdf", b"%PDF-1.4\nnonsense", "bad.pdf")
    with pytest.raises(ReaderSkip, match="no extractable text"):
        read_document("pdf", pdf_bytes([[], []]), "scan.pdf")


def test_docx_failure_is_reported() -> None:
    with pytest.raises(ValueError, match="not a readable DOCX"):
        read_document("docx", b"PK\x03\x04 not really a zip", "bad.docx")


def test_html_structure_and_charset() -> None:
    page = (
        '<html><head><meta http-equiv="Content-Type" content="text/html; charset=iso-8859-1">'
        "<title> Caf\xe9 </title></head><body><div role='navigation'>menu</div>"
        "<h1>Top</h1><p>first <b>bold</b> words<br>next line</p><!-- note --><pre>a\n  b</pre>"
        "<ul><li>one</li><li>two</li></ul><h3>Deep</h3><p hidden>gone</p><p>last</p></body></html>"
    ).encode("latin-1")
    doc = read_document("html", page, "p.html")
    assert doc.title == "Café" and doc.note == "decoded as cp1252 (its meta charset says iso-8859-1)"
    assert [(line.text, line.heading) for line in doc.lines] == [
        ("Top", ("Top",)),
        ("first bold words", ("Top",)),
        ("next line", ("Top",)),
        ("a", ("Top",)),
        ("  b", ("Top",)),
        ("one", ("Top",)),
        ("two", ("Top",)),
        ("Deep", ("Top", "Deep")),
        ("last", ("Top", "Deep")),
    ]
    with pytest.raises(ReaderSkip, match="no text in the page"):
        read_document("html", b"<html><body><script>x()</script></body></html>", "s.html")


@pytest.mark.parametrize(
    ("text", "paged", "expected"),
    [
        ("p. 3", True, Location(page=3, page_end=3)),
        ("pages 2-4", True, Location(page=2, page_end=4)),
        ("7-9", True, Location(page=7, page_end=9)),
        ("7-9", False, Location(line_start=7, line_end=9)),
        ("lines 10–24", False, Location(line_start=10, line_end=24)),
        ("line 5", False, Location(line_start=5, line_end=5)),
        (
            "§ Install > Linux, lines 9-12",
            False,
            Location(line_start=9, line_end=12, heading="Install > Linux"),
        ),
        ("§ Usage", False, Location(heading="Usage")),
        ("somewhere", False, None),
        ("", False, None),
    ],
)
def test_locations_parse(text: str, paged: bool, expected: Location | None) -> None:
    assert parse_location(text, paged) == expected


def test_locations_format() -> None:
    assert str(Location(page=3)) == "p. 3"
    assert str(Location(page=3, page_end=5)) == "pp. 3-5"
    assert str(Location(line_start=4, line_end=4)) == "line 4"
    assert str(Location(line_start=4, line_end=9, heading="A > B")) == "§ A > B, lines 4-9"
    for loc in (Location(page=2, page_end=4), Location(line_start=4, line_end=9, heading="A > B")):
        assert parse_location(str(loc), paged=loc.page is not None) == loc
