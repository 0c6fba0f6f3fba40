"""Each document indexed once: generated files and copies are skipped with their reason, the
folder's rules override that, and re-indexing keeps (or rightly changes) every decision."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from deepresearch_local.library import Library
from deepresearch_local.library.coverage import breakdown
from deepresearch_local.library.rules import load_rules, save_rules
from tests.library.generated import GeneratedDocs, build_generated, html_page, prose

SKIPPED_GENERATED = {
    "Cargo.lock": "generated lock file or checksum list: 30 package hashes in 150 lines",
    "_static/app.min.js.map": (
        "generated source map (JSON that maps compiled code to its source), not a document"
    ),
}


@pytest.fixture
def docs(tmp_path: Path) -> GeneratedDocs:
    return build_generated(tmp_path / "site")


def _coverage(lib: Library) -> dict[str, tuple[str, str]]:
    return {r.rel: (r.status, r.reason) for r in lib.coverage()}


def _found(lib: Library, query: str) -> list[str]:
    return [Path(h.path).name for h in lib.search(query, mode="bm25")]


def test_one_document_indexed_the_rest_listed_with_reasons(docs: GeneratedDocs, library: Library) -> None:
    report = library.add(docs.root, "site")
    cov = _coverage(library)
    assert {rel: status for rel, (status, _) in cov.items()} == {
        "Cargo.lock": "skipped",
        "_sources/guide.rst.txt": "skipped",
        "_static/app.min.js": "skipped",
        "_static/app.min.js.map": "skipped",
        "copy/guide.html": "skipped",
        "guide.html": "indexed",
        "notes.md": "indexed",
        "searchindex.js": "skipped",
    }
    assert cov["_sources/guide.rst.txt"][1] == "duplicate of guide.html"  # the source of the rendered page
    assert cov["copy/guide.html"][1] == "duplicate of guide.html"  # an exact copy, deeper in the tree
    assert cov["searchindex.js"][1].startswith("generated data (a search index or data dump): ")
    assert (
        cov["_static/app.min.js"][1]
        == "minified or bundled code: 100% of its 16 KiB on 1 line over 1,000 characters"
    )
    for rel, reason in SKIPPED_GENERATED.items():
        assert cov[rel] == ("skipped", reason)
    assert (report.indexed, report.skipped, report.duplicates, report.failed) == (2, 6, 2, 0)
    assert report.summary() == "2 indexed, 6 skipped (2 duplicates), 0 failed"
    assert dict(breakdown(library.coverage())) == {"duplicates": 2, "generated files": 4}
    assert _found(library, "tamarisk") == ["guide.html"]
    assert library.store.query("SELECT COUNT(*) FROM chunks_fts WHERE chunks_fts MATCH 'tamarisk'")[0][0] == 1
    assert _found(library, "docnames") == [] and _found(library, "sourceMappingURL") == []


def test_rules_exclude_and_force_in(docs: GeneratedDocs, library: Library) -> None:
    library.add(docs.root, "site")
    root = str(docs.root.resolve())
    save_rules(library.store, root, include=["searchindex.js", "_sources/**"], exclude=["notes.md", "copy"])
    report = library.reindex("site")[0]
    assert report.notes[0] == (
        "the folder's rules changed (include searchindex.js _sources/**; exclude notes.md copy): "
        "every file was read again"
    )
    cov = _coverage(library)
    assert cov["notes.md"] == ("skipped", "excluded by the folder's rule notes.md")
    assert cov["copy/guide.html"] == ("skipped", "excluded by the folder's rule copy")
    assert cov["searchindex.js"] == ("indexed", "")  # forced in although generated
    assert cov["_sources/guide.rst.txt"] == ("indexed", "")  # forced in although a copy
    assert cov["guide.html"] == ("indexed", "")
    assert _found(library, "wolfram") == []
    assert sorted(_found(library, "tamarisk")) == ["guide.html", "guide.rst.txt"]
    again = library.reindex("site")[0]
    assert (again.changed, again.notes) == (0, [])  # the rules are applied once
    # An include pattern wins over an exclude pattern that also matches.
    save_rules(library.store, root, include=["notes.md"])
    library.reindex("site")
    assert _coverage(library)["notes.md"] == ("indexed", "")
    # Clearing the rules brings back the automatic decisions.
    save_rules(library.store, root, [], [], replace=True)
    library.reindex("site")
    assert _coverage(library)["_sources/guide.rst.txt"] == ("skipped", "duplicate of guide.html")
    assert _coverage(library)["searchindex.js"][0] == "skipped"
    assert load_rules(library.store, root)[0].describe() == "no rules"
    library.remove("site")
    assert library.store.query("SELECT COUNT(*) FROM folder_rules")[0][0] == 0  # forgotten with the folder


def test_reindex_keeps_coverage_and_promotes_a_duplicate(docs: GeneratedDocs, library: Library) -> None:
    library.add(docs.root, "site")
    first = _coverage(library)
    again = library.reindex("site")[0]
    assert (again.changed, again.removed, again.duplicates) == (0, 0, 2)
    assert _coverage(library) == first  # unchanged files stay as they were, duplicates stay duplicates

    (docs.root / "guide.html").unlink()  # the kept original goes: its best copy takes its place
    third = library.reindex("site")[0]
    cov = _coverage(library)
    assert cov["copy/guide.html"] == ("indexed", "")
    assert cov["_sources/guide.rst.txt"] == ("skipped", "duplicate of copy/guide.html")
    assert (third.removed, third.indexed, third.duplicates) == (1, 2, 1)
    assert third.notes == [
        "1 file found to copy another was indexed after all: the file copied changed, went away or turned "
        "out to be a copy itself"
    ]
    assert _found(library, "tamarisk") == ["guide.html"]
    assert library.search("tamarisk", mode="bm25")[0].path == str(docs.root / "copy" / "guide.html")

    (docs.root / "copy" / "guide.html").unlink()  # and then the source is all that is left
    library.reindex("site")
    assert _coverage(library)["_sources/guide.rst.txt"] == ("indexed", "")
    assert _found(library, "tamarisk") == ["guide.rst.txt"]

    # The rendered page comes back: the richer format is kept and the source is a copy again.
    page = html_page("Harbour guide", docs.guide_words, "The tamarisk grows by the quay.")
    (docs.root / "guide.html").write_text(page, encoding="utf-8")
    library.reindex("site")
    cov = _coverage(library)
    assert (cov["guide.html"], cov["_sources/guide.rst.txt"]) == (
        ("indexed", ""),
        ("skipped", "duplicate of guide.html"),
    )
    assert _found(library, "tamarisk") == ["guide.html"]


def test_a_duplicate_that_changes_is_checked_again(docs: GeneratedDocs, library: Library) -> None:
    library.add(docs.root, "site")
    source = docs.root / "_sources" / "guide.rst.txt"
    source.write_text("Ferry log\n=========\n\n" + "\n".join(prose(77, 30)) + "\n", encoding="utf-8")
    report = library.reindex("site")[0]
    assert report.changed == 1
    assert _coverage(library)["_sources/guide.rst.txt"] == ("indexed", "")
    # The original changes beyond recognition: its copy is no longer one, and is indexed.
    (docs.root / "guide.html").write_text(
        html_page("Quarry notes", [prose(90 + i, 6) for i in range(6)], "Nothing about trees."),
        encoding="utf-8",
    )
    stamp = os.stat(docs.root / "copy" / "guide.html").st_mtime_ns
    library.reindex("site")
    cov = _coverage(library)
    assert cov["copy/guide.html"] == ("indexed", "")
    assert cov["guide.html"] == ("indexed", "")
    assert os.stat(docs.root / "copy" / "guide.html").st_mtime_ns == stamp  # read, never written


def test_full_reindex_decides_the_same(docs: GeneratedDocs, library: Library) -> None:
    library.add(docs.root, "site")
    first = _coverage(library)
    full = library.reindex("site", full=True)[0]
    assert _coverage(library) == first
    assert (full.indexed, full.duplicates) == (2, 2)


def test_revisions_keep_the_longest_and_every_duplicate_names_a_kept_file(
    tmp_path: Path, library: Library
) -> None:
    root = tmp_path / "revisions"
    root.mkdir()
    base = prose(300, 40)
    versions = {
        "b-draft.md": base,
        "c-review.md": base + prose(301, 3),
        "a-final.md": base + prose(301, 3) + prose(302, 3),
    }
    for name, sentences in versions.items():
        (root / name).write_text("# Report\n\n" + "\n".join(sentences) + "\n", encoding="utf-8")
    (root / "other.md").write_text("# Other\n\n" + "\n".join(prose(400, 40)) + "\n", encoding="utf-8")
    library.add(root, "revisions")
    first = _coverage(library)
    assert first["a-final.md"] == ("indexed", "") and first["other.md"] == ("indexed", "")
    assert first["c-review.md"] == ("skipped", "duplicate of a-final.md")  # the longest revision is kept
    for rel, (_, reason) in first.items():
        if reason.startswith("duplicate of "):
            assert first[reason.removeprefix("duplicate of ")][0] == "indexed", rel
    library.reindex("revisions", full=True)
    assert _coverage(library) == first  # the same decisions whatever order the files were read in


def test_among_equal_copies_the_shortest_name_is_kept(tmp_path: Path, library: Library) -> None:
    """A download saved twice, and a page a generator wrote again for each nested class: the
    plain name is the one kept and cited, whatever order the names sort in."""
    root = tmp_path / "copies"
    root.mkdir()
    text = "# Utils\n\n" + "\n".join(prose(500, 30)) + "\n"
    for name in ("Utils.html.md", "Utils.Inner.html.md", "Utils.Builder.html.md", "notes (1).md", "notes.md"):
        body = text if name.startswith("Utils") else "# Notes\n\n" + "\n".join(prose(501, 30)) + "\n"
        (root / name).write_text(body, encoding="utf-8")
    library.add(root, "copies")
    found = _coverage(library)
    assert found["Utils.html.md"] == ("indexed", "") and found["notes.md"] == ("indexed", "")
    assert found["Utils.Inner.html.md"] == ("skipped", "duplicate of Utils.html.md")
    assert found["Utils.Builder.html.md"] == ("skipped", "duplicate of Utils.html.md")
    assert found["notes (1).md"] == ("skipped", "duplicate of notes.md")


def test_an_api_reference_folder_keeps_its_pages_and_leaves_its_machinery(
    tmp_path: Path, library: Library
) -> None:
    """What C and Java API generators write beside their pages: navigation data over many short
    lines, image maps of include graphs, icons; and a page that copied a NUL character from a
    source comment, which is a page all the same."""
    root = tmp_path / "api"
    (root / "d1").mkdir(parents=True)
    paragraphs = [prose(600 + i, 5) for i in range(3)]
    page = html_page(
        "Char helpers", paragraphs, "The <code>\x00</code> constant names the quillwort character."
    )
    (root / "d1" / "char_helpers.html").write_text(page, encoding="utf-8")
    rows = ",\n".join(f'  [ "helper{i}", "d1/char_helpers.html#a{i:04x}", null ]' for i in range(25))
    (root / "d1" / "char_helpers.js").write_text(f"var char_helpers =\n[\n{rows}\n];\n", encoding="utf-8")
    areas = "\n".join(f'<area shape="rect" href="$d1/f{i}.html" coords="{i},5,90,32"/>' for i in range(9))
    (root / "d1" / "graph.map").write_text(f'<map id="g" name="g">\n{areas}\n</map>\n', encoding="utf-8")
    (root / "icon.svg").write_text('<svg viewBox="0 0 8 8"><g><path d="M0 0L8 4z"/></g></svg>\n', "utf-8")
    library.add(root, "api")
    cov = _coverage(library)
    assert cov["d1/char_helpers.html"] == ("indexed", "")
    assert cov["d1/char_helpers.js"][1].startswith("generated navigation data: 25 of the 50 strings")
    assert cov["d1/graph.map"][1].startswith("markup with next to no text")
    assert cov["icon.svg"][1].startswith("markup with next to no text")
    assert dict(breakdown(library.coverage())) == {"empty or no text": 2, "generated files": 1}
    assert _found(library, "quillwort") == ["char_helpers.html"]


def test_a_short_source_or_one_its_page_outgrows_is_a_copy_but_a_quoted_sample_input_is_not(
    tmp_path: Path, library: Library
) -> None:
    """Sources too short for a MinHash, and sources whose page pulls in shared text they only
    name, are still copies of their page (the page holds their text); a program that quotes its
    short sample input is not a copy of that input."""
    root = tmp_path / "manual"
    (root / "_sources" / "cmd").mkdir(parents=True)
    (root / "cmd").mkdir()
    (root / "examples").mkdir()
    short = "Leave the enclosing loop at once and carry on after its end."
    page = (
        "<html><head><title>halt</title></head><body><div role='main'><h1>halt</h1>"
        f"<p>{short}</p><pre>halt()</pre><p>See also the <a href='skip.html'>skip()</a> command.</p>"
        "</div></body></html>"
    )
    (root / "cmd" / "halt.html").write_text(page, encoding="utf-8")
    code = ".. code-block:: text\n\n  halt()"
    rst = f"halt\n----\n\n{short}\n\n{code}\n\nSee also the :command:`skip` command.\n"
    (root / "_sources" / "cmd" / "halt.rst.txt").write_text(rst, encoding="utf-8")
    own, shared = prose(5, 4), [prose(10 + i, 6) for i in range(8)]
    (root / "cmd" / "locate.html").write_text(html_page("locate", [own, *shared], "Finds a file."), "utf-8")
    rst = "locate\n------\n\nFinds a file.\n\n" + " ".join(own) + "\n\n.. include:: LOCATE_COMMON.txt\n"
    (root / "_sources" / "cmd" / "locate.rst.txt").write_text(rst, encoding="utf-8")
    sample = " ".join(prose(60, 2))
    (root / "examples" / "parse.txt").write_text(sample + "\n", encoding="utf-8")
    program = "\n".join(f"int step{i}(int x) {{ return x * {i} + {i % 5}; }}" for i in range(40))
    (root / "examples" / "parse.cpp").write_text(
        f"// Reads parse.txt: {sample}\n{program}\n", encoding="utf-8"
    )
    library.add(root, "manual")
    cov = _coverage(library)
    assert cov["_sources/cmd/halt.rst.txt"] == ("skipped", "duplicate of cmd/halt.html")
    assert cov["_sources/cmd/locate.rst.txt"] == ("skipped", "duplicate of cmd/locate.html")
    assert (cov["examples/parse.txt"], cov["examples/parse.cpp"]) == (("indexed", ""), ("indexed", ""))
