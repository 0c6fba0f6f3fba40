"""A single word's BM25 part in every chunk, read from FTS5's postings and scored in numpy.

FTS5's ``bm25()`` costs about a microsecond per matching chunk (it looks up the chunk's length
and walks its hits one row at a time); the postings themselves are read in about a third of
that. ``Vocabulary`` asks FTS5's own vocabulary tables (``fts5vocab``) for a word's hits, its
chunk count and the chunks' lengths, and computes the same formula with the same operations in
the same order, so the scores are FTS5's to the last bit (``tests/library/test_postings.py``
holds them to it). Words are tokenised by a scratch FTS5 table with the index's own tokenizer, so
"Caching" finds the stem FTS5 stored. Phrases, and words that occur many times per chunk (their
hit lists are long), are left to FTS5 (``scores`` returns None).
"""

from __future__ import annotations

import math
import re
import sqlite3
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    from deepresearch_local.library.store import Store

    Ids = npt.NDArray[np.int64]
    Ints = npt.NDArray[np.int64]
    Floats = npt.NDArray[np.float64]

K1 = 1.2
"""FTS5's BM25 constant k1 (fixed in SQLite): a term adds less than ``idf * (K1 + 1)``."""
B = 0.75
IDF_FLOOR = 1e-6
"""FTS5's idf of a term in over half of the chunks."""
INSTANCE_RATIO = 3.0
"""A word is scored here while its hits are at most this many times its chunks: a hit costs about
a third of what ``bm25()`` spends per chunk (100k synthetic chunks: 0.34 against 1.15 µs)."""

BODY = "body"
"""The column most hits are in (looked at first when telling columns apart)."""

_RANK = re.compile(r"^\s*bm25\s*\(\s*([-+0-9.eE,\s]*)\)\s*$")
_TOKENIZE = re.compile(r"tokenize\s*=\s*('(?:[^']|'')*'|\"(?:[^\"]|\"\")*\")", re.IGNORECASE)


def idf(rows: int, hits: int) -> float:
    """FTS5's idf of a term in ``hits`` of ``rows`` chunks, as ``bm25()`` computes it."""
    value = math.log((rows - hits + 0.5) / (hits + 0.5))
    return value if value > 0.0 else IDF_FLOOR


def varints(data: bytes) -> list[int]:
    """SQLite varints one after another (big-endian 7-bit groups; a ninth byte counts 8 bits)."""
    out: list[int] = []
    value, length = 0, 0
    for byte in data:
        length += 1
        if length == 9:
            out.append((value << 8) | byte)
            value, length = 0, 0
            continue
        value = (value << 7) | (byte & 0x7F)
        if byte < 0x80:
            out.append(value)
            value, length = 0, 0
    return out


def sizes(data: bytes, lengths: Sequence[int] | Ids) -> Floats:
    """The sum of the varints in each of the consecutive blobs of ``data`` (``lengths``: their
    sizes in bytes): FTS5's per-column token counts of each chunk, added. Vectorised; token
    counts stay far below 2**56, so no varint reaches the nine-byte form."""
    import numpy as np

    counts = np.asarray(lengths, dtype=np.int64)
    raw = np.frombuffer(data, dtype=np.uint8)
    if len(counts) == 0 or len(raw) == 0:
        return np.zeros(len(counts), dtype=np.float64)
    owner = np.repeat(np.arange(len(counts)), counts)
    last = raw < 0x80  # a varint's last byte
    ends = np.flatnonzero(last)
    group = np.concatenate(([0], np.cumsum(last)[:-1]))  # which varint each byte belongs to
    shift = 7 * (ends[np.minimum(group, len(ends) - 1)] - np.arange(len(raw)))
    parts = (raw & 0x7F).astype(np.int64) << shift.astype(np.int64)
    values = np.bincount(group, weights=parts, minlength=len(ends))[: len(ends)]
    return np.bincount(owner[ends], weights=values, minlength=len(counts)).astype(np.float64)


class _Generation:
    """What one state of the index holds: its columns and their weights, row count, average
    length, and (read when first needed) every chunk's length."""

    def __init__(
        self, columns: list[str], weights: list[float], rows: int, avgdl: float, tokenize: str
    ) -> None:
        self.columns = columns
        self.weights = weights
        self.rows = rows
        self.avgdl = avgdl
        self.tokenize = tokenize
        """The index's tokenizer clause (``'porter unicode61'``, quoted as in its definition)."""
        self.length_ids: Ids | None = None
        self.lengths: Floats | None = None
        self.counts: dict[str, tuple[int, int]] = {}


