"""BM25 top chunks for an OR of terms, with the scores of common terms kept between queries.

FTS5's ``bm25()`` scores a chunk as a sum over the query's phrases, each part depending only on
that phrase (its chunk count, the chunk's weighted hits and length, the library's average
length). So the ranking FTS5 would give for ``"a" OR "b" OR "c"`` is the sum of the rankings of
``"a"``, ``"b"`` and ``"c"`` taken alone, added in the same order (the same floating-point
sums). Scoring is what costs: a query pays for every chunk holding any of its terms, and a common
word holds tens of thousands. Scored alone, a common word's scores are the same in every query
until the library changes, so they are kept (``TermScores``) and a query scores only its rarer
words afresh. A word scored alone is read from FTS5's postings and scored in numpy where that is
cheaper (``postings``: the same doubles as ``bm25()``).

A common word seen for the first time need not be scored everywhere either (``top_chunks``, the
"max-score" idea of search engines): a term's part of a chunk's score is always below
``idf * (k1 + 1)``, so once the rarer terms alone give ``limit`` chunks whose scores beat the sum
of the remaining terms' bounds, no chunk that holds none of the rarer terms can enter the top.
The remaining terms are then scored only where they meet the rarer ones, by one FTS5 query
``(rarer ...) AND (common ...)``. Sums run over the terms rarest first (FTS5 adds its phrases in
the order the query names them), so both ways give the same scores, bit for bit.
"""

from __future__ import annotations

import itertools
import math
import threading
from collections import OrderedDict
from collections.abc import Sequence
from typing import TYPE_CHECKING

from deepresearch_local.library.postings import IDF_FLOOR, K1, Vocabulary, idf, varints
from deepresearch_local.library.query import quote, to_match
from deepresearch_local.library.store import Store

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    Ids = npt.NDArray[np.int64]
    Scores = npt.NDArray[np.float64]

KEEP_FROM = 1000
"""A term in at least this many chunks has its scores kept between queries."""
BOUND_MARGIN = 1e-6
"""Relative slack on the bounds (their sums are rounded like any other)."""
DENSE_SPAN = 8
DENSE_SLACK = 65536
"""Scores are summed in an array indexed by chunk id while the largest id is at most
``DENSE_SPAN`` times the entries plus ``DENSE_SLACK``; past it (ids spread by much re-indexing)
by sorting the ids. Both add each chunk's parts in the same order."""
SKIP_RATIO = 4
"""Common terms are left unscored only when they hold at least this many times as many chunks as
the rarer terms found: the AND query scores those chunks with every term, each time (a skipped
term is not kept), so a skip pays where a common word's postings dwarf the rarer words' chunks."""
KEEP_ENTRIES = 3_000_000
"""At most this many (chunk, score) pairs are kept in all (about 50 MB); the least recently used
term goes first."""


class TermScores:
    """Each term's BM25 part per chunk (ids ascending, scores), common terms remembered until the
    index changes (``Store.index_generation``: storing vectors leaves them)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._kept: OrderedDict[str, tuple[Ids, Scores]] = OrderedDict()
        self._entries = 0
        self._at: tuple[int, bytes] = (-1, b"")
        self._rows = -1
        self._lock = threading.Lock()
        self.skipped = 0
        """Common terms left unscored by the bound test so far (see ``top_chunks``)."""

    def _now(self) -> tuple[int, bytes]:
        """The index's generation; what was kept for an older one is dropped (lock held)."""
        now = self.store.index_generation()
        if now != self._at:
            self._kept.clear()
            self._entries = 0
            self._rows = -1
            self._at = now
        return now

    def is_kept(self, term: str) -> bool:
        """Whether the term's scores are at hand (``term`` would cost no scoring)."""
        with self._lock:
            self._now()
            return term in self._kept

    def rows(self) -> int:
        """Chunks in the index as FTS5 counts them for BM25 (its "averages" record)."""
        with self._lock:
            now = self._now()
            if self._rows < 0:  # the averages record: the row count, then the token totals
                totals = varints(now[1])
                self._rows = totals[0] if totals else 0
            return self._rows

    def term(self, term: str) -> tuple[Ids, Scores]:
        """(chunk ids ascending, the term's BM25 part in each, higher is better)."""
        with self._lock:
            now = self._now()
            kept = self._kept.get(term)
            if kept is not None:
                self._kept.move_to_end(term)
                return kept
        ids, scores = _alone(self.store, term)
        if len(ids) >= KEEP_FROM:
            with self._lock:
                if self._at == now and term not in self._kept:
                    self._kept[term] = (ids, scores)
                    self._entries += len(ids)
                    while self._entries > KEEP_ENTRIES and len(self._kept) > 1:
                        _, (gone, _) = self._kept.popitem(last=False)
                        self._entries -= len(gone)
        return ids, scores


