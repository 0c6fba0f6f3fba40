"""PDF: the pages' text, one unit per page, lines numbered within their page, with three repairs
that a typeset document needs before it can be searched:

- Running heads and feet (``Chapter 9: Functions 22`` above every page of a chapter, ``Page 3 of
  40`` below every page) are left out but where they first appear: they would otherwise cut every
  sentence that runs on to the next page, and add their words to every passage. A line counts as
  one when it stands among the first or last ``ZONE`` lines of pages that follow each other
  (``_in_runs``: a label that starts a page here and there is text), the same but for numbers
  that are the page's own or stay the same (a line whose numbers change otherwise, such as an
  invoice's number, is text), and holds a letter or digit (a listing's ``}`` is code). On
  gnuplot's, asymptote's and zsh's manuals (311, 196 and 480 pages) that leaves out their page
  numbers and chapter or version heads, and nothing else.
- A word hyphenated across a line break is made whole on the first line ("ma-" and "chine
  precision" become "machine" and "precision"), so it is found by its own spelling. The
  hyphen stays when the document writes that form elsewhere on one line and never the joined
  one ("pseudo-" and "random" become "pseudo-random").
- The document's outline (its bookmarks) gives the lines their heading path, as headings do in
  other formats: a section starts at the line of its page that shows its title, or, when none
  does, at the top of that page (or on the next page, when a section shown on the page comes
  before it). A chunk then starts afresh at a section, and its heading is searched.

The text comes from PDFium (``pypdfium2``), about 3 ms a page: gnuplot's 311-page manual in 0.9 s
and Octave's 1,158 pages in 3.2 s of CPU, where pypdf took 16 s and 64 s. pypdf reads what PDFium
cannot open (it repairs more damaged files) and stands in where ``pypdfium2`` is not installed.
PDFium writes a word it found hyphenated at a line end whole, with U+FFFE where the hyphen was and
the line break taken out; the hyphen and the break are put back, so ``join_hyphenated`` decides
as it does for pypdf's text.
"""

from __future__ import annotations

import io
import logging
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any

from deepresearch_local.library.errors import ReaderSkip
from deepresearch_local.library.model import Document, Line
from deepresearch_local.library.readers import split_lines

_BROKEN = re.compile(r"([^\W\d_]+)-\s*$")
"""A line ending in a word fragment and a hyphen (not a dash: a letter comes right before it)."""
_CONTINUED = re.compile(r"^(\s*)([^\W\d_]+)(\S*)(.*)$")
"""A line starting with the rest of that word in lower case, what follows it glued on (a comma)."""
_WORD = re.compile(r"[^\W\d_]+")
_COMPOUND = re.compile(r"[^\W\d_]+-[^\W\d_]+")
_NUMBERING = re.compile(r"^[\dA-Z]{1,3}([.\d]*)\s+")
"""A section number before a title on the page ("6.3 ", "A.1 ", "IV "), left out when matching."""
ZONE = 2
"""Lines at the top and at the bottom of a page (blank ones aside) where running heads and feet
stand."""
RUNNING_PAGES = 3
"""Pages a line must head (or foot) before it is taken for a running head (or foot)."""
IN_RUNS = 0.75
"""Share of those pages that must lie next to another of them (see ``_in_runs``)."""
RUNNING_CHARS = 150
"""Longer lines are text, never running heads."""
_DIGITS = re.compile(r"\d+")


@dataclass
class _Pages:
    """What a PDF library read: each page's lines, the outline, the title, unreadable pages."""

    texts: list[list[str]]
    entries: list[tuple[int, tuple[str, ...]]]
    title: str
    bad: int


ENCRYPTED = "encrypted PDF (needs a password)"
_PDFIUM = threading.Lock()
"""PDFium must not be called from two threads at once, even on different documents."""
_SOFT_HYPHEN = "\ufffe"
"""PDFium's mark for a hyphen at a line end whose word it joined (see the module)."""


def read_pdf(data: bytes, name: str) -> Document:
    """The pages' text without running heads, hyphenated words joined, outline headings (see the module)."""
    pages = _with_pdfium(data)
    if pages is None:
        pages = _with_pypdf(data)
    texts = pages.texts
    if not any(t.strip() for page_lines in texts for t in page_lines):
        raise ReaderSkip("no extractable text (a scanned PDF? OCR is not supported)")
    drop_running_lines(texts)
    join_hyphenated(texts)
    lines = with_headings(texts, pages.entries)
    note = f"{pages.bad} of {len(texts)} pages could not be read" if pages.bad else ""
    title = pages.title or PurePath(name).name
    return Document(kind="pdf", title=title, lines=lines, pages=len(texts), note=note)


