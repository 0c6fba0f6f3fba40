"""Which files of a folder are copies of another, and which copy the library keeps.

Two files are duplicates when their normalized words are equal, or when their MinHash estimates a
Jaccard similarity of word 3-shingles of at least ``SAME_FORMAT`` (0.9, for files of at least 200
words), or of ``SOURCE_FORMAT`` (0.3) for two formats of one name (``_sources/os.rst.txt`` beside
``os.html``: the markup of a source and its rendering differ, so their shingles do too). Two
formats of one place (one path, extensions aside, ends the other: ``_sources/cmd/break.rst.txt``
and ``cmd/break.html``, or ``report.docx`` and ``report.pdf``) are also duplicates when the one
the library would keep (the richer format) holds at least ``SOURCE_CONTAINED`` of the other's
shingles (``held``): a short source has no MinHash, and a page may pull in text its source only
names, which lowers the Jaccard similarity but not what the page holds of the source. A program
that quotes its short sample input is no copy of that input, whichever format ranks first. Only
pairs sharing a text hash, an LSH band or a name are compared, so a folder of thousands of files
costs milliseconds.

The copy kept is the one a person would open: the richer format first (HTML, then DOCX, PDF,
Markdown, plain text, CSV, code), then the longer text, then the shallower path, then the path's
order. That is a fixed order, so the choice never depends on which file was read first.
"""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property
from pathlib import PurePosixPath

from deepresearch_local.library.detect import kind_for
from deepresearch_local.library.signature import Signature, bands, held, similarity

SAME_FORMAT = 0.9
SAME_FORMAT_MIN_WORDS = 200
"""Shorter files of one format are duplicates only when their words are equal: two short notes
written from one template differ in the few words that matter."""
SOURCE_FORMAT = 0.3
SOURCE_CONTAINED = 0.6
"""Measured on Sphinx's sources beside their pages (CMake, Python): 0.87-0.88 for the median true
pair, 0.67 for the 5th percentile of Python's; a source against another page reached 0.44 at most
(CMake's policy pages share boilerplate)."""
KIND_RANK = {"html": 0, "docx": 1, "pdf": 2, "markdown": 3, "text": 4, "csv": 5, "code": 6}


def name_stem(rel: str) -> str:
    """The file name without its document extensions: ``os.path.rst.txt`` -> ``os.path``."""
    name = PurePosixPath(rel).name.lower()
    while "." in name.lstrip(".") and kind_for(name) not in (None, "binary", "unsupported"):
        name = name.rsplit(".", 1)[0]
    return name


@dataclass(frozen=True)
class Copy:
    """A file with a fingerprint: one that is indexed, or one found to duplicate another."""

    file_id: int
    rel: str
    kind: str
    sig: Signature

    @property
    def preference(self) -> tuple[int, int, int, int, str]:
        """Smaller is kept: the richer format, then the longer text, the shallower path and the
        shorter name (``report.pdf`` over ``report (1).pdf``, ``Utils.html`` over the copy a
        generator wrote for each nested ``Utils.Inner.html``)."""
        return (
            KIND_RANK.get(self.kind, len(KIND_RANK)),
            -self.sig.words,
            self.rel.count("/"),
            len(self.rel),
            self.rel,
        )

    @cached_property
    def stem(self) -> str:
        return name_stem(self.rel)

    @cached_property
    def keys(self) -> tuple[object, ...]:
        """What ``KeptFiles`` looks it up by: its text hash, its name, its LSH bands."""
        return (("hash", self.sig.text_hash), ("stem", self.stem), *bands(self.sig.minhash))


def likeness(a: Copy, b: Copy) -> float:
    """How alike two files are (1.0 for equal words), or 0.0 when they are not duplicates."""
    if a.sig.text_hash == b.sig.text_hash:
        return 1.0
    formats = a.kind != b.kind and a.stem == b.stem
    if formats and a.sig.minhash and b.sig.minhash:
        value = similarity(a.sig.minhash, b.sig.minhash)
        if value >= SOURCE_FORMAT:
            return value
    if formats and _one_place(a, b):
        kept, other = (a, b) if a.preference <= b.preference else (b, a)
        share = held(other.sig.sketch, kept.sig.sketch)  # what the copy kept holds of the other
        return share if share is not None and share >= SOURCE_CONTAINED else 0.0
    if formats or not a.sig.minhash or not b.sig.minhash:
        return 0.0
    if min(a.sig.words, b.sig.words) < SAME_FORMAT_MIN_WORDS:
        return 0.0
    value = similarity(a.sig.minhash, b.sig.minhash)
    return value if value >= SAME_FORMAT else 0.0


