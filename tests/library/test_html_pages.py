"""Web pages read from their bytes: every encoding declaration a real page carries, XHTML, and
honest reasons for the pages that give no text or cannot be parsed."""

from __future__ import annotations

import codecs
from pathlib import Path

import pytest

from deepresearch_local.library import Library
from deepresearch_local.library.charset import decode_page
from deepresearch_local.library.errors import ReaderSkip
from deepresearch_local.library.readers import read_document

XHTML = (
    '<?xml version="1.0" encoding="{encoding}"?>\n'
    '<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Strict//EN" '
    '"http://www.w3.org/TR/xhtml1/DTD/xhtml1-strict.dtd">\n'
    '<html xmlns="http://www.w3.org/1999/xhtml" xml:lang="fr"><head>'
    '<meta http-equiv="Content-Type" content="text/html; charset={encoding}" />'
    "<title>{word} — le café</title>"
    '<script type="text/javascript" src="toc.js"/><link rel="stylesheet" href="book.css"/></head>'
    '<body><div class="navheader"><nav>navhidden Précédent</nav></div>'
    '<div class="chapter"><h1 class="title">Le café {word}</h1>'
    "<p>Un café crème et une tarte à la crème brûlée, s’il vous plaît.</p>"
    '<a id="anchor"/><p>Le garçon répond : « voilà ».</p></div>'
    "<script>var scriptword = 1;</script></body></html>\n"
)

HTML = (
    "<!DOCTYPE html><html><head>{meta}<title>{word}</title></head><body>"
    "<h1>{word}</h1><p>Un café crème, déjà prêt, à emporter.</p></body></html>"
)

# name -> (bytes, the reason/note the coverage report gives)
PAGES: dict[str, tuple[bytes, str]] = {
    "docbook-utf8.xhtml": (XHTML.format(encoding="UTF-8", word="zanzibar").encode("utf-8"), ""),
    "docbook-latin1.html": (
        XHTML.format(encoding="ISO-8859-1", word="quixote")
        .replace("—", "-")
        .replace("’", "'")
        .encode("latin-1"),
        "decoded as cp1252 (its XML declaration says ISO-8859-1)",
    ),
    "bom.html": (
        codecs.BOM_UTF8 + HTML.format(meta='<meta charset="windows-1252">', word="marmalade").encode("utf-8"),
        "",
    ),
    "utf16.html": (
        codecs.BOM_UTF16_LE + HTML.format(meta="", word="lighthouse").encode("utf-16-le"),
        "",
    ),
    "utf16-no-bom.htm": (
        HTML.format(meta="", word="gondola").encode("utf-16-be"),
        "UTF-16 without a byte order mark",
    ),
    "meta-lies.html": (
        HTML.format(meta='<meta charset="iso-8859-1">', word="periscope").encode("utf-8"),
        "its meta charset says iso-8859-1 but the bytes are UTF-8: read as UTF-8",
    ),
    "http-equiv.html": (
        HTML.format(
            meta='<meta http-equiv="content-type" content="text/html; charset=windows-1252">', word="tamarind"
        ).encode("cp1252"),
        "decoded as cp1252 (its meta charset says windows-1252)",
    ),
    "undeclared-legacy.html": (
        HTML.format(meta="", word="saffron").encode("cp1252"),
        "not UTF-8: decoded as cp1252",
    ),
}
WORDS = {
    "docbook-utf8.xhtml": "zanzibar",
    "docbook-latin1.html": "quixote",
    "bom.html": "marmalade",
    "utf16.html": "lighthouse",
    "utf16-no-bom.htm": "gondola",
    "meta-lies.html": "periscope",
    "http-equiv.html": "tamarind",
    "undeclared-legacy.html": "saffron",
}


LEFT_OUT = "scripts, navigation and other parts that are left out"


def _chunks(lib: Library, rel: str) -> str:
    rows = lib.store.query(
        "SELECT fts.body FROM chunks c JOIN files f ON f.id = c.file_id "
        "JOIN chunks_fts fts ON fts.rowid = c.id WHERE f.rel = ? ORDER BY c.ordinal",
        (rel,),
    )
    return "\n".join(r[0] for r in rows)


@pytest.fixture
def pages(tmp_path: Path, library: Library) -> Library:
    root = tmp_path / "pages"
    root.mkdir()
    for name, (data, _) in PAGES.items():
        (root / name).write_bytes(data)
    library.add(root, "pages")
    return library


