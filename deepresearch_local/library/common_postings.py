"""The postings of the library's most common words, kept in the database between runs.

A query's first sight of a word held by thousands of chunks reads every hit of it from FTS5
(``postings``: about 0.3 µs a hit, 5-25 ms for a common word of a 100k-chunk library), in every
process that searches. So after an index run the words held by at least ``MIN_CHUNKS`` chunks are
read once and kept in ``common_postings``: each word's chunk ids and its weighted hits in each
(what ``bm25()`` adds up), compressed (about 1.3 bytes a chunk). A query then reads one row and
scores it as ``postings`` does, to the same doubles. The indexed forms of the words queries drop
as too common (``query.STOPWORDS``: "the", "of", "which") are not kept: no query looks them up,
and they hold about half of all the hits (see ``skipped_forms``).

The rows hold for one state of the index (``common_postings_state``: what they were read from);
queries use them only while it is the index's state, and read FTS5 otherwise. Triggers on
``chunks`` log every chunk that enters or leaves the index, so the next run brings the rows up
to date from the log alone: the logged chunks leave every word's list, and those still indexed
are tokenised again in a scratch FTS5 table with the index's own tokenizer and join again. When
the log holds more than ``REREAD_SHARE`` of the library (a first index, a large change), or the
index was defined anew (tokenizer, columns, weights, a migration), every word is read again.
"""

from __future__ import annotations

import hashlib
import sqlite3
import threading
import time
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from deepresearch_local.library.model import Progress, ProgressCallback
from deepresearch_local.library.postings import Vocabulary, read_hits, varints, weighted
from deepresearch_local.library.store import Store

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    Ids = npt.NDArray[np.int64]
    Floats = npt.NDArray[np.float64]

MIN_CHUNKS = 1000
"""Words held by at least this many chunks are kept (a word in fewer is read from FTS5 in about a
millisecond). A kept word stays until it falls under half of it."""
REREAD_SHARE = 0.2
"""Past this share of the library's chunks in the log, every word is read again (cheaper than
tokenising that many chunks a second time)."""
OPEN_CLASS = frozenset(
    {"get", "got", "use", "using", "used", "way", "want", "need", "tell", "show", "find", "own"}
)
"""Words queries drop whose indexed form other words share that queries keep ("needs" and
"needed" are indexed as "need", "owns" as "own"): their forms stay kept."""
PROGRESS_EVERY = 0.25
"""Seconds between progress reports while words are read."""
LABEL = "common words"
"""What progress reports name (``Progress.rel``) while the kept postings are prepared."""


@dataclass(frozen=True)
class Refreshed:
    """What bringing the kept postings up to date did."""

    how: str
    """"current", "updated" (from the log), "read" (every word read again), "stopped",
    "index changed" (a writer came in between: left for the next run), "unavailable" (this
    SQLite cannot read postings) or "failed (why)" (a database error: the next run tries again)."""
    words: int = 0
    """Words kept afterwards."""
    seconds: float = 0.0


def _encode(ids: Ids, freq: Floats) -> tuple[bytes, bytes]:
    """Chunk ids as compressed gaps (4 bytes each before compression, 8 past 2**32) and the
    weighted hits as compressed float32 where that holds them exactly, float64 otherwise."""
    import numpy as np

    gaps = np.diff(ids, prepend=0)
    packed = gaps.astype("<u4") if len(ids) and int(ids[-1]) < 2**32 else gaps.astype("<i8")
    narrow = freq.astype("<f4")
    values = narrow if bool(np.all(narrow.astype(np.float64) == freq)) else freq.astype("<f8")
    return zlib.compress(packed.tobytes(), 1), zlib.compress(values.tobytes(), 1)


def _decode(docs: int, ids_blob: bytes, freq_blob: bytes) -> tuple[Ids, Floats] | None:
    """The arrays ``_encode`` packed, or None when the blobs do not hold ``docs`` of each."""
    import numpy as np

    try:
        gaps, values = zlib.decompress(ids_blob), zlib.decompress(freq_blob)
    except zlib.error:
        return None
    width = {4 * docs: "<u4", 8 * docs: "<i8"}.get(len(gaps)) if docs else "<u4"
    kind = {4 * docs: "<f4", 8 * docs: "<f8"}.get(len(values)) if docs else "<f4"
    if width is None or kind is None:
        return None
    ids = np.cumsum(np.frombuffer(gaps, dtype=width).astype(np.int64))
    return ids, np.frombuffer(values, dtype=kind).astype(np.float64)


def _base(store: Store, columns: Sequence[str], tokenize: str, weights: Sequence[float]) -> str:
    """What the kept postings depend on besides the index's content: its definition, weights
    and schema version."""
    migrations = store.db.execute("SELECT COUNT(*) FROM schema_migrations").fetchone()[0]
    text = f"{list(columns)}|{tokenize}|{list(weights)}|{migrations}"
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def _state(generation: tuple[int, bytes]) -> str:
    """The index's content as the kept postings record it (its write counter and totals)."""
    counter, totals = generation
    return f"{counter}:{hashlib.sha256(totals).hexdigest()[:32]}"


