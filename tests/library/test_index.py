"""Indexing the issue's corpus: coverage with reasons, search locations, incremental re-indexing."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from deepresearch_local.library import IndexReport, Library, LibraryError, Progress
from deepresearch_local.library import extract as extract_module
from tests.library.corpus import Corpus

Indexed = tuple[Library, Corpus, IndexReport]


def _coverage(lib: Library) -> dict[str, tuple[str, str]]:
    return {r.rel: (r.status, r.reason) for r in lib.coverage()}


def test_coverage_lists_every_file_with_its_reason(indexed: Indexed) -> None:
    lib, corpus, report = indexed
    cov = _coverage(lib)
    outside = corpus.outside / "secret.md"
    assert cov == {
        ".env": ("skipped", "hidden file, not indexed"),
        "binary.txt": ("skipped", "binary content (not text)"),
        "corrupt.pdf": ("failed", cov["corrupt.pdf"][1]),
        "empty.txt": ("skipped", "empty file"),
        "escape.md": (
            "skipped",
            f"symlink pointing outside the folder (to {outside}); "
            f"add {outside.parent} as a folder to index it",
        ),
        "guide.md": ("indexed", ""),
        "huge.txt": ("skipped", "too large (17.0 MiB; the limit for this type is 16.0 MiB)"),
        "latin1.txt": ("indexed", "not UTF-8: decoded as cp1252"),
        "locked.txt": ("failed", "cannot read the file (Permission denied)"),
        "memo.docx": ("indexed", ""),
        "notes.txt": ("indexed", ""),
        "photo.png": ("skipped", "unsupported type .png (binary format)"),
        "pipe.txt": ("skipped", "not a regular file (FIFO)"),
        "report.pdf": ("indexed", ""),
        "selfloop": ("skipped", "symlink loop"),
        "sub/page.html": ("indexed", ""),
        "sub/up": ("skipped", "symlink loop (points back to its enclosing folder .)"),
    }
    assert cov["corrupt.pdf"][1].startswith("not a readable PDF (")
    assert (report.files, report.indexed, report.skipped, report.failed) == (17, 6, 9, 2)
    assert report.summary() == "6 indexed, 9 skipped, 2 failed"
    assert report.chunks == sum(r.chunks for r in lib.coverage()) == report.chunks_added
    assert lib.coverage(status="failed") == [r for r in lib.coverage() if r.status == "failed"]
    assert {r.path for r in lib.coverage()} <= {str(corpus.root / r.rel.rstrip("/")) for r in lib.coverage()}
    [folder] = lib.folders()
    assert (folder.name, folder.root, folder.indexed, folder.skipped, folder.failed) == (
        "lib",
        str(corpus.root.resolve()),
        6,
        9,
        2,
    )


def test_a_name_that_says_nothing_sure_is_judged_by_its_content(tmp_path: Path, library: Library) -> None:
    root = tmp_path / "graphs"
    root.mkdir()
    (root / "flows.dat").write_text("Harbour;Ferry Point;12\nFerry Point;Kiln Island;7\n", encoding="utf-8")
    (root / "records.dat").write_bytes(bytes(range(256)) * 8)
    library.add(root, "graphs")
    assert _coverage(library) == {
        "flows.dat": ("indexed", ""),
        "records.dat": ("skipped", "binary content (unknown file type)"),
    }
    assert [Path(h.path).name for h in library.search("ferry point kiln island")] == ["flows.dat"]


@pytest.mark.parametrize(
    ("query", "rel", "location"),
    [
        ("zebrafish", "guide.md", "§ Field guide > Install > Linux, lines 9-12"),
        ("axolotl survey", "report.pdf", "p. 2"),
        ("pelican ferry", "sub/page.html", "§ Handbook > Ferries, lines 3-7"),
        ("narwhal flights", "memo.docx", "§ Budget > Travel, lines 3-7"),
        ("creme brulee", "latin1.txt", "line 1"),
    ],
)
def test_search_finds_the_right_file_and_location(
    indexed: Indexed, query: str, rel: str, location: str
) -> None:
    lib, corpus, _ = indexed
    hits = lib.search(query, k=3)
    assert hits, query
    top = hits[0]
    assert (top.path, str(top.location)) == (str(corpus.root / rel), location)
    assert top.folder == "lib" and top.score > 0


def test_search_line_range_holds_the_line(indexed: Indexed) -> None:
    lib, corpus, _ = indexed
    top = lib.search("quokka census")[0]
    assert top.path == str(corpus.root / "notes.txt")
    loc = top.location
    assert loc.page is None and loc.line_start is not None and loc.line_end is not None
    assert loc.line_start <= 57 <= loc.line_end and loc.line_end - loc.line_start < 25
    assert "quokka census ended in a tie" in top.snippet
    read = lib.read(top.path, str(loc))
    assert "57| Line 57: the quokka census ended in a tie." in read.rendered.splitlines()


def test_markdown_heading_line_numbers_match_the_file(indexed: Indexed) -> None:
    lib, corpus, _ = indexed
    lines = (corpus.root / "guide.md").read_text("utf-8").splitlines()
    heading = lines.index("### Linux") + 1
    top = lib.search("zebrafish")[0]
    assert top.location.line_start == heading
    assert "zebrafish" in lines[heading + 1]  # the line after the blank one


def test_dropped_and_foreign_text_is_not_searchable(indexed: Indexed) -> None:
    lib, _, _ = indexed
    for word in ("secretscript", "secretstyle", "navword", "footerword", "wolverine", "hunter2", "TOKEN"):
        assert lib.search(word) == [], word


def test_reindex_touches_only_changed_files(indexed: Indexed, monkeypatch: pytest.MonkeyPatch) -> None:
    lib, corpus, first = indexed
    reads: list[str] = []
    real = extract_module.read_bytes

    def counting(path: Path, limit: int) -> bytes:
        reads.append(path.name)
        return real(path, limit)

    monkeypatch.setattr(extract_module, "read_bytes", counting)
    again = lib.reindex("lib")[0]
    # Only the file that could not be read at all is tried again (it has no recorded content).
    assert reads == ["locked.txt"]
    assert (again.changed, again.unchanged, again.removed, again.chunks_added) == (1, 10, 0, 0)
    assert (again.indexed, again.skipped, again.failed, again.chunks) == (6, 9, 2, first.chunks)

    notes = corpus.root / "notes.txt"
    notes.write_text(notes.read_text("utf-8") + "Line 81: a platypus joined late.\n", encoding="utf-8")
    guide = corpus.root / "guide.md"
    os.utime(guide, ns=(guide.stat().st_atime_ns, guide.stat().st_mtime_ns + 5_000_000_000))  # touched only
    (corpus.root / "memo.docx").unlink()
    reads.clear()
    third = lib.reindex("lib")[0]
    assert sorted(reads) == ["guide.md", "locked.txt", "notes.txt"]
    assert (third.changed, third.unchanged, third.removed) == (2, 8, 1)
    assert (third.indexed, third.files) == (5, 16)
    assert [h.path for h in lib.search("platypus")] == [str(notes)]
    assert lib.search("narwhal") == []
    reads.clear()
    fourth = lib.reindex("lib")[0]
    assert reads == ["locked.txt"] and fourth.changed == 1  # the touched file's new mtime was recorded
    full = lib.reindex("lib", full=True)[0]
    assert full.changed == 10 and full.chunks == third.chunks  # every file not skipped by its name


def test_progress_reports_every_file(corpus: Corpus, library: Library) -> None:
    events: list[Progress] = []
    library.add(corpus.root, on_progress=events.append)
    assert [e.done for e in events] == list(range(1, 18))
    assert {e.total for e in events} == {17}
    by_rel = {e.rel: e for e in events}
    assert (by_rel["report.pdf"].status, by_rel["report.pdf"].chunks) == ("indexed", 3)
    assert by_rel["corrupt.pdf"].status == "failed"
    again: list[Progress] = []
    library.reindex(on_progress=again.append)
    assert {e.rel for e in again if e.status == "unchanged"} == {
        "binary.txt", "corrupt.pdf", "empty.txt", "guide.md", "huge.txt", "latin1.txt", "memo.docx",
        "notes.txt", "report.pdf", "sub/page.html",
    }  # fmt: skip


def test_stopping_leaves_a_consistent_index(corpus: Corpus, library: Library) -> None:
    calls = iter(range(100))
    report = library.add(corpus.root, should_stop=lambda: next(calls) >= 3)
    assert report.files == 3 and report.notes == ["stopped after 3 of 17 files"]
    finished = library.reindex()[0]
    assert finished.files == 17 and finished.removed == 0


def test_folders_add_remove_and_refusals(corpus: Corpus, library: Library, tmp_path: Path) -> None:
    library.add(corpus.root, "docs")
    with pytest.raises(LibraryError, match="already in the library as 'docs'"):
        library.add(corpus.root, "other")
    with pytest.raises(LibraryError, match="inside library folder 'docs'"):
        library.add(corpus.root / "sub")
    with pytest.raises(LibraryError, match="contains library folder 'docs'"):
        library.add(tmp_path)
    with pytest.raises(LibraryError, match="is not a folder"):
        library.add(tmp_path / "nope")
    with pytest.raises(LibraryError, match="No library folder named 'nope'"):
        library.reindex("nope")
    library.add(corpus.outside, "docs2")
    assert [f.name for f in library.folders()] == ["docs", "docs2"]
    removed = library.remove("docs")
    assert (removed.name, removed.indexed) == ("docs", 6)
    assert [f.name for f in library.folders()] == ["docs2"]
    assert library.coverage("docs2")[0].rel == "secret.md"
    assert library.search("zebrafish") == []
    assert library.store.query("SELECT COUNT(*) FROM chunks")[0][0] == 1
    assert library.store.query("SELECT COUNT(*) FROM chunks_fts")[0][0] == 1
    assert (corpus.root / "guide.md").exists()  # removing never touches the files


def test_database_survives_reopening(corpus: Corpus) -> None:
    with Library() as lib:
        lib.add(corpus.root)
    with Library() as lib:
        assert [h.location.page for h in lib.search("axolotl")] == [2]
        from deepresearch_local.library.store import MIGRATIONS

        names = [r[0] for r in lib.store.query("SELECT name FROM schema_migrations ORDER BY version")]
        assert names == [name for name, _ in MIGRATIONS]  # each applied once, in order