def test_every_page_is_indexed_with_its_accents(pages: Library) -> None:
    coverage = {r.rel: (r.status, r.reason) for r in pages.coverage()}
    assert coverage == {name: ("indexed", note) for name, (_, note) in PAGES.items()}
    for name in ("docbook-utf8.xhtml", "docbook-latin1.html"):
        text = _chunks(pages, name)
        assert "Un café crème et une tarte à la crème brûlée" in text
        assert "Le garçon répond : « voilà »." in text
        assert "navhidden" not in text and "scriptword" not in text  # XHTML's nav and script are dropped
    assert "s’il vous plaît" in _chunks(pages, "docbook-utf8.xhtml")
    read = pages.read("docbook-latin1.html")  # the read tool parses pages the same way
    assert "Le garçon répond : « voilà »." in read.rendered
    plain = (
        "bom.html",
        "utf16.html",
        "utf16-no-bom.htm",
        "meta-lies.html",
        "http-equiv.html",
        "undeclared-legacy.html",
    )
    for name in plain:
        assert "Un café crème, déjà prêt, à emporter." in _chunks(pages, name), name


@pytest.mark.parametrize(("rel", "word"), sorted(WORDS.items()))
def test_search_finds_each_page(pages: Library, rel: str, word: str) -> None:
    hits = pages.search(f"{word} crème")
    assert [Path(h.path).name for h in hits][:1] == [rel]
    assert hits[0].title.startswith(word) or hits[0].title.startswith("zanzibar — le café")


def test_xhtml_title_and_heading_path_survive_the_namespace() -> None:
    data, _ = PAGES["docbook-utf8.xhtml"]
    doc = read_document("html", data, "page.xhtml")
    assert doc.title == "zanzibar — le café"
    assert [(line.text, line.heading) for line in doc.lines][:2] == [
        ("Le café zanzibar", ("Le café zanzibar",)),
        ("Un café crème et une tarte à la crème brûlée, s’il vous plaît.", ("Le café zanzibar",)),
    ]
    prefixed = (
        '<?xml version="1.0" encoding="utf-8"?><h:html xmlns:h="http://www.w3.org/1999/xhtml">'
        "<h:body><h:h2>Prefixed</h:h2><h:p>Déjà vu.</h:p><h:script>gone()</h:script></h:body></h:html>"
    ).encode()
    lines = read_document("html", prefixed, "p.xhtml").lines
    assert [(line.text, line.is_heading) for line in lines] == [("Prefixed", True), ("Déjà vu.", False)]


def test_encoding_order_bom_then_xml_then_meta_then_bytes() -> None:
    text = "<p>café</p>"
    bom = codecs.BOM_UTF8 + f'<?xml version="1.0" encoding="ISO-8859-1"?>{text}'.encode()
    assert decode_page(bom).encoding == "utf-8"  # the BOM wins
    declared = f'<?xml version="1.0" encoding="ISO-8859-1"?><meta charset="koi8-r">{text}'.encode("latin-1")
    assert (decode_page(declared).encoding, "café" in decode_page(declared).text) == ("cp1252", True)
    meta = '<meta charset="koi8-r"><p>чай с лимоном</p>'.encode("koi8-r")
    assert (decode_page(meta).encoding, "чай с лимоном" in decode_page(meta).text) == ("koi8-r", True)
    utf16_claim = f'<meta charset="utf-16">{text}'.encode()  # no ASCII page is UTF-16
    assert decode_page(utf16_claim).encoding == "utf-8"
    unknown = f'<meta charset="x-no-such-charset">{text}'.encode()
    assert (decode_page(unknown).encoding, decode_page(unknown).note) == ("utf-8", "")
    broken = "<p>café</p>".encode() + b"\xff"  # real UTF-8 with one bad byte: not legacy
    assert (decode_page(broken).encoding, decode_page(broken).note) == (
        "utf-8",
        "invalid UTF-8 bytes were replaced",
    )
    assert "café" in decode_page(broken).text


