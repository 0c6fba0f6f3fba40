"""BM25 top chunks for an OR of terms, with the scores of common terms kept between queries.

FTS5's ``bm25()`` scores a chunk as a sum over the query's phrases, each part depending only on
that phrase (its chunk count, the chunk's weighted hits and length, the library's average
length). So the ranking FTS5 would give for ``"a" OR "b" OR "c"`` is the sum of the rankings of
``"a"``, ``"b"`` and ``"c"`` taken alone, added in the same order (the same floating-point
sums). Scoring is what costs: a query pays for every chunk holding any of its terms, and a common
word holds tens of thousands. Scored alone, a common word's scores are the same in every query
until the library changes, so they are kept (``TermScores``) and a query scores only its rarer
words afresh.
"""

from __future__ import annotations

import itertools
import threading
from collections import OrderedDict
from collections.abc import Sequence
from typing import TYPE_CHECKING

from deepresearch_local.library.query import quote
from deepresearch_local.library.store import Store

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    Ids = npt.NDArray[np.int64]
    Scores = npt.NDArray[np.float64]

KEEP_FROM = 1000
"""A term in at least this many chunks has its scores kept between queries."""
KEEP_ENTRIES = 3_000_000
"""At most this many (chunk, score) pairs are kept in all (about 50 MB); the least recently used
term goes first."""


class TermScores:
    """Each term's BM25 part per chunk (ids ascending, scores), common terms remembered until the
    database changes."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._kept: OrderedDict[str, tuple[Ids, Scores]] = OrderedDict()
        self._entries = 0
        self._at: tuple[int, int] = (-1, -1)
        self._lock = threading.Lock()

    def term(self, term: str) -> tuple[Ids, Scores]:
        """(chunk ids ascending, the term's BM25 part in each, higher is better)."""
        import numpy as np

        with self._lock:
            now = self.store.generation()
            if now != self._at:
                self._kept.clear()
                self._entries = 0
                self._at = now
            kept = self._kept.get(term)
            if kept is not None:
                self._kept.move_to_end(term)
                return kept
        with self.store.lock:
            cursor = self.store.db.cursor()
            cursor.row_factory = None
            rows = cursor.execute(
                "SELECT rowid, rank FROM chunks_fts WHERE chunks_fts MATCH ?", (quote(term),)
            ).fetchall()
        flat = np.fromiter(itertools.chain.from_iterable(rows), dtype=np.float64, count=2 * len(rows))
        ids = flat[0::2].astype(np.int64)  # chunk ids are far below 2**53: exact as floats
        scores = -flat[1::2]  # rank is minus the score: exact
        if len(rows) >= KEEP_FROM:
            with self._lock:
                if self._at == now and term not in self._kept:
                    self._kept[term] = (ids, scores)
                    self._entries += len(rows)
                    while self._entries > KEEP_ENTRIES and len(self._kept) > 1:
                        _, (gone, _) = self._kept.popitem(last=False)
                        self._entries -= len(gone)
        return ids, scores


def top_chunks(scores: TermScores, terms: Sequence[str], limit: int) -> list[tuple[int, float]]:
    """The best ``limit`` chunks for the terms OR-ed, as FTS5's ``ORDER BY rank`` orders them
    (score descending, ties by chunk id), with their scores."""
    import numpy as np

    parts = [scores.term(t) for t in terms]
    parts = [p for p in parts if len(p[0])]
    if not parts or limit <= 0:
        return []
    if len(parts) == 1:
        chunks, totals = parts[0]
    else:
        ids = np.concatenate([p[0] for p in parts])
        values = np.concatenate([p[1] for p in parts])
        chunks, where = np.unique(ids, return_inverse=True)
        summed = np.bincount(where, weights=values, minlength=len(chunks))  # added in term order
        totals = np.asarray(summed, dtype=np.float64)
    if len(chunks) > limit:
        cut = np.partition(totals, len(totals) - limit)[len(totals) - limit]
        keep = np.flatnonzero(totals >= cut)
        chunks, totals = chunks[keep], totals[keep]
    order = np.lexsort((chunks, -totals))[:limit]
    return list(zip(chunks[order].tolist(), totals[order].tolist(), strict=True))
