"""Results that repeat one another: the same passage found in two files.

A documentation folder often says one thing in several files that are not copies of each other as
wholes: an API page and the rendered source listing its comments came from (Javadoc's
``src-html``, Doxygen's ``_source`` pages, Sphinx's ``_modules``), a page and a translation that
left the code and the untranslated parts alone, two versions of one manual. When the words of a
file's best passage that matched the query, with their neighbours, are mostly in the best passage
of a file ranked above it, the second result tells the reader nothing new: it is listed with the
first ("same passage in") and its place goes to the next file. Two pages that share a paragraph but
matched the query elsewhere are both kept.

Text is compared by runs of four words (letters only, so line numbers, comment stars and markup
left in a source listing do not break them). The runs of a result's snippet that hold a query word
are its matched runs (all of the snippet's runs when no query word is in it: a passage found by
meaning alone); it is a copy when at least ``NEAR`` of them are in the better passage.

Measured with ``bench library --qa`` (BM25, questions over all folders at once): recall@5 on the
held-out set 0.545 -> 0.576, on the second 0.512 -> 0.537 and on the API set (Javadoc, Doxygen,
gtk-doc) 0.674 -> 0.698; the other three sets unchanged, and so was hybrid search on the two sets
measured (CMake/MkDocs, Apache/Django/Node). ``NEAR`` 0.6 lost the second set's gain. What a
copy joins in the other direction is real text shared across pages: git's option lists included
in several commands' pages, SQLite's requirements page quoting the others, a translation.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

NEAR = 0.5
"""Share of a result's matched runs found in a better passage for a copy."""
SHINGLE = 4
MIN_SHINGLES = 8
"""A result with fewer matched runs than this is never called a copy: one query word met once (its
four runs: "a note on sourdough in bread.md" beside "... in starter.md") or a match in a heading
says little about whether two pages say the same thing."""

_WORD = re.compile(r"[^\W\d_]+")


def _words(text: str) -> list[str]:
    """The runs of letters of ``text``, lower-cased. Most words are letters only and are taken
    whole; the regular expression splits only the others ("print()", "x2y")."""
    out: list[str] = []
    for word in text.lower().split():
        if word.isalpha():
            out.append(word)
        else:
            out.extend(_WORD.findall(word))
    return out


def _runs(words: Sequence[str]) -> list[int]:
    """One hash per run of ``SHINGLE`` consecutive words (within this process: runs are only
    compared with runs of the same search)."""
    return list(map(hash, zip(words, words[1:], words[2:], words[3:], strict=False)))


def shingles(text: str) -> frozenset[int]:
    """Hashes of the runs of ``SHINGLE`` words of ``text`` (lower case, letters only)."""
    return frozenset(_runs(_words(text)))


def matched_shingles(snippet: str, terms: Sequence[str]) -> frozenset[int]:
    """The runs of a snippet that hold a query word (compared by their first five letters, as
    the snippet was chosen); all its runs when none does (a passage found by meaning alone)."""
    wanted = {w[:5] for term in terms for w in _words(term)}
    words = _words(snippet)
    runs = _runs(words)
    marked = [w[:5] in wanted for w in words]
    held = [run for at, run in enumerate(runs) if any(marked[at : at + SHINGLE])]
    return frozenset(held or runs)


def copy_of(
    passages: Sequence[str],
    probes: Sequence[frozenset[int]],
    whole: Callable[[str], frozenset[int]] = shingles,
) -> list[int | None]:
    """For each result (best first: its whole best passage, and the runs of it that matched, see
    ``matched_shingles``), the index of a better result whose passage holds most of this one's
    matched runs, or None. Results found to be copies are not compared with later ones. A
    passage's runs (``whole``: a caller may remember them) are taken only when a later result
    is compared with it."""
    kept: list[int] = []
    runs: dict[int, frozenset[int]] = {}
    out: list[int | None] = []
    for i, probe in enumerate(probes):
        found = None
        if len(probe) >= MIN_SHINGLES:
            for j in kept:
                theirs = runs.get(j)
                if theirs is None:
                    theirs = runs[j] = whole(passages[j])
                if len(probe & theirs) >= NEAR * len(probe):
                    found = j
                    break
        out.append(found)
        if found is None:
            kept.append(i)
    return out