class Vocabulary:
    """FTS5's view of single words in the library's index (a ``Store`` companion)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._tokenize = ""
        """The tokenizer clause the scratch table was made with ("" before it was made)."""
        self._forms: dict[str, str | None] = {}
        self._at: tuple[int, bytes] | None = None
        self._now: _Generation | None = None

    def _generation(self) -> _Generation | None:
        """The current index's columns, weights and totals, the scratch tables made for its
        tokenizer (lock held); None where this SQLite or this index does not allow it (FTS5 then
        scores every word itself)."""
        now = self.store.index_generation()
        if now == self._at:
            return self._now
        db = self.store.db
        self._at, self._now = now, None
        try:
            found = db.execute("SELECT sql FROM sqlite_master WHERE name = 'chunks_fts'").fetchone()
            tokenize = _TOKENIZE.search(str(found[0])) if found else None
            columns = [str(d[0]) for d in db.execute("SELECT * FROM chunks_fts LIMIT 0").description]
            config = db.execute("SELECT v FROM chunks_fts_config WHERE k = 'rank'").fetchone()
            rank = _RANK.match(str(config[0])) if config else None
            totals = varints(now[1])
            if tokenize is None or rank is None or not 0 < len(columns) <= 10 or not totals or totals[0] <= 0:
                return None
            if tokenize.group(1) != self._tokenize:
                db.execute("DROP TABLE IF EXISTS temp.word_form")
                for name, using in (
                    ("word_form", f"fts5(w, tokenize = {tokenize.group(1)})"),
                    ("word_form_rows", "fts5vocab(temp, word_form, row)"),
                    ("chunk_words", "fts5vocab(main, chunks_fts, row)"),
                    ("chunk_hits", "fts5vocab(main, chunks_fts, instance)"),
                ):
                    db.execute(f"CREATE VIRTUAL TABLE IF NOT EXISTS temp.{name} USING {using}")
                self._tokenize = tokenize.group(1)
                self._forms.clear()
        except sqlite3.Error:
            return None
        given = [float(v) for v in rank.group(1).split(",") if v.strip()]
        weights = [given[i] if i < len(given) else 1.0 for i in range(len(columns))]  # as bm25()
        rows, tokens = totals[0], sum(totals[1 : 1 + len(columns)])
        self._now = _Generation(columns, weights, rows, float(tokens) / float(rows), tokenize.group(1))
        return self._now

    # ------------------------------------------------------------------ words

    def form(self, term: str) -> str | None:
        """The one token FTS5 indexes ``term`` as (its stem), or None when it makes zero or
        several tokens (a phrase) or the scratch tables are unavailable."""
        with self.store.lock:
            if self._generation() is None:
                return None
            if term in self._forms:
                return self._forms[term]
            db = self.store.db
            try:
                db.execute("INSERT INTO temp.word_form (rowid, w) VALUES (1, ?)", (term,))
                try:
                    found = db.execute("SELECT term FROM temp.word_form_rows").fetchall()
                finally:
                    db.execute("DELETE FROM temp.word_form")
            except sqlite3.Error:  # a full disk, say: FTS5 scores the word itself
                return None
            form = str(found[0][0]) if len(found) == 1 else None
            if len(self._forms) < 100_000:
                self._forms[term] = form
            return form

    def counts(self, term: str) -> tuple[int, int] | None:
        """(chunks holding the word, its hits in them) as FTS5 counts them, or None for a
        phrase (or where unavailable)."""
        form = self.form(term)
        if form is None:
            return None
        with self.store.lock:
            now = self._generation()
            if now is None:
                return None
            found = now.counts.get(form)
            if found is None:
                row = self.store.db.execute(
                    "SELECT doc, cnt FROM temp.chunk_words WHERE term = ?", (form,)
                ).fetchone()
                found = (int(row[0]), int(row[1])) if row else (0, 0)
                if len(now.counts) < 100_000:
                    now.counts[form] = found
            return found

    # ------------------------------------------------------------------ scores

    def _lengths(self, now: _Generation) -> tuple[Ids, Floats]:
        """(chunk ids ascending, their length in tokens, all columns), read once per index in
        one row (a Python row per chunk costs four times as much)."""
        import numpy as np

        if now.length_ids is None or now.lengths is None:
            ids, data, lengths = self.store.db.execute(
                "SELECT group_concat(id), group_concat(hex(sz), ''), group_concat(length(sz)) "
                "FROM chunks_fts_docsize"
            ).fetchone()
            if ids is None:
                now.length_ids, now.lengths = np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float64)
            else:
                chunk_ids = np.fromstring(str(ids), dtype=np.int64, sep=",")
                totals = sizes(bytes.fromhex(str(data)), np.fromstring(str(lengths), dtype=np.int64, sep=","))
                order = np.argsort(chunk_ids, kind="stable")
                now.length_ids, now.lengths = chunk_ids[order], totals[order]
        return now.length_ids, now.lengths

    def scores(self, term: str) -> tuple[Ids, Floats] | None:
        """(chunk ids ascending, the word's BM25 part in each) exactly as FTS5's ``bm25()``
        scores the quoted word alone, or None where FTS5 should score it (see the module). A word
        whose postings the library keeps (``common_postings``) is read from them."""
        import numpy as np

        with self.store.lock:
            db = self.store.db
            snapshot = not db.in_transaction  # one state of the index for all the reads below
            if snapshot:
                db.execute("BEGIN")
            try:
                read = self._read(term)
            finally:
                if snapshot:
                    db.execute("COMMIT")
        if read is None:
            return None
        now, docs, ids, freq, (length_ids, lengths) = read
        if len(ids) == 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float64)
        at = np.minimum(np.searchsorted(length_ids, ids), max(len(length_ids) - 1, 0))
        if len(length_ids) == 0 or not np.array_equal(length_ids[at], ids):
            return None  # a chunk without a recorded length: FTS5 scores the word
        size = lengths[at]
        # bm25(): idf * ((f * (k1 + 1)) / (f + k1 * (1 - b + b * D / avgdl))), left to right
        score = idf(now.rows, docs) * ((freq * (K1 + 1.0)) / (freq + K1 * (1 - B + B * size / now.avgdl)))
        return ids, np.asarray(score, dtype=np.float64)

    def _read(self, term: str) -> tuple[_Generation, int, Ids, Floats, tuple[Ids, Floats]] | None:
        """(the index's totals, chunks holding the word, their ids ascending and the word's
        weighted hits in each, every chunk's length), or None where FTS5 should score the word
        (lock held)."""
        from deepresearch_local.library.common_postings import CommonPostings

        form = self.form(term)
        now = self._generation()
        if form is None or now is None:
            return None
        kept = self.store.companion(CommonPostings).postings(form)
        if kept is not None:
            return now, len(kept[0]), kept[0], kept[1], self._lengths(now)
        counted = self.counts(term)
        if counted is None or counted[1] > INSTANCE_RATIO * counted[0]:
            return None
        found = self.hits(form)
        if found is None:
            return None
        ids, freq = weighted(*found, now.weights)
        return now, counted[0], ids, freq, self._lengths(now)

    def hits(self, form: str) -> tuple[Ids, Ints] | None:
        """Every hit of the indexed word ``form``: its chunk's id and its column's number, in
        FTS5's order (None where a column cannot be told; lock held)."""
        now = self._generation()
        if now is None:
            return None
        return read_hits(self.store.db, "temp.chunk_hits", form, now.columns)

    def load_lengths(self) -> None:
        """Read every chunk's length now (the first word scored from postings would)."""
        with self.store.lock:
            now = self._generation()
            if now is not None:
                self._lengths(now)

    def definition(self) -> tuple[list[str], str, list[float]] | None:
        """The index's columns, tokenizer clause and each column's BM25 weight, as it is now
        (None where this SQLite or this index does not allow reading postings)."""
        with self.store.lock:
            now = self._generation()
            return None if now is None else (list(now.columns), now.tokenize, list(now.weights))

    def chunks_holding(self, term: str) -> int | None:
        """How many chunks hold the word (from the kept postings of a common word, else FTS5's
        vocabulary), or None for a phrase (or where unavailable)."""
        from deepresearch_local.library.common_postings import CommonPostings

        form = self.form(term)
        if form is None:
            return None
        kept = self.store.companion(CommonPostings).docs(form)
        if kept is not None:
            return kept
        counted = self.counts(term)
        return None if counted is None else counted[0]


def read_hits(
    db: sqlite3.Connection, table: str, form: str, columns: Sequence[str]
) -> tuple[Ids, Ints] | None:
    """The hits of ``form`` in an ``fts5vocab`` instance table over an index of ``columns``: each
    hit's chunk id and column number, in FTS5's order (None where a column cannot be told)."""
    import numpy as np

    # the body first: most hits are there, and the CASE stops at the first match
    order = sorted(range(len(columns)), key=lambda i: columns[i] != BODY)
    codes = " ".join(f"WHEN {_quote(columns[i])} THEN {i}" for i in order)
    ids, numbers = db.execute(
        f"SELECT group_concat(doc), group_concat(CASE col {codes} ELSE 0 END, '') "
        f"FROM {table} WHERE term = ?",
        (form,),
    ).fetchone()
    hits = np.fromstring(str(ids), dtype=np.int64, sep=",") if ids else np.zeros(0, dtype=np.int64)
    found = np.frombuffer(str(numbers or "").encode("ascii"), dtype=np.uint8) - ord("0")
    if len(found) != len(hits) or bool(np.any(found >= len(columns))) or len(columns) > 10:
        return None
    return hits, found.astype(np.int64)


def weighted(hits: Ids, columns: Ints, weights: Sequence[float]) -> tuple[Ids, Floats]:
    """(chunk ids ascending, the sum of the hits' column weights in each), summed hit by hit in
    FTS5's order, as ``bm25()`` adds them."""
    import numpy as np

    if len(hits) == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float64)
    weight = np.array(weights, dtype=np.float64)[columns]
    if len(hits) > 1 and bool(np.any(hits[1:] < hits[:-1])):  # FTS5 lists them by chunk
        order = np.argsort(hits, kind="stable")
        hits, weight = hits[order], weight[order]
    new = np.concatenate(([True], hits[1:] != hits[:-1]))
    ids = hits[new]
    freq = np.bincount(np.cumsum(new) - 1, weights=weight, minlength=len(ids))  # hit by hit
    return ids, np.asarray(freq, dtype=np.float64)


def _quote(name: str) -> str:
    return "'" + name.replace("'", "''") + "'"
