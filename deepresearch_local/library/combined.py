"""Combined editions: one file that is several other files of the folder put together.

Documentation often ships twice: as one page per topic and as a single page holding them all
(Node's ``all.html``, a Sphinx ``singlehtml`` build, a GNU manual's one-page HTML, a PDF of the
whole site). Indexed both ways, the big file wins nearly every search (it holds every answer) and
takes one of the k places with a passage the split page gives better. So a file is left out as a
combined copy when the folder's smaller files, indexed on their own, hold its text.

The test reads only the files' sketches (the smallest distinct shingle hashes, see
``signature``): when a smaller file's shingles all lie in the whole, every hash of the whole's
sketch that falls in that file is also in the file's own sketch (a bottom-k sample of a subset
keeps the subset's share of the sample), and a part of a tenth of the whole's words holds about a
tenth of the sample. So a smaller kept file is a *part* when it holds at least ``SHARE`` of the
share its size would give it (a page that shares a menu, a licence line or one quoted sentence
with the whole holds far less), and the whole is a combined copy when

* its parts hold at least ``HELD`` of its sketch, counting only parts in a format as rich as
  its own (a rendered page is not left out for the source fragments it was built from: a
  manual page of git's and the option lists it includes),
* they number at least ``PARTS`` (one file holding another is a duplicate, not this), and
* their words add up to at most ``EXCESS`` times the whole's (the parts make the whole).

Measured on the 12 documentation folders of the retrieval question sets (Python, SQLite, git,
PostgreSQL, CMake, MkDocs, Commons Lang, SDL, GLib, Apache, Django, Node): three files are
combined copies, Node's ``all.html`` (55 module pages hold all 256 sampled hashes; their words
add up to 1.03 times its own), Python's ``genindex-all.html`` (the 29 letter pages, 1.02) and
SQLite's one-page ``session.html`` (0.99 held by 53 function pages, 1.26). Of the pages whose
parts hold at least 95% of their sample, the others' parts add up to 1.88 (SQLite's one-page C
API reference beside the split one and its function lists: kept) to 31 times their words, and
the closest to passing on both counts, a Korean list of Apache's directives, holds 0.95.

A combined copy is never a part of a larger one, and the parts keep their own chunks: nothing
the whole says is lost but what lies outside the ``HELD`` share (a title, a table of contents).

An edition in another format (a PDF of the HTML manual beside it) never reaches ``HELD``: the
typeset text adds a table of contents, an index and page furniture, and words hyphenated or set
apart differently break shingles. So a whole whose parts in a *richer* format than its own hold
at least ``HELD_EDITION`` of its sketch is left out too: Octave's 1,158-page PDF manual (0.89 held
by 216 of its HTML pages), zsh's (0.94, 24 chapter pages) and gnuplot's (0.90). Kept, such a PDF
came first for nearly every question on its manual (keyword search found the right Octave page
for 3 of 21 questions; a plain FTS5 index over the same files, 8). Parts in the whole's own
format must still reach ``HELD``: a thesis that reuses its papers' text stays.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from deepresearch_local.library.duplicates import KIND_RANK
from deepresearch_local.library.signature import SKETCH

if TYPE_CHECKING:
    from deepresearch_local.library.duplicates import Copy

HELD = 0.98
HELD_EDITION = 0.85
"""How much of a whole's sketch its parts in a richer format must hold (see the module)."""
PARTS = 3
EXCESS = 1.5
SHARE = 0.3
"""A file counts as a part when it holds at least this share of the whole's sketch hashes that
its size would give it (a part of a tenth of the whole's words, about a tenth of the sample)."""
PREFIX = "combined copy of "
"""Starts the coverage reason of a file left out as a combined copy."""
NAMED = 3
"""Parts named in the reason (the rest are counted)."""


def combined_prefix_pattern() -> str:
    """A SQL ``LIKE`` pattern for the reasons ``combined_reason`` writes."""
    return PREFIX + "%"


def combined_reason(parts: Sequence[Copy]) -> str:
    names = ", ".join(part.rel for part in parts[:NAMED])
    more = f" and {len(parts) - NAMED} more" if len(parts) > NAMED else ""
    return f"{PREFIX}{len(parts)} files indexed on their own ({names}{more})"


def combined_copies(copies: Sequence[Copy]) -> dict[int, list[Copy]]:
    """File id -> its parts (most of the whole's sketch first) for each file of ``copies`` that
    is a combined copy of others (see the module's docstring). Smaller wholes are settled first
    and are no part of a larger one: a book's chapter pages and the book's single page both
    combine the same section pages."""
    import numpy as np

    if len(copies) <= PARTS:
        return {}
    sketches = [np.frombuffer(c.sig.sketch, "<u4") for c in copies]
    hashes = np.concatenate(sketches)
    owners = np.concatenate([np.full(len(s), i, dtype=np.int64) for i, s in enumerate(sketches)])
    order = np.argsort(hashes, kind="stable")
    hashes, owners = hashes[order], owners[order]
    words = np.array([c.sig.words for c in copies], dtype=np.int64)
    formats = np.array([KIND_RANK.get(c.kind, len(KIND_RANK)) for c in copies], dtype=np.int64)
    alive = np.ones(len(copies), dtype=bool)
    found: dict[int, list[Copy]] = {}
    for i in sorted(range(len(copies)), key=lambda n: (copies[n].sig.words, copies[n].rel)):
        sketch = sketches[i]
        if len(sketch) < SKETCH:  # a short text: a duplicate at most
            continue
        starts = np.searchsorted(hashes, sketch, "left")
        lengths = np.searchsorted(hashes, sketch, "right") - starts
        if np.count_nonzero(lengths > 1) < HELD_EDITION * len(sketch):  # most pages: held by no one
            continue
        # Every (hash of the sketch, file holding it) pair, then the smaller kept files in a
        # format as rich as the whole's.
        at = np.repeat(starts - np.cumsum(lengths) + lengths, lengths) + np.arange(int(lengths.sum()))
        which = np.repeat(np.arange(len(sketch)), lengths)
        holder = owners[at]
        keep = alive[holder] & (words[holder] < words[i]) & (formats[holder] <= formats[i])
        which, holder = which[keep], holder[keep]
        counts = np.bincount(holder, minlength=len(copies))
        # A part's share of the sample follows its size; a page sharing a line or a menu holds
        # far less of the sample than its size would give it.
        is_part = (counts > 0) & (counts >= SHARE * len(sketch) * words / words[i])
        parts = np.flatnonzero(is_part)
        held = len(np.unique(which[is_part[holder]]))
        if held < HELD * len(sketch):  # perhaps an edition of richer parts in a plainer format
            richer = is_part & (formats < formats[i])
            parts = np.flatnonzero(richer)
            if len(np.unique(which[richer[holder]])) < HELD_EDITION * len(sketch):
                continue
        if len(parts) < PARTS:
            continue
        if int(words[parts].sum()) > EXCESS * int(words[i]):
            continue
        ranked = sorted(parts.tolist(), key=lambda o: (-int(counts[o]), copies[o].rel))
        found[copies[i].file_id] = [copies[o] for o in ranked]
        alive[i] = False
    return found