def _scored(store: Store, match: str) -> tuple[Ids, Scores]:
    """(chunk ids ascending, BM25 score) of every chunk matching an FTS5 expression."""
    import numpy as np

    with store.lock:
        cursor = store.db.cursor()
        cursor.row_factory = None
        sql = "SELECT rowid, rank FROM chunks_fts WHERE chunks_fts MATCH ?"
        rows = cursor.execute(sql, (match,)).fetchall()
    flat = np.fromiter(itertools.chain.from_iterable(rows), dtype=np.float64, count=2 * len(rows))
    ids = flat[0::2].astype(np.int64)  # chunk ids are far below 2**53: exact as floats
    return ids, -flat[1::2]  # rank is minus the score: exact


def _alone(store: Store, term: str) -> tuple[Ids, Scores]:
    """(chunk ids ascending, BM25 score) of the chunks holding one term, scored alone: from its
    postings where that is cheaper (a word, see ``postings``), else by FTS5."""
    found = store.companion(Vocabulary).scores(term)
    return found if found is not None else _scored(store, quote(term))


def bound(rows: int, hits: int) -> float:
    """More than a term in ``hits`` of ``rows`` chunks can add to any chunk's score (FTS5's idf,
    times ``K1 + 1``, the limit of the term-frequency part)."""
    most = max(idf(rows, hits), IDF_FLOOR) if rows > 0 else IDF_FLOOR
    return most * (K1 + 1.0) * (1.0 + BOUND_MARGIN)


def _summed(parts: Sequence[tuple[Ids, Scores]]) -> tuple[Ids, Scores]:
    """Chunk ids ascending and their summed scores, added in the order of ``parts``."""
    import numpy as np

    if len(parts) == 1:
        return parts[0]
    ids = np.concatenate([p[0] for p in parts])
    values = np.concatenate([p[1] for p in parts])
    span = int(ids.max()) + 1
    if span <= DENSE_SPAN * len(ids) + DENSE_SLACK:  # ids packed closely: sum by id, no sort
        chunks = np.flatnonzero(np.bincount(ids, minlength=span))
        summed = np.bincount(ids, weights=values, minlength=span)[chunks]  # added in part order
        return chunks.astype(np.int64), np.asarray(summed, dtype=np.float64)
    chunks, where = np.unique(ids, return_inverse=True)
    summed = np.bincount(where, weights=values, minlength=len(chunks))  # added in part order
    return chunks, np.asarray(summed, dtype=np.float64)


def _best(chunks: Ids, totals: Scores, limit: int) -> list[tuple[int, float]]:
    """The best ``limit`` (score descending, ties by chunk id)."""
    import numpy as np

    if len(chunks) > limit:
        cut = np.partition(totals, len(totals) - limit)[len(totals) - limit]
        keep = np.flatnonzero(totals >= cut)
        chunks, totals = chunks[keep], totals[keep]
    order = np.lexsort((chunks, -totals))[:limit]
    return list(zip(chunks[order].tolist(), totals[order].tolist(), strict=True))


def _threshold(totals: Scores, limit: int) -> float:
    """The ``limit``-th best score (minus infinity when there are fewer)."""
    import numpy as np

    if len(totals) < limit:
        return -math.inf
    return float(np.partition(totals, len(totals) - limit)[len(totals) - limit])


def rarest_first(scores: TermScores, terms: Sequence[str]) -> list[str]:
    """The terms ordered by how many chunks hold them, fewest first (ties keep their order)."""
    counts = {t: scores.store.frequency(t) for t in terms}
    return sorted(dict.fromkeys(terms), key=lambda t: counts[t])


def top_chunks(scores: TermScores, terms: Sequence[str], limit: int) -> list[tuple[int, float]]:
    """The best ``limit`` chunks for the terms OR-ed, as FTS5's ``ORDER BY rank`` orders them
    with the terms named rarest first (score descending, ties by chunk id), with their scores.

    Terms are scored rarest first; before a common term not kept is scored in full, the bound
    test of the module's docstring may settle the top without it (``scores.skipped`` counts
    such terms)."""
    import numpy as np

    if limit <= 0:
        return []
    ordered = rarest_first(scores, terms)
    if not ordered:
        return []
    rows = scores.rows()
    bounds = [bound(rows, scores.store.frequency(t)) for t in ordered]
    parts: list[tuple[Ids, Scores]] = []
    for at, term in enumerate(ordered):
        costly = scores.store.frequency(term) >= KEEP_FROM and not scores.is_kept(term)
        live = [p for p in parts if len(p[0])]
        if costly and live:
            chunks, totals = _summed(live)
            unscored = sum(scores.store.frequency(t) for t in ordered[at:] if not scores.is_kept(t))
            worth = unscored >= SKIP_RATIO * len(chunks)
            if worth and _threshold(totals, limit) > sum(bounds[at:]):
                rest = to_match(ordered[at:])
                both = f"({to_match(ordered[:at])}) AND ({rest})"
                full_ids, full = _scored(scores.store, both)
                if len(full_ids):  # the chunks holding both: their whole sums
                    totals = totals.copy()
                    totals[np.searchsorted(chunks, full_ids)] = full
                scores.skipped += len(ordered) - at
                return _best(chunks, totals, limit)
        parts.append(scores.term(term))
    live = [p for p in parts if len(p[0])]
    if not live:
        return []
    chunks, totals = _summed(live)
    return _best(chunks, totals, limit)
