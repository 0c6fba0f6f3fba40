"""The generated-file detector judges content, not names; folder rules match like .gitignore."""

from __future__ import annotations

import base64
import json
import random

import pytest

from deepresearch_local.library.artefacts import artefact_reason
from deepresearch_local.library.duplicates import name_stem
from deepresearch_local.library.rules import FolderRules, check_pattern
from deepresearch_local.library.signature import signature, similarity
from tests.library.generated import minified_bundle, prose, search_index, source_map


def test_generated_content_is_recognised_whatever_its_name() -> None:
    assert artefact_reason(search_index(["a", "b"]).encode(), "sniff").startswith("generated data")
    assert artefact_reason(minified_bundle().encode(), "text").startswith("minified or bundled code")
    assert artefact_reason(source_map().encode(), "sniff").startswith("generated source map")
    integrity = "sha512-" + "Ab9+" * 20
    lock = "\n".join(
        f'  "node_modules/p{i}": {{\n    "version": "1.0.{i}",\n    "integrity": "{integrity}"\n  }},'
        for i in range(40)
    )
    assert artefact_reason(lock.encode(), "code").startswith("generated lock file or checksum list: 40 ")
    blob = base64.b64encode(random.Random(1).randbytes(30000))
    assert (
        artefact_reason(b"data = " + blob + b"\n", "code")
        == "encoded binary data: 100% of it is base64 or hex, not text"
    )
    compiled = b"\n".join(b"var x%d = require('./m%d');" % (i, i) for i in range(50))
    assert artefact_reason(compiled + b"\n//# sourceMappingURL=out.js.map\n", "code").startswith(
        "generated code"
    )


def test_navigation_data_and_markup_without_text_are_generated() -> None:
    """What API-documentation generators write beside their pages over many short lines: tables
    of contents as data literals of names and links, image maps of diagrams, icons."""
    rows = ",\n".join(f'  [ "Widget{i}", "d{i % 7}/widget_{i}.html#a{i:04x}", null ]' for i in range(40))
    assert artefact_reason(f"var navtree_part =\n[\n{rows}\n];\n".encode(), "code").startswith(
        "generated navigation data: 40 of the 80 strings"
    )
    index = ",\n".join(f'"page{i}.html#s{i}":[{i},0,{i % 3}]' for i in range(30))
    assert artefact_reason(f"var NAVINDEX =\n{{\n{index}\n}};\n".encode(), "code").startswith(
        "generated navigation data"
    )
    areas = "\n".join(
        f'<area shape="rect" href="$d{i}/f_{i}.html" title=" " alt="" coords="{i},5,{i + 90},32"/>'
        for i in range(12)
    )
    image_map = f'<map id="graph" name="graph">\n{areas}\n</map>\n'.encode()
    assert (
        artefact_reason(image_map, "sniff")
        == "markup with next to no text: tags and attributes, 0 words outside them"
    )
    icon = b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 8 8"><path d="M0 0L8 4L0 8z"/></svg>\n'
    assert artefact_reason(icon, "text").startswith("markup with next to no text")