def test_pages_without_text_say_why_and_unparseable_ones_fail(tmp_path: Path, library: Library) -> None:
    root = tmp_path / "odd"
    root.mkdir()
    (root / "blank.html").write_bytes(b"  \n\t ")
    (root / "declaration-only.xhtml").write_bytes(b'<?xml version="1.0" encoding="UTF-8"?>\n')
    (root / "markup-only.html").write_bytes(b"<!DOCTYPE html><!-- nothing here -->")
    (root / "shell.html").write_bytes(b"<html><head><title>t</title></head><body><div></div></body></html>")
    refresh = b'<meta http-equiv="refresh" content="0; URL=\'new/place.html\'">'
    (root / "redirect.html").write_bytes(b"<html><head>" + refresh + b"</head><body></body></html>")
    moved = b'<html><head><meta http-equiv="Refresh" content="0;guide/index.html"></head>'
    (root / "moved.html").write_bytes(moved + b"<body><p>Redirecting...</p></body></html>")
    ticker = b'<html><head><meta http-equiv="refresh" content="300; url=ticker.html"></head>'
    (root / "ticker.html").write_bytes(ticker + b"<body><p>Harbour open</p></body></html>")  # reloads itself
    moved_with_text = b"<body><p>" + b"The ferry timetable moved to the harbour site. " * 6 + b"</p></body>"
    (root / "notice.html").write_bytes(moved + moved_with_text)  # says more than "moved": a page
    (root / "app.html").write_bytes(b"<html><body><nav>menu</nav><script>render()</script></body></html>")
    (root / "deep.html").write_bytes(("<div>" * 3000 + "deep words" + "</div>" * 3000).encode())
    # Nested past any real page: an HTML5 parser's time grows with depth times elements.
    nested = "<p>early words</p>" + "<div>" * 25000 + "lost" + "</div>" * 25000
    (root / "nested.html").write_bytes(nested.encode())
    report = library.add(root, "odd")
    coverage = {r.rel: (r.status, r.reason) for r in library.coverage()}
    assert coverage == {
        "blank.html": ("skipped", "empty page"),
        "declaration-only.xhtml": ("skipped", "empty page"),
        "markup-only.html": ("skipped", "no text in the page (it holds only markup)"),
        "shell.html": ("skipped", "no text in the page"),
        "redirect.html": ("skipped", "a redirect page (to new/place.html)"),
        "moved.html": ("skipped", "a redirect page (to guide/index.html)"),
        "ticker.html": ("indexed", ""),
        "notice.html": ("indexed", ""),
        "app.html": (
            "skipped",
            "no text in the page outside scripts, navigation and other parts that are left out",
        ),
        "deep.html": ("indexed", ""),
        "nested.html": ("failed", "cannot parse the HTML: elements nested 25,000 deep (more than 10,000)"),
    }
    assert (report.indexed, report.skipped, report.failed) == (3, 7, 1)
    deep = read_document("html", (root / "deep.html").read_bytes(), "deep.html")
    assert [line.text for line in deep.lines] == ["deep words"]
    with pytest.raises(ValueError, match=r"^cannot parse the HTML: elements nested 25,000 deep"):
        read_document("html", (root / "nested.html").read_bytes(), "nested.html")
    with pytest.raises(ReaderSkip, match=r"^empty page$"):
        read_document("html", (root / "blank.html").read_bytes(), "blank.html")


def test_utf16_text_without_a_byte_order_mark_is_text() -> None:
    doc = read_document("text", "Crème brûlée\nsecond line\n".encode("utf-16-le"), "notes.txt")
    assert ([line.text for line in doc.lines], doc.note) == (
        ["Crème brûlée", "second line"],
        "not UTF-8: decoded as utf-16-le",
    )


def test_deeply_nested_but_parseable_page_keeps_its_words() -> None:
    page = ("<div>" * 1500 + "<p>bottom of the well</p>" + "</div>" * 1500).encode()
    assert [line.text for line in read_document("html", page, "deep.html").lines] == ["bottom of the well"]


def _page(body: str) -> bytes:
    return f"<!DOCTYPE html><html><head><title>T</title></head><body>{body}</body></html>".encode()


SIDE = "<div class='sidebar'><p>sidebar words</p></div>"
MAIN_TEXT = "<p>the main words</p>"


@pytest.mark.parametrize(
    ("body", "wanted", "left_out"),
    [
        (f"{SIDE}<main>{MAIN_TEXT}</main>", "the main words", "sidebar"),
        (f"{SIDE}<DIV ROLE='Main'>{MAIN_TEXT}</DIV>", "the main words", "sidebar"),
        (f"{SIDE}<center role=main>{MAIN_TEXT}</center>", "the main words", "sidebar"),  # an odd holder
        (f"{SIDE}<article>{MAIN_TEXT}</article>", "the main words", "sidebar"),
        # main and role=main both marked: the first in the page, whichever kind
        (f"<div role='main'>{MAIN_TEXT}</div><main><p>later words</p></main>", "the main words", "later"),
        (f"<main>{MAIN_TEXT}</main><div role='main'><p>later words</p></div>", "the main words", "later"),
        # a main region is preferred to an article, wherever the article is
        (f"<article><p>apricot</p></article><div role='main'>{MAIN_TEXT}</div>", "the main words", "apricot"),
    ],
)
def test_the_main_region_is_read_when_the_page_marks_one(body: str, wanted: str, left_out: str) -> None:
    text = " ".join(line.text for line in read_document("html", _page(body), "p.html").lines)
    assert wanted in text and left_out not in text


