"""A single page that holds a folder's other pages (Node's all.html, a one-page manual) is left out
as a combined copy; a page that only quotes a line of each is not; the decision follows the
parts when they go away, and the folder's rules can force the big page in."""

from __future__ import annotations

from pathlib import Path

import pytest

from deepresearch_local.library import Library
from deepresearch_local.library.coverage import reason_group
from deepresearch_local.library.rules import save_rules
from tests.library.corpus import pdf_bytes
from tests.library.generated import html_page, prose

TOPICS = ("anchor", "beacon", "cargo", "ferry", "granite")


def _paragraphs(seed: int) -> list[list[str]]:
    sentences = prose(seed, 42)
    return [sentences[i : i + 6] for i in range(0, 42, 6)]


def _site(root: Path) -> dict[str, list[list[str]]]:
    """Five topic pages, the whole manual on one page, and an overview quoting each page's first
    sentence beside its own text."""
    root.mkdir(parents=True)
    parts = {name: _paragraphs(100 + i) for i, name in enumerate(TOPICS)}
    main = "<div role='main'>"
    mains = []  # each page's main text, as a one-page edition strings them together
    for i, (name, paragraphs) in enumerate(parts.items()):
        page = html_page(name.title(), paragraphs, f"marker{i}")
        (root / f"{name}.html").write_text(page, encoding="utf-8")
        mains.append(page[page.index(main) + len(main) : page.index("</div><footer>")])
    whole = f"<!DOCTYPE html><html><head><title>The whole manual</title></head><body>{main}"
    (root / "all.html").write_text(whole + "".join(mains) + "</div></body></html>", encoding="utf-8")
    overview = [[parts[name][0][0] for name in TOPICS], *_paragraphs(300)]
    (root / "overview.html").write_text(html_page("Overview", overview, "start here"), encoding="utf-8")
    return parts


def _coverage(lib: Library) -> dict[str, tuple[str, str]]:
    return {r.rel: (r.status, r.reason) for r in lib.coverage()}


def test_the_one_page_edition_is_left_out_and_searches_find_the_topic_page(
    tmp_path: Path, library: Library
) -> None:
    parts = _site(tmp_path / "manual")
    report = library.add(tmp_path / "manual", "manual")
    cov = _coverage(library)
    status, reason = cov["all.html"]
    assert status == "skipped"
    assert reason.startswith("combined copy of 5 files indexed on their own (")
    assert reason.endswith(" and 2 more)")
    assert [reason_group(r) for r in library.coverage() if r.rel == "all.html"] == ["duplicates"]
    assert {rel for rel, (status, _) in cov.items() if status == "indexed"} == {
        *(f"{name}.html" for name in TOPICS),
        "overview.html",
    }
    assert report.indexed == 6
    chunks = library.store.query(
        "SELECT COUNT(*) FROM chunks c JOIN files f ON f.id = c.file_id WHERE f.rel = 'all.html'"
    )[0][0]
    assert chunks == 0
    # A sentence of the cargo page: the cargo page answers, the one-page edition is not listed.
    wanted = " ".join(parts["cargo"][3][2].split()[:8])
    found = [Path(h.path).name for h in library.search(wanted, mode="bm25")]
    assert found[0] == "cargo.html"
    assert "all.html" not in found


def test_the_edition_comes_back_when_its_parts_go_and_rules_can_force_it(
    tmp_path: Path, library: Library
) -> None:
    root = tmp_path / "manual"
    _site(root)
    library.add(root, "manual")
    assert _coverage(library)["all.html"][0] == "skipped"
    again = library.reindex("manual")[0]
    assert (again.changed, _coverage(library)["all.html"][0]) == (0, "skipped")  # settled once
    for name in TOPICS[:2]:
        (root / f"{name}.html").unlink()
    report = library.reindex("manual")[0]
    assert _coverage(library)["all.html"] == ("indexed", "")  # two fifths of it are nowhere else
    assert report.removed == 2 and report.changed == 1
    assert any("indexed after all" in note for note in report.notes)
    (root / "anchor.html").write_text(html_page("Anchor", _paragraphs(100), "marker0"), encoding="utf-8")
    (root / "beacon.html").write_text(html_page("Beacon", _paragraphs(101), "marker1"), encoding="utf-8")
    library.reindex("manual")
    assert _coverage(library)["all.html"][0] == "skipped"
    save_rules(library.store, str(root.resolve()), include=["all.html"])
    library.reindex("manual")
    assert _coverage(library)["all.html"] == ("indexed", "")


