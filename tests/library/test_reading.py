"""Reading library files back at a location, and refusing anything outside the library."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from deepresearch_local.library import IndexReport, Library, LibraryError, NotInLibrary
from tests.library.corpus import Corpus

Indexed = tuple[Library, Corpus, IndexReport]


def test_pdf_pages_with_markers(indexed: Indexed) -> None:
    lib, corpus, _ = indexed
    read = lib.read(str(corpus.root / "report.pdf"), "p. 2")
    assert read.rendered.startswith("[page 2]\nWildlife\nThe axolotl survey counted 42 animals.")
    assert "[page 3]" not in read.rendered and read.next_location == "p. 3"
    assert [(str(s.location), s.text.splitlines()[1]) for s in read.spans] == [
        ("p. 2", "The axolotl survey counted 42 animals.")
    ]
    assert (read.title, read.total_pages, str(read.shown)) == ("Annual report 2024", 3, "p. 2")
    whole = lib.read("report.pdf")  # a unique file name is enough
    assert [str(s.location) for s in whole.spans] == ["p. 1", "p. 2", "p. 3"]
    assert whole.rendered.count("[page ") == 3 and whole.next_location == ""
    assert str(lib.read("report.pdf", "pages 2-3").shown) == "pp. 2-3"


def test_text_lines_with_numbers_and_continuation(indexed: Indexed) -> None:
    lib, corpus, _ = indexed
    read = lib.read("notes.txt", "lines 10-12")
    assert read.rendered.splitlines() == [
        f"{n}| {line}"
        for n, line in zip(range(10, 13), (corpus.root / "notes.txt").read_text("utf-8").splitlines()[9:12])
    ]
    assert [str(s.location) for s in read.spans] == ["lines 10-12"]
    assert read.spans[0].text == "\n".join((corpus.root / "notes.txt").read_text("utf-8").splitlines()[9:12])
    small = lib.read("notes.txt", None, max_chars=400)
    sizes = [len(line) + 1 for line in (corpus.root / "notes.txt").read_text("utf-8").splitlines()]
    fit = max(n for n in range(1, len(sizes) + 1) if sum(sizes[:n]) <= 400)
    assert 3 <= fit <= 8
    assert str(small.shown) == f"lines 1-{fit}" and small.next_location == f"lines {fit + 1}-{fit + 51}"
    assert lib.read("notes.txt", small.next_location).rendered.startswith(f"{fit + 1}| Line {fit + 1}:")
    end = lib.read("notes.txt", "lines 75-90")
    assert (str(end.shown), end.total_lines, end.next_location) == ("lines 75-80", 80, "")


def test_markdown_section_by_heading(indexed: Indexed) -> None:
    lib, corpus, _ = indexed
    read = lib.read("guide.md", "§ Install > Linux")
    lines = (corpus.root / "guide.md").read_text("utf-8").splitlines()
    start = lines.index("### Linux") + 1
    end = lines.index("## Usage")  # the line before it, 1-based
    assert str(read.shown) == f"§ Field guide > Install > Linux, lines {start}-{end}"
    assert read.rendered.splitlines()[0] == f"{start}| ### Linux"
    assert "zebrafish" in read.spans[0].text and "## Usage" not in read.rendered
    # The exact form search returns works too.
    assert lib.read("guide.md", "§ Field guide > Install > Linux, lines 9-12").shown.line_start == 9
    fallback = lib.read("guide.md", "§ No such heading")
    assert fallback.shown.line_start == 1 and "No heading 'No such heading'" in fallback.notes[0]


def test_docx_and_html_read_as_extracted_lines(indexed: Indexed) -> None:
    lib, _, _ = indexed
    memo = lib.read("memo.docx", "§ Budget > Travel")
    assert memo.rendered.splitlines()[:2] == [
        "3| Travel",
        "4| Flights to the narwhal research station are booked for March.",
    ]
    assert "6| Item | Cost" in memo.rendered.splitlines() and "Staff" not in memo.rendered
    page = lib.read("sub/page.html")
    assert page.title == "Harbour handbook"
    assert "secretscript" not in page.rendered and "navword" not in page.rendered
    assert page.rendered.splitlines()[2:4] == [
        "3| Ferries",
        "4| The pelican ferry leaves the harbour at noon.",
    ]


@pytest.mark.parametrize(
    "attempt",
    [
        "../outside/secret.md",
        "sub/../../outside/secret.md",
        "OUTSIDE/secret.md",
        "/etc/passwd",
        "escape.md",
        "sub/up/../outside/secret.md",
    ],
)
def test_traversal_is_refused(indexed: Indexed, attempt: str) -> None:
    lib, corpus, _ = indexed
    attempt = attempt.replace("OUTSIDE", str(corpus.outside))
    with pytest.raises(NotInLibrary, match="is outside the library folders"):
        lib.read(attempt)


def test_hidden_missing_and_folder_paths_are_refused(indexed: Indexed) -> None:
    lib, corpus, _ = indexed
    with pytest.raises(NotInLibrary, match="hidden or tool file"):
        lib.read(".env")
    with pytest.raises(NotInLibrary, match=r"no file nothere\.md in the library"):
        lib.read("nothere.md")
    with pytest.raises(NotInLibrary, match="is a folder"):
        lib.read("sub")
    assert lib.resolve("sub/../notes.txt") == corpus.root.resolve() / "notes.txt"  # stays inside: fine


def test_unreadable_files_raise_library_errors(indexed: Indexed) -> None:
    lib, _, _ = indexed
    for name, message in (
        ("corrupt.pdf", "not a readable PDF"),
        ("binary.txt", "binary content"),
        ("locked.txt", "cannot be read (Permission denied)"),
        ("photo.png", "unsupported type .png"),
        ("empty.txt", "empty file"),
    ):
        with pytest.raises(LibraryError, match=message.replace("(", r"\(").replace(")", r"\)")):
            lib.read(name)


def test_empty_library_says_how_to_add(library: Library) -> None:
    with pytest.raises(NotInLibrary, match="docs add FOLDER"):
        library.read("anything.txt")


def test_symlink_inside_pointing_inside_is_readable(tmp_path: Path, library: Library) -> None:
    root = tmp_path / "lib"
    root.mkdir()
    (root / "real.txt").write_text("the lemur line\n", encoding="utf-8")
    os.symlink("real.txt", root / "alias.txt")
    report = library.add(root)
    assert report.indexed == 1 and report.skipped == 1
    assert library.read("alias.txt").path == root.resolve() / "real.txt"
    assert [h.path for h in library.search("lemur")] == [str(root.resolve() / "real.txt")]


def test_a_huge_line_is_cut_but_evidence_stays_verbatim(tmp_path: Path, library: Library) -> None:
    root = tmp_path / "lib"
    root.mkdir()
    line = " ".join(f"token{n}" for n in range(5000))
    (root / "minified.js").write_text(f"// header\n{line}\n", encoding="utf-8")
    library.add(root)
    read = library.read("minified.js", "line 2", max_chars=1000)
    [rendered] = read.rendered.splitlines()
    assert rendered.startswith("2| token0 token1 ") and rendered.endswith(" …")
    [span] = read.spans
    assert str(span.location) == "line 2" and line.startswith(span.text) and len(span.text) <= 1000