@pytest.mark.parametrize(
    "body",
    [
        f"{SIDE}<div data-role='main'>{MAIN_TEXT}</div>",  # not the role attribute
        f"{SIDE}<div role='navigation main-ish'>x</div><div>{MAIN_TEXT}</div><script>role='main'</script>",
        f"{SIDE}<main>   </main><div>{MAIN_TEXT}</div>",  # a marked region without text
    ],
)
def test_a_page_without_a_main_region_is_read_whole(body: str) -> None:
    text = " ".join(line.text for line in read_document("html", _page(body), "p.html").lines)
    assert "sidebar words" in text and "the main words" in text


def test_permalink_icons_and_icon_glyphs_are_not_words(tmp_path: Path) -> None:
    """Icon-font glyphs (private-use characters) are read as spaces: a heading's permalink icon
    (MkDocs: Font Awesome's U+F0C1 right after the last word) and icons in the text no longer
    glue themselves to the words beside them."""
    body = (
        '<h1 id="t">Choosing your Theme<a class="headerlink" href="#t">\uf0c1</a></h1>'
        "<p>Pick a ready-made theme.</p>"
        "<h2>Install\U000f0001steps</h2>"
        "<p>Run the \uf17c installer, then \uf179restart.</p>"
    )
    doc = read_document("html", _page(body), "theme.html")
    lines = [(line.text, line.heading, line.is_heading) for line in doc.lines]
    assert lines == [
        ("Choosing your Theme", ("Choosing your Theme",), True),
        ("Pick a ready-made theme.", ("Choosing your Theme",), False),
        ("Install steps", ("Choosing your Theme", "Install steps"), True),
        ("Run the installer, then restart.", ("Choosing your Theme", "Install steps"), False),
    ]
    folder = tmp_path / "site"
    folder.mkdir()
    (folder / "theme.html").write_bytes(_page(body))
    with Library(tmp_path / "lib.sqlite3") as library:
        library.add(folder, "site")
        for word in ("theme", "restart"):
            assert [Path(hit.path).name for hit in library.search(word, 3, mode="bm25")] == ["theme.html"], (
                word
            )
        heads = library.store.query("SELECT heading FROM chunks_fts")
        assert all("\uf0c1" not in str(row[0]) for row in heads)


def test_xhtml_empty_element_tags_are_empty_elements() -> None:
    """XML serializers write empty elements as ``<x/>``. An HTML5 parser would take ``<title/>``
    or ``<script src="x"/>`` as a start tag and read the rest of the page as its title or code."""
    page = (
        b'<?xml version="1.0" encoding="UTF-8"?>\n'
        b'<html xmlns="http://www.w3.org/1999/xhtml"><head><title/><style type="text/css"/>'
        b'<script type="text/javascript" src="a.js"/></head><body>'
        b'<h1>Tide tables</h1><a id="top"/><div class="spacer"/><p>High water at six.<br/>Low at noon.</p>'
        b'<iframe src="map.html"/><textarea name="note"/><p>Ratio 3/>2 holds.</p></body></html>'
    )
    doc = read_document("html", page, "tides.xhtml")
    assert (doc.title, [line.text for line in doc.lines]) == (
        "Tide tables",
        ["Tide tables", "High water at six.", "Low at noon.", "Ratio 3/>2 holds."],
    )


def test_a_frameset_page_reads_its_noframes_part_as_html() -> None:
    page = (
        b"<html><head><title>API</title></head><frameset><frame src='a.html'>"
        b"<noframes><h2>Frame Alert</h2><p>See the <a href='b.html'>list of classes</a>.</p></noframes>"
        b"</frameset></html>"
    )
    assert [line.text for line in read_document("html", page, "index.html").lines] == [
        "Frame Alert",
        "See the list of classes.",
    ]


def test_broken_markup_is_read_as_a_browser_shows_it() -> None:
    """Unclosed paragraphs and list items, misnested inline tags, an unclosed table cell and a
    stray NUL (read as U+FFFD, as in text files)."""
    page = (
        b"<body><p>first<p>second <b>bold <i>both</b> italic</i><ul><li>one<li>two</ul>"
        b"<table><tr><td>cell<td>next</table><p>after\x00nul</body>"
    )
    assert [line.text for line in read_document("html", page, "broken.html").lines] == [
        "first",
        "second bold both italic",
        "one",
        "two",
        "cell | next",
        "after\ufffdnul",
    ]