def test_an_upgraded_library_leaves_out_its_combined_copy_once_and_keeps_the_parts_chunks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Indexed by a version that kept one-page editions: the upgrade reads the folder again once,
    the edition is left out, and the topic pages keep their chunk ids (so their vectors)."""
    root = tmp_path / "manual"
    _site(root)
    db_path = tmp_path / "lib.sqlite3"
    parts = "SELECT c.id FROM chunks c JOIN files f ON f.id = c.file_id WHERE f.rel != 'all.html'"
    with monkeypatch.context() as old:
        old.setattr("deepresearch_local.library.indexer.combined_copies", lambda copies: {})
        with Library(db_path) as lib:
            lib.add(root, "manual")
            assert _coverage(lib)["all.html"] == ("indexed", "")
            before = sorted(int(r[0]) for r in lib.store.query(parts))
            lib.store.db.execute(
                "DELETE FROM schema_migrations WHERE name = 'read_again_for_combined_copies'"
            )
            lib.store.db.commit()
    with Library(db_path) as lib:
        assert lib.upgrade_pending() == ["manual"]
        found = [Path(h.path).name for h in lib.search("marker2", mode="bm25")]
        assert found == ["cargo.html"]  # the search caught the folder up first
        assert lib.upgrade_pending() == []
        assert _coverage(lib)["all.html"][0] == "skipped"
        assert sorted(int(r[0]) for r in lib.store.query(parts)) == before


def test_a_page_built_from_source_fragments_is_kept(tmp_path: Path, library: Library) -> None:
    """A rendered manual page that includes its option lists (written as text fragments beside
    it, as git's AsciiDoc sources are) holds them all, but is the richer format: it stays, and
    so do the fragments, which no page of their own format combines."""
    root = tmp_path / "doc"
    root.mkdir()
    paragraphs: list[list[str]] = []
    for i in range(4):
        fragment = _paragraphs(500 + i)
        (root / f"options-{i}.txt").write_text(
            "\n\n".join(" ".join(p) for p in fragment) + "\n", encoding="utf-8"
        )
        paragraphs.append([sentence for paragraph in fragment for sentence in paragraph])
    (root / "tool.html").write_text(html_page("tool(1)", paragraphs, "the tool"), encoding="utf-8")
    library.add(root, "doc")
    assert {rel: status for rel, (status, _) in _coverage(library).items()} == {
        "tool.html": "indexed",
        **{f"options-{i}.txt": "indexed" for i in range(4)},
    }


def _pdf_pages(sentences: list[str], per_page: int = 30) -> list[list[str]]:
    """Sentences set as a PDF would: lines of about ten words, ``per_page`` lines a page."""
    words = " ".join(sentences).split()
    lines = [" ".join(words[i : i + 10]) for i in range(0, len(words), 10)]
    return [lines[i : i + per_page] for i in range(0, len(lines), per_page)]


def _edition(texts: list[list[str]], own: int) -> bytes:
    """A PDF holding each text in turn, after a table of contents and before an index of ``own``
    sentences of its own (text no other file holds)."""
    contents = [f"{n + 1} Chapter {n + 1} . . . . . . . . {3 + 4 * n}" for n in range(len(texts))]
    pages = [contents]
    for sentences in texts:
        pages += _pdf_pages(sentences)
    pages += _pdf_pages(prose(900, own))
    return pdf_bytes(pages, title="The manual")


def test_a_pdf_edition_of_the_html_pages_is_left_out_but_a_thesis_built_from_papers_is_kept(
    tmp_path: Path, library: Library
) -> None:
    """A PDF of a site's pages never holds their text word for word (a table of contents, an
    index, page furniture): when pages in a richer format hold most of it, it is a combined copy;
    a PDF whose parts are PDFs themselves must be held as wholly as any one-page edition."""
    site = tmp_path / "site"
    site.mkdir()
    texts = []
    for i, name in enumerate(TOPICS):
        paragraphs = _paragraphs(100 + i)
        (site / f"{name}.html").write_text(
            html_page(name.title(), paragraphs, f"marker{i}"), encoding="utf-8"
        )
        texts.append([sentence for paragraph in paragraphs for sentence in paragraph])
    (site / "manual.pdf").write_bytes(_edition(texts, own=20))  # about a tenth of its text its own
    library.add(site, "site")
    status, reason = _coverage(library)["manual.pdf"]
    assert status == "skipped" and reason.startswith("combined copy of 5 files indexed on their own (")

    papers = tmp_path / "papers"
    papers.mkdir()
    for i in range(3):
        (papers / f"paper-{i}.pdf").write_bytes(pdf_bytes(_pdf_pages(prose(700 + i, 70))))
    (papers / "thesis.pdf").write_bytes(_edition([prose(700 + i, 70) for i in range(3)], own=20))
    library.add(papers, "papers")
    assert {rel: status for rel, (status, _) in _coverage(library).items() if rel.endswith(".pdf")} == {
        "manual.pdf": "skipped",
        "paper-0.pdf": "indexed",
        "paper-1.pdf": "indexed",
        "paper-2.pdf": "indexed",
        "thesis.pdf": "indexed",
    }