def test_site_generators_text_indexes_sitemaps_and_script_data_are_generated() -> None:
    """A static-site search index carries every page's text beside its address on one long line
    (prose, so the minified rule misses it); a sitemap lists addresses; a sidebar's item list is
    a literal assigned to a variable on one long line; a table of contents may open with a
    licence comment and end with more assignments."""
    for address in ("guide/page{i}.html#part", "guide/page{i}/", "https://example.org/p{i}/"):
        docs = [
            {"location": address.format(i=i), "title": f"Part {i}", "text": " ".join(prose(i, 4))}
            for i in range(30)
        ]
        index = json.dumps({"config": {"lang": ["en"]}, "docs": docs}).encode()
        assert artefact_reason(index, "code").startswith(
            "generated search index or data dump: one data literal"
        ), address
        assert "30 page addresses" in artefact_reason(index, "code")
    urls = "\n".join(
        f"  <url><loc>https://example.org/guide/page{i}.html</loc><lastmod>2024-01-0{i % 9 + 1}</lastmod>"
        "</url>"
        for i in range(15)
    )
    sitemap = f'<?xml version="1.0"?>\n<urlset>\n{urls}\n</urlset>\n'.encode()
    assert artefact_reason(sitemap, "code").startswith("generated list of web addresses (a sitemap): 15 ")
    items = [[f"item_{i}", " ".join(prose(i, 1))] for i in range(40)]
    sidebar = ("window.SIDEBAR_ITEMS = " + json.dumps({"fn": items}, separators=(",", ":")) + ";").encode()
    assert artefact_reason(sidebar, "code").startswith("generated script data: a value assigned")
    rows = ",\n".join(f'  [ "Part {i}", "part{i}.html", null ]' for i in range(12))
    navigation = (
        f"/*\n @licstart  Permission is granted to copy this file.\n @licend */\n"
        f"var NAVTREE =\n[\n{rows}\n];\n\nvar SYNCMSG = 'click to sync';\n"
    ).encode()
    assert artefact_reason(navigation, "code").startswith("generated navigation data: 12 of the 25 ")
    modules = [
        {
            "name": f"module{i}",
            "desc": f"<p>{' '.join(prose(i, 3))}</p>\n<pre><code>call({i})</code></pre>",
            "methods": [{"textRaw": f"run{i}()", "desc": f"<p>{' '.join(prose(i + 40, 2))}</p>"}],
        }
        for i in range(20)
    ]
    exported = json.dumps({"modules": modules}, indent=2).encode()  # short lines: no rule above
    assert artefact_reason(exported, "code").startswith("generated data: pages exported as data, ")


def test_data_and_markup_written_by_people_are_kept() -> None:
    package: dict[str, object] = {
        "name": "harbour",
        "version": "1.2.0",
        "homepage": "https://example.org/docs/index.html",
    }
    package["dependencies"] = {f"lib{i}": f"^{i}.0.0" for i in range(30)}
    assert artefact_reason(json.dumps(package, indent=2).encode(), "code") == ""
    stylesheet = (
        '<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">\n'
        '<xsl:template match="/"><xsl:apply-templates select="//item"/></xsl:template>\n'
        "</xsl:stylesheet>\n"
    )
    assert artefact_reason(stylesheet.encode(), "code") == ""  # markup that is code stays
    assert artefact_reason(b"<https://example.org/manual/Users.html>\n", "sniff") == ""  # a note
    page_like = "<div><p>" + " ".join(prose(5, 6)) + "</p></div>"
    assert artefact_reason(page_like.encode(), "sniff") == ""
    chats = [{"title": f"chat {i}", "messages": [" ".join(prose(i, 5))]} for i in range(40)]
    export = json.dumps(chats).encode()  # one long line of prose, no page addresses: a document
    assert artefact_reason(export, "code") == ""
    feed_items = "\n".join(
        f"<item><title>{' '.join(prose(i, 1))}</title><link>https://example.org/n{i}</link>"
        f"<description>{' '.join(prose(i + 50, 3))}</description></item>"
        for i in range(12)
    )
    assert artefact_reason(f"<rss><channel>\n{feed_items}\n</channel></rss>\n".encode(), "code") == ""
    links = ", ".join(f'"page{i}.html"' for i in range(12))
    logic = "function open(i) { if (i < pages.length) { location.href = pages[i]; } }"
    menu = f"const pages = [{links}];\n{logic}\n"
    assert artefact_reason(menu.encode(), "code") == ""  # a program that uses links is code
    strings = {f"label_{i}": " ".join(prose(i, 2)) for i in range(60)}
    strings |= {f"hint_{i}": f"Press <strong>Save</strong> {' '.join(prose(i, 1))}" for i in range(5)}
    translations = json.dumps(strings, indent=2).encode()  # a few strings carry markup
    assert artefact_reason(translations, "code") == ""
    cells = [
        {"cell_type": "code", "outputs": [{"data": {"text/html": [f"<p>{' '.join(prose(i, 4))}</p>"]}}]}
        for i in range(20)
    ]
    notebook = json.dumps({"cells": cells, "nbformat": 4, "metadata": {}}, indent=1).encode()
    assert artefact_reason(notebook, "code") == ""  # a notebook's HTML outputs do not make it data