def skipped_forms(vocabulary: Vocabulary) -> frozenset[str]:
    """The indexed forms ("the", "wa" for "was") that only words a query drops as common make
    (``query.STOPWORDS`` less ``OPEN_CLASS``): never looked up, so never kept. A query made
    only of such words still finds them (in FTS5)."""
    from deepresearch_local.library.query import STOPWORDS

    def forms(words: frozenset[str]) -> set[str]:
        return {form for form in map(vocabulary.form, words) if form is not None}

    return frozenset(forms(STOPWORDS - OPEN_CLASS) - forms(OPEN_CLASS))


class CommonPostings:
    """The kept postings, while they hold for the index as it is (a ``Store`` companion)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._at: tuple[int, bytes] | None = None
        self._docs: dict[str, int] = {}
        """Each kept word's chunk count, while the kept postings hold (empty otherwise)."""
        self._refreshing = threading.Lock()

    def _current(self) -> dict[str, int]:
        """The kept words and their chunk counts if the rows hold for the index now, else {}
        (read again only after the index changed; lock held)."""
        now = self.store.index_generation()
        if now == self._at:
            return self._docs
        self._at, self._docs = now, {}
        definition = self.store.companion(Vocabulary).definition()
        try:
            found = self.store.db.execute("SELECT base, state FROM common_postings_state").fetchone()
        except sqlite3.Error:  # a library the migrations have not reached (read-only, say)
            return self._docs
        if found is None or definition is None:
            return self._docs
        if (str(found[0]), str(found[1])) != (_base(self.store, *definition), _state(now)):
            return self._docs
        rows = self.store.db.execute("SELECT term, docs FROM common_postings").fetchall()
        self._docs = {str(r[0]): int(r[1]) for r in rows}
        return self._docs

    def load(self) -> None:
        """Read which words are kept now (the first search that meets a word would)."""
        with self.store.lock:
            self._current()

    def docs(self, form: str) -> int | None:
        """Chunks holding the indexed word ``form``, if its postings are kept and hold."""
        with self.store.lock:
            return self._current().get(form)

    def postings(self, form: str) -> tuple[Ids, Floats] | None:
        """(chunk ids ascending, the word's weighted hits in each) of a kept word, or None."""
        with self.store.lock:
            docs = self._current().get(form)
            if docs is None:
                return None
            row = self.store.db.execute(
                "SELECT ids, freq FROM common_postings WHERE term = ?", (form,)
            ).fetchone()
        if row is None:
            return None
        return _decode(docs, bytes(row[0]), bytes(row[1]))

    # ------------------------------------------------------------------ keeping them current

    def refresh(
        self, on_progress: ProgressCallback | None = None, should_stop: Callable[[], bool] | None = None
    ) -> Refreshed:
        """Bring the kept postings up to date with the index (see the module)."""
        started = time.perf_counter()
        with self._refreshing:
            try:
                how, words = self._refresh(on_progress, should_stop)
            except sqlite3.Error as exc:  # a full disk, say: the index is whole, search reads FTS5
                self._at = None
                how, words = f"failed ({exc})", 0
        return Refreshed(how, words, round(time.perf_counter() - started, 3))

    def _refresh(
        self, on_progress: ProgressCallback | None, should_stop: Callable[[], bool] | None
    ) -> tuple[str, int]:
        store = self.store
        vocabulary = store.companion(Vocabulary)
        with store.lock:
            definition = vocabulary.definition()
            if definition is None:
                return "unavailable", 0
            now = store.index_generation()
            base, state = _base(store, *definition), _state(now)
            found = store.db.execute("SELECT base, state FROM common_postings_state").fetchone()
            logged = int(store.db.execute("SELECT COUNT(*) FROM common_postings_log").fetchone()[0])
            kept = int(store.db.execute("SELECT COUNT(*) FROM common_postings").fetchone()[0])
            if found is not None and (str(found[0]), str(found[1])) == (base, state) and not logged:
                return "current", kept
            totals = varints(now[1])
            rows = totals[0] if totals else 0
        if found is not None and str(found[0]) == base and logged <= REREAD_SHARE * max(rows, 1):
            return self._update(definition, base)
        return self._read_all(definition, base, on_progress, should_stop)

    def _read_all(
        self,
        definition: tuple[list[str], str, list[float]],
        base: str,
        on_progress: ProgressCallback | None,
        should_stop: Callable[[], bool] | None,
    ) -> tuple[str, int]:
        """Every word held by ``MIN_CHUNKS`` chunks read from FTS5, the store's lock taken word
        by word (searches go on meanwhile); kept only if no writer came in between."""
        store = self.store
        vocabulary = store.companion(Vocabulary)
        weights = definition[2]
        skipped = skipped_forms(vocabulary)
        with store.lock:
            start = store.index_generation()
            words = [
                str(r[0])
                for r in store.db.execute(
                    "SELECT term FROM temp.chunk_words WHERE doc >= ? ORDER BY doc DESC", (MIN_CHUNKS,)
                )
                if str(r[0]) not in skipped
            ]
        packed: list[tuple[str, int, bytes, bytes]] = []
        reported = time.monotonic()
        for done, word in enumerate(words, start=1):
            if should_stop is not None and should_stop():
                return "stopped", 0
            with store.lock:
                if store.index_generation() != start:
                    return "index changed", 0
                hits = vocabulary.hits(word)
            if hits is None:
                continue
            ids, freq = weighted(*hits, weights)
            packed.append((word, len(ids), *_encode(ids, freq)))
            if on_progress is not None and (
                done == len(words) or time.monotonic() - reported >= PROGRESS_EVERY
            ):
                reported = time.monotonic()
                on_progress(Progress(done, len(words), LABEL, "preparing"))
        with store.transaction() as db:
            if store.index_generation() != start:
                return "index changed", 0
            db.execute("DELETE FROM common_postings")
            db.executemany("INSERT INTO common_postings (term, docs, ids, freq) VALUES (?, ?, ?, ?)", packed)
            self._settled(db, base, start)
        return "read", len(packed)

    def _update(self, definition: tuple[list[str], str, list[float]], base: str) -> tuple[str, int]:
        """The logged chunks taken out of every kept word and those still indexed added back,
        tokenised again in a scratch FTS5 table (one transaction: the store's lock is held)."""
        import numpy as np

        columns, tokenize, weights = definition
        store = self.store
        with store.transaction() as db:
            logged = np.array(
                [int(r[0]) for r in db.execute("SELECT chunk_id FROM common_postings_log")], dtype=np.int64
            )
            names = ", ".join(f'"{c}"' for c in columns)
            for name, using in (
                ("kept_scratch", f"fts5({names}, tokenize = {tokenize})"),
                ("kept_scratch_hits", "fts5vocab(temp, kept_scratch, instance)"),
            ):
                db.execute(f"CREATE VIRTUAL TABLE IF NOT EXISTS temp.{name} USING {using}")
            db.execute("DELETE FROM temp.kept_scratch")
            for at in range(0, len(logged), 500):
                part = logged[at : at + 500].tolist()
                db.execute(
                    f"INSERT INTO temp.kept_scratch (rowid, {names}) SELECT rowid, {names} FROM chunks_fts "
                    f"WHERE rowid IN ({','.join('?' * len(part))})",
                    part,
                )
            changed: list[tuple[str, int, bytes, bytes]] = []
            gone: list[str] = []
            kept = (
                db.execute("SELECT term, docs, ids, freq FROM common_postings").fetchall()
                if len(logged)
                else []
            )
            for term, docs, ids_blob, freq_blob in kept:  # nothing logged (a counter bumped): nothing to redo
                decoded = _decode(int(docs), bytes(ids_blob), bytes(freq_blob))
                if decoded is None:
                    gone.append(str(term))
                    continue
                ids, freq = decoded
                stay = ~np.isin(ids, logged)
                hits = read_hits(db, "temp.kept_scratch_hits", str(term), columns)
                added = weighted(*hits, weights) if hits is not None and len(hits[0]) else None
                if bool(np.all(stay)) and added is None:
                    continue
                ids, freq = ids[stay], freq[stay]
                if added is not None:
                    ids, freq = np.concatenate((ids, added[0])), np.concatenate((freq, added[1]))
                    order = np.argsort(ids, kind="stable")
                    ids, freq = ids[order], freq[order]
                if len(ids) < MIN_CHUNKS // 2:
                    gone.append(str(term))
                else:
                    changed.append((str(term), len(ids), *_encode(ids, freq)))
            db.executemany("DELETE FROM common_postings WHERE term = ?", [(t,) for t in gone])
            db.executemany(
                "UPDATE common_postings SET docs = ?, ids = ?, freq = ? WHERE term = ?",
                [(d, i, f, t) for t, d, i, f in changed],
            )
            db.execute("DELETE FROM temp.kept_scratch")
            self._settled(db, base, store.index_generation())
            words = int(db.execute("SELECT COUNT(*) FROM common_postings").fetchone()[0])
        return "updated", words

    def _settled(self, db: sqlite3.Connection, base: str, generation: tuple[int, bytes]) -> None:
        """Record that the kept postings hold for ``generation`` and empty the log (inside the
        writer's transaction)."""
        db.execute("DELETE FROM common_postings_log")
        db.execute(
            "INSERT INTO common_postings_state (id, base, state) VALUES (1, ?, ?) "
            "ON CONFLICT(id) DO UPDATE SET base = excluded.base, state = excluded.state",
            (base, _state(generation)),
        )
        self._at = None  # read again at the next query