def _with_pdfium(data: bytes) -> _Pages | None:
    """The PDF as PDFium reads it; None when ``pypdfium2`` is missing or cannot open the file."""
    try:
        import pypdfium2
    except ImportError:
        return None
    with _PDFIUM:
        try:
            pdf = pypdfium2.PdfDocument(data)
        except pypdfium2.PdfiumError as exc:
            if "password" in str(exc).lower():
                raise ReaderSkip(ENCRYPTED) from exc
            return None
        except Exception:
            return None
        try:
            texts: list[list[str]] = []
            bad = 0
            for index in range(len(pdf)):
                try:
                    page = pdf[index]
                    try:
                        textpage = page.get_textpage()
                        text = textpage.get_text_range()
                        textpage.close()
                    finally:
                        page.close()
                    texts.append(split_lines(text.replace(_SOFT_HYPHEN, "-\n")))
                except Exception:
                    bad += 1
                    texts.append([])
            return _Pages(texts, _pdfium_outline(pdf), _pdfium_title(pdf), bad)
        finally:
            pdf.close()


def _pdfium_outline(pdf: Any) -> list[tuple[int, tuple[str, ...]]]:
    """(0-based page, heading path) of each outline entry, in order (see ``outline``)."""
    found: list[tuple[int, tuple[str, ...]]] = []
    paths: list[tuple[str, ...]] = []  # the path each level's latest entry gives its children
    try:
        for item in pdf.get_toc():
            del paths[max(0, int(item.level)) :]
            parent = paths[-1] if paths else ()
            title = " ".join(str(item.get_title() or "").split())
            dest = item.get_dest()
            page = dest.get_index() if dest is not None else None
            path = parent  # an entry without a title or page: its children hang where it would
            if title and page is not None and page >= 0:
                path = (*parent, title)
                found.append((int(page), path))
            paths.append(path)
    except Exception:  # a damaged outline costs the headings, never the text
        return []
    return found


def _pdfium_title(pdf: Any) -> str:
    try:
        return " ".join(str(pdf.get_metadata_value("Title") or "").split())
    except Exception:
        return ""


def _with_pypdf(data: bytes) -> _Pages:
    """The PDF as pypdf reads it (``ValueError`` when it cannot)."""
    import pypdf

    logging.getLogger("pypdf").setLevel(logging.ERROR)
    try:
        reader = pypdf.PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted and not reader.decrypt(""):
            raise ReaderSkip(ENCRYPTED)
        pages = list(reader.pages)
    except ReaderSkip:
        raise
    except Exception as exc:  # pypdf raises many types on damaged files
        raise ValueError(f"not a readable PDF ({type(exc).__name__}: {exc})") from exc
    texts: list[list[str]] = []
    bad = 0
    for page in pages:
        try:
            texts.append(split_lines(page.extract_text() or ""))
        except Exception:
            bad += 1
            texts.append([])
    title = ""
    try:
        meta = reader.metadata
        title = str(meta.title).strip() if meta and meta.title else ""
    except Exception:
        title = ""
    return _Pages(texts, outline(reader), title, bad)


def _running_form(line: str) -> str:
    """A line as its running head would repeat it: numbers (page, chapter) and spacing aside."""
    return _DIGITS.sub("#", " ".join(line.split()).casefold())


def _in_runs(found: dict[int, tuple[int, ...]]) -> bool:
    """Whether a line heads (or foots) pages in runs, as running heads do, every page or every
    other one through a chapter: ``RUNNING_PAGES`` or more, ``IN_RUNS`` of them next to another
    such page (one or two pages away). A label that often starts a page ("Syntax:") does so here
    and there."""
    pages = set(found)
    near = sum(1 for p in pages if {p - 2, p - 1, p + 1, p + 2} & pages)
    return near >= RUNNING_PAGES and near >= IN_RUNS * len(pages)


def _counts_pages(found: dict[int, tuple[int, ...]]) -> bool:
    """Whether the numbers of a line repeated on these pages are what a running head's are: each
    the same on every page (a chapter's) or the page's own number, give or take a fixed offset."""
    rows = sorted(found.items())
    for column in range(len(rows[0][1])):
        values = [(page, numbers[column]) for page, numbers in rows]
        same = all(value == values[0][1] for _, value in values)
        paged = all(value - page == values[0][1] - values[0][0] for page, value in values)
        if not (same or paged):
            return False
    return True