def _place(copy: Copy) -> tuple[str, ...]:
    """A file's folders and its name without document extensions (its stem), lower-cased."""
    return (*PurePosixPath(copy.rel.lower()).parent.parts, copy.stem)


def _one_place(a: Copy, b: Copy) -> bool:
    """Whether one path, extensions aside, ends the other (a mirror tree of sources)."""
    x, y = _place(a), _place(b)
    short, long = (x, y) if len(x) <= len(y) else (y, x)
    return long[len(long) - len(short) :] == short


class KeptFiles:
    """The files a folder keeps (indexed with a fingerprint), looked up by hash, band and name."""

    def __init__(self, copies: Iterable[Copy] = ()) -> None:
        self.alive: dict[int, Copy] = {}
        self._keys: dict[object, set[int]] = defaultdict(set)
        for copy in copies:
            self.add(copy)

    def add(self, copy: Copy) -> None:
        self.remove(copy.file_id)
        self.alive[copy.file_id] = copy
        for key in copy.keys:
            self._keys[key].add(copy.file_id)

    def remove(self, file_id: int) -> None:
        copy = self.alive.pop(file_id, None)
        if copy is not None:
            for key in copy.keys:
                self._keys[key].discard(file_id)

    def matches(self, copy: Copy) -> list[tuple[Copy, float]]:
        """Kept files that ``copy`` duplicates (or that duplicate it), most alike first."""
        ids: set[int] = set()
        for key in copy.keys:
            ids |= self._keys.get(key, set())
        ids.discard(copy.file_id)
        found = [(self.alive[i], likeness(copy, self.alive[i])) for i in ids]
        return sorted(
            ((other, value) for other, value in found if value > 0),
            key=lambda pair: (-pair[1], pair[0].preference),
        )


# ---------------------------------------------------------------- storage (file_signatures table)


def _copy(row: sqlite3.Row) -> Copy:
    sig = Signature(
        row["text_hash"], bytes(row["minhash"]), int(row["words"]), int(row["shingles"]), bytes(row["sketch"])
    )
    return Copy(int(row["file_id"]), str(row["rel"]), str(row["kind"]), sig)


_SELECT = """
    SELECT s.file_id, s.text_hash, s.minhash, s.words, s.shingles, s.sketch, s.duplicate_of,
           f.rel, f.kind, f.status
    FROM file_signatures s JOIN files f ON f.id = s.file_id WHERE f.folder_id = ?
"""


def load_copies(db: sqlite3.Connection, folder_id: int) -> tuple[list[Copy], list[tuple[Copy, int | None]]]:
    """(the folder's kept files, its duplicates with the id of the file each duplicates)."""
    kept: list[Copy] = []
    dups: list[tuple[Copy, int | None]] = []
    for row in db.execute(_SELECT, (folder_id,)):
        if row["status"] == "indexed":
            kept.append(_copy(row))
        else:
            original = row["duplicate_of"]
            dups.append((_copy(row), int(original) if original is not None else None))
    return kept, dups


def save_signature(db: sqlite3.Connection, file_id: int, sig: Signature, duplicate_of: int | None) -> None:
    db.execute(
        "INSERT INTO file_signatures (file_id, text_hash, minhash, words, shingles, sketch, duplicate_of) "
        "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(file_id) DO UPDATE SET text_hash = excluded.text_hash, "
        "minhash = excluded.minhash, words = excluded.words, shingles = excluded.shingles, "
        "sketch = excluded.sketch, duplicate_of = excluded.duplicate_of",
        (file_id, sig.text_hash, sig.minhash, sig.words, sig.shingles, sig.sketch, duplicate_of),
    )


def drop_signature(db: sqlite3.Connection, file_id: int) -> None:
    db.execute("DELETE FROM file_signatures WHERE file_id = ?", (file_id,))


DUPLICATE_PREFIX = "duplicate of "
"""Starts the coverage reason of a file left out as a copy of another."""


def duplicate_reason(original_rel: str) -> str:
    return f"{DUPLICATE_PREFIX}{original_rel}"