def test_documents_with_long_lines_are_not_generated() -> None:
    paragraphs = "\n\n".join(" ".join(prose(seed, 25)) for seed in range(8))  # one paragraph a line
    assert artefact_reason(paragraphs.encode(), "text") == ""
    chinese = "\n".join("港口的渡船每天早上开往岛上，" * 120 for _ in range(6))  # no spaces at all
    assert artefact_reason(chinese.encode(), "text") == ""
    cells = [{"cell_type": "code", "source": ["x = 1"], "outputs": [{"data": {"image/png": "iVBOR" * 4000}}]}]
    notebook = json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5})
    assert artefact_reason(notebook.encode(), "code") == ""  # a notebook is written by a person
    code = "\n".join(f"def f{i}(x):\n    return x * {i}\n" for i in range(200))
    assert artefact_reason(code.encode(), "code") == ""
    assert artefact_reason(minified_bundle().encode(), "html") == ""  # only text-like kinds are judged


@pytest.mark.parametrize(
    ("pattern", "matches", "misses"),
    [
        ("*.md", ["a.md", "deep/er/b.md"], ["a.mdx", "md/a.txt"]),
        ("build", ["build/x.html", "docs/build/y/z.txt", "build"], ["builds/x", "rebuild/x"]),
        ("build/**", ["build/x", "build/y/z"], ["docs/build/x"]),
        ("/build/", ["build/x"], ["docs/build/x"]),
        ("docs/*.html", ["docs/a.html"], ["docs/sub/a.html", "a.html"]),
        ("docs/**/api.html", ["docs/api.html", "docs/a/b/api.html"], ["api.html"]),
        ("page?.htm[l]", ["page1.html", "x/pageA.html"], ["page10.html"]),
        ("[!a]*.txt", ["b.txt"], ["a.txt"]),
    ],
)
def test_glob_semantics(pattern: str, matches: list[str], misses: list[str]) -> None:
    rules = FolderRules(exclude=(check_pattern(pattern),))
    for rel in matches:
        assert rules.decide(rel)[0] == "exclude", (pattern, rel)
    for rel in misses:
        assert rules.decide(rel) == ("", ""), (pattern, rel)


def test_include_wins_and_bad_patterns_are_refused() -> None:
    rules = FolderRules(include=("build/keep.md",), exclude=("build",))
    assert rules.decide("build/keep.md") == ("include", "build/keep.md")
    assert rules.decide("build/other.md") == ("exclude", "build")
    assert rules.fingerprint != FolderRules(exclude=("build",)).fingerprint
    assert FolderRules().fingerprint == "" and not FolderRules()
    for bad in ("", "  ", "../secret", "a/../../b"):
        with pytest.raises(ValueError):
            check_pattern(bad)


def test_fingerprints_see_through_markup_and_case() -> None:
    words = prose(11, 40)
    plain = signature(words)
    marked = signature([f"**{w.upper()}**, " for w in " ".join(words).split()])
    assert plain.text_hash == marked.text_hash and plain.minhash == marked.minhash
    other = signature(prose(12, 40))
    assert similarity(plain.minhash, other.minhash) < 0.2
    edited = signature(words[:-4] + prose(13, 4))  # the last tenth rewritten
    assert 0.7 <= similarity(plain.minhash, edited.minhash) < 1.0
    assert signature(["too short"]).minhash == b""


def test_name_stems() -> None:
    assert name_stem("_sources/library/os.path.rst.txt") == "os.path"
    assert name_stem("library/os.path.html") == "os.path"
    assert name_stem("README.md") == "readme"
    assert name_stem("archive.tar.gz") == "archive.tar.gz"