def drop_running_lines(pages: list[list[str]]) -> None:
    """Blank the running heads and feet of the pages but where each first appears (in place; the
    lines keep their numbers)."""
    candidates: list[tuple[int, int, tuple[bool, str]]] = []  # (page, line, (foot?, form))
    seen: dict[tuple[bool, str], dict[int, tuple[int, ...]]] = {}
    for index, lines in enumerate(pages):
        filled = [i for i, text in enumerate(lines) if text.strip()]
        if len(filled) <= 2 * ZONE:  # a title page, a slide: too short to tell heads from text
            continue
        for foot, places in ((False, filled[:ZONE]), (True, filled[-ZONE:])):
            for i in places:
                text = lines[i].strip()
                if len(text) <= RUNNING_CHARS and any(c.isalnum() for c in text):  # not a code's "}"
                    key = (foot, _running_form(text))
                    candidates.append((index, i, key))
                    seen.setdefault(key, {}).setdefault(
                        index, tuple(int(n[:9]) for n in _DIGITS.findall(text))
                    )
    running = {key: min(found) for key, found in seen.items() if _in_runs(found) and _counts_pages(found)}
    for index, i, key in candidates:
        first = running.get(key)
        if first is not None and first != index:
            pages[index][i] = ""


def join_hyphenated(pages: list[list[str]]) -> None:
    """Make words broken across two lines of a page whole on the first line (in place)."""
    text = "\n".join(t for page in pages for t in page).lower()
    words = set(_WORD.findall(text))
    compounds = set(_COMPOUND.findall(text))
    for lines in pages:
        for at in range(len(lines) - 1):
            broken = _BROKEN.search(lines[at])
            rest = _CONTINUED.match(lines[at + 1]) if broken else None
            if broken is None or rest is None or not rest.group(2)[0].islower():
                continue
            head, tail = broken.group(1), rest.group(2)
            whole = (head + tail).lower()
            keep = f"{head}-{tail}".lower() in compounds and whole not in words
            lines[at] = lines[at][: broken.end(1)] + ("-" if keep else "") + tail + rest.group(3)
            lines[at + 1] = rest.group(4).lstrip()


def outline(reader: Any) -> list[tuple[int, tuple[str, ...]]]:
    """(0-based page, heading path) of each entry of the PDF's outline, in its order; empty when
    the PDF has none or it cannot be read."""
    found: list[tuple[int, tuple[str, ...]]] = []

    def walk(items: Sequence[Any], path: tuple[str, ...]) -> None:
        last = path
        for item in items:
            if isinstance(item, list):
                walk(item, last)
                continue
            title = " ".join(str(getattr(item, "title", "") or "").split())
            page = reader.get_destination_page_number(item)
            if title and page is not None and page >= 0:
                last = (*path, title)
                found.append((page, last))

    try:
        walk(reader.outline, ())
    except Exception:  # a damaged outline costs the headings, never the text
        return []
    return found


def _norm(text: str) -> str:
    return " ".join(text.split()).casefold()


def _shows(line: str, title: str) -> bool:
    """Whether a line of the page is the section's title (its number before it allowed)."""
    text = " ".join(line.split())
    return text.casefold() == title or _NUMBERING.sub("", text, count=1).casefold() == title


def with_headings(
    pages: Sequence[Sequence[str]], entries: Sequence[tuple[int, tuple[str, ...]]]
) -> list[Line]:
    """The pages' lines, each under the heading path of the outline entry it falls in."""
    starts: dict[int, list[tuple[str, ...]]] = {}
    for page, path in entries:
        starts.setdefault(page, []).append(path)
    lines: list[Line] = []
    current: tuple[str, ...] = ()
    for index, texts in enumerate(pages):
        switches: dict[int, tuple[tuple[str, ...], bool]] = {}
        at = 0
        later: tuple[str, ...] | None = None
        for path in starts.get(index, []):
            title = _norm(path[-1])
            shown = next((i for i in range(at, len(texts)) if _shows(texts[i], title)), None)
            if shown is not None:
                at, later = shown, None
                switches[at] = (path, True)
            elif any(seen for _, seen in switches.values()):
                later = path  # somewhere below a section shown on the page: from the next page on
            else:
                switches[at] = (path, False)  # at the top of its page, as chapters start
        for i, text in enumerate(texts):
            is_heading = False
            if i in switches:
                current, is_heading = switches[i]
            lines.append(Line(text, i + 1, index + 1, current, is_heading))
        if later is not None:
            current = later
    return lines
