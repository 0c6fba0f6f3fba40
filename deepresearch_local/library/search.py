"""Library search: several queries, two retrievers, one list of distinct files.

Each query is run through BM25 (the FTS5 index; searching by keywords alone, chunks holding two of
the query's words side by side gain a little, see ``PAIR_WEIGHT``) and, when the library has
vectors from an embedding model, through a dense nearest-neighbour search, twice: with the query's
own vector and with that vector pulled toward BM25's first files (``feedback``), the second ranked
among the first's nearest chunks (one pass over the vectors serves all of a search's queries).
Every such ranked list of chunks is turned into scores of *files* (a file scores by its best
chunks; in hybrid search, less what its size alone lends it, see ``SIZE_CORRECTION``), scaled to 1
for the list's first file down to 0 for its 50th, and the files' weighted sums rank them. A result
is one file with its best passage (the chunk that ranked highest across the lists) and the other
places in the file that ranked well ("also at"). A file whose matched words mostly repeat a better
result's passage is named under that result instead of taking a place of its own (``copies``).

Why files, not chunks: a person (or the model) looking for the page that answers a question wants
five different candidate pages, not five pieces of one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Literal, Protocol, TypeAlias

from deepresearch_local.library.bm25 import TermScores, top_chunks
from deepresearch_local.library.copies import copy_of, matched_shingles, shingles
from deepresearch_local.library.feedback import feedback_query
from deepresearch_local.library.fusion import FusedFile, Ranking, fuse_files
from deepresearch_local.library.model import Hit, Location
from deepresearch_local.library.owners import owners
from deepresearch_local.library.query import adjacent_pairs, prune_common, query_terms, tokens
from deepresearch_local.library.store import Store
from deepresearch_local.library.vectors import VectorIndex

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    VectorLike: TypeAlias = Sequence[float] | npt.NDArray[np.floating[Any]]
    MatrixLike: TypeAlias = Sequence[Sequence[float]] | npt.NDArray[np.floating[Any]]

Mode = Literal["bm25", "hybrid"]

CANDIDATES = 500
"""Chunks each retriever returns per query before they are grouped into files (the dev set: 100
candidates 0.57, 500 0.60, 1000 0.62 recall@5 with BM25; more costs query time)."""
ALSO_AT = 3
SNIPPET_WORDS = 40
COPY_LOOKAHEAD = 5
"""Files looked at past the ``k`` shown, to fill the places of results that repeat a better one
(see ``copies``). When copies still leave fewer than ``k`` results (eight versions of one API
description share their best passage), twice as many are looked at, up to ``MAX_LOOKAHEAD``."""
MAX_LOOKAHEAD = 200
FEEDBACK_AMONG = 2000
"""The feedback vector (the query moved 0.3 toward a centre, see ``feedback``) is ranked among the
query's own 2,000 nearest chunks rather than all of them, which saves a second pass over every
vector (8 of the 26 ms of a hybrid query at 100k chunks). Over the seven question sets, 1,000 and
3,000 gave the same recall@5 as ranking all chunks."""
DENSE_WEIGHT = 1.5
"""How much a dense ranking (the plain one, and the feedback one) counts against a BM25 ranking in
the fusion (dev set, MiniLM, before feedback: dense alone 0.77 recall@5 against BM25's 0.60;
weights 1, 1.5 and 2 gave 0.79, 0.79 and 0.80 with reciprocal ranks; with scaled scores over the
five sets, 1, 1.5 and 2 gave 0.789, 0.814 and 0.806)."""


PAIR_WEIGHT = 0.5
"""How much of a phrase's BM25 score a chunk gains for holding two of the query's words side by
side (``query.adjacent_pairs``), on top of the words' own scores: the sequential dependence idea
of term-proximity ranking. Keyword search alone only: measured with ``bench library --qa`` over
the seven question sets (316 questions without the development set), BM25's recall@5 went from
0.598 to 0.630 (weights 0.25 and 0.75: 0.617 and 0.627), while in hybrid search, where the dense
rankings already reward a passage that says what the question says, it went from 0.820 to 0.810
(and 0.816-0.823 at the other weights): no gain there, so hybrid leaves it out."""


class QueryEmbedder(Protocol):
    """What search needs from an embedding model."""

    @property
    def id(self) -> str:
        """Names the model the library's vectors came from (vectors of another model are not used)."""
        ...

    def embed_query(self, text: str) -> VectorLike: ...


class DocumentEmbedder(QueryEmbedder, Protocol):
    """What embedding the library's chunks needs."""

    def embed_documents(self, texts: Sequence[str]) -> MatrixLike: ...


def _term_scores(store: Store) -> TermScores:
    return store.companion(TermScores)


def _bm25(
    store: Store,
    text: str,
    limit: int,
    folder_id: int | None,
    budget: int,
    file_of: dict[int, int],
    pairs: bool = False,
) -> list[tuple[int, float]]:
    """(chunk id, BM25 score, higher is better) of the best ``limit`` chunks; records each
    chunk's file in ``file_of``. In a folder, the best ``10 * limit`` of the whole library are
    looked at. With ``pairs``, chunks holding two of the query's words side by side gain
    (``PAIR_WEIGHT``)."""
    terms = prune_common(query_terms(text), store.frequency, budget)
    fetch = limit if folder_id is None else limit * 10
    top = top_chunks(_term_scores(store), terms, fetch)
    files, folders = owners(store).of([chunk_id for chunk_id, _ in top])
    out: list[tuple[int, float]] = []
    for (chunk_id, score), file_id, folder in zip(top, files, folders, strict=True):
        if file_id < 0 or (folder_id is not None and folder != folder_id):
            continue
        file_of[chunk_id] = file_id
        out.append((chunk_id, score))
        if len(out) == limit:
            break
    if not pairs:
        return out
    kept = set(terms)  # a word too common to score alone is too common to pair
    return _with_pairs(store, [p for p in adjacent_pairs(text, kept) if p not in kept], out)


def _with_pairs(
    store: Store, pairs: Sequence[str], ranked: list[tuple[int, float]]
) -> list[tuple[int, float]]:
    """``ranked`` (BM25's chunks, best first) ordered again with ``PAIR_WEIGHT`` of each phrase's
    score added to the chunks that hold it (only chunks already ranked move: holding a phrase
    means holding its words)."""
    if not pairs or not ranked:
        return ranked
    bonus: dict[int, float] = {}
    place = {chunk_id for chunk_id, _ in ranked}
    for pair in pairs:  # scored one by one: a pair holding common words is kept between queries
        ids, scores = _term_scores(store).term(pair)
        for chunk_id, value in zip(ids.tolist(), scores.tolist(), strict=True):
            if chunk_id in place:
                bonus[chunk_id] = bonus.get(chunk_id, 0.0) + value
    if not bonus:
        return ranked
    scored = [(chunk_id, score + PAIR_WEIGHT * bonus.get(chunk_id, 0.0)) for chunk_id, score in ranked]
    return sorted(scored, key=lambda cs: -cs[1])


def _files_of(store: Store, chunk_ids: set[int]) -> dict[int, int]:
    """Chunk id -> its file, for the chunks that still exist."""
    ids = sorted(chunk_ids)
    files, _ = owners(store).of(ids)
    return {chunk_id: file_id for chunk_id, file_id in zip(ids, files, strict=True) if file_id >= 0}


def snippet(body: str, terms: Sequence[str], words: int = SNIPPET_WORDS) -> str:
    """The window of about ``words`` words of ``body`` that holds the most query terms (word
    forms are compared by their first five letters, a crude stem); the start when none occur."""
    import numpy as np

    parts = body.split()
    if len(parts) <= words:
        return " ".join(parts)
    marks = marked_words(parts, frozenset(t[:5] for term in terms for t in tokens(term)))
    counted = np.concatenate(([0], np.cumsum(marks)))
    best_at = int(np.argmax(counted[words:] - counted[:-words]))  # the first window holding the most
    hits = [i for i in range(best_at, best_at + words) if marks[i]]
    if hits:  # centre the window on the words it holds
        middle = (hits[0] + hits[-1]) // 2
        best_at = max(0, min(len(parts) - words, middle - words // 2))
    text = " ".join(parts[best_at : best_at + words])
    prefix = "…" if best_at else ""
    suffix = "…" if best_at + words < len(parts) else ""
    return f"{prefix}{text}{suffix}"


def marked_words(parts: list[str], wanted: frozenset[str]) -> npt.NDArray[np.int64]:
    """1 for each word of ``parts`` one of whose tokens starts with a wanted form (a token's first
    five letters, the whole token when shorter), else 0. Each form is looked for in the text as a
    whole (``str.find``), rather than each word looked at: few words of a passage match."""
    import numpy as np

    marks = np.zeros(len(parts), dtype=np.int64)
    low = " ".join(parts).lower()  # lower case never makes or takes a space: still one word per part
    end = len(low)
    for form in wanted:
        whole = len(form) < 5  # a short form is a whole token, a five-letter one begins a token
        word, counted = 0, 0  # the word at ``counted`` in ``low`` (spaces counted up to there)
        at = low.find(form)
        while at >= 0:
            starts_token = at == 0 or not low[at - 1].isalnum()
            after = at + len(form)
            if starts_token and not (whole and after < end and low[after].isalnum()):
                word += low.count(" ", counted, at)
                counted = at
                marks[word] = 1
            at = low.find(form, at + 1)
    return marks


def _location(row: dict[str, object]) -> Location:
    page = row["page"]
    if page is not None:
        return Location(page=int(str(page)))
    start, end = int(str(row["line_start"])), int(str(row["line_end"]))
    return Location(line_start=start, line_end=end, heading=str(row["heading"]))


def _chunk_rows(store: Store, chunk_ids: Sequence[int], into: dict[int, dict[str, object]]) -> None:
    """Each chunk's place (file, folder, page or lines and heading), for those that exist."""
    if not chunk_ids:
        return
    marks = ",".join("?" * len(chunk_ids))
    rows = store.query(
        f"""
        SELECT c.id, c.page, c.line_start, c.line_end, c.heading, f.path, f.title, fo.name AS folder
        FROM chunks c JOIN files f ON f.id = c.file_id JOIN folders fo ON fo.id = f.folder_id
        WHERE c.id IN ({marks})
        """,
        list(chunk_ids),
    )
    into.update((int(r["id"]), dict(r)) for r in rows)


def _chunk_bodies(store: Store, chunk_ids: Sequence[int], into: dict[int, str]) -> None:
    """The text of each chunk that exists."""
    if not chunk_ids:
        return
    marks = ",".join("?" * len(chunk_ids))
    rows = store.query(f"SELECT rowid, body FROM chunks_fts WHERE rowid IN ({marks})", list(chunk_ids))
    into.update((int(r[0]), str(r[1])) for r in rows)


def search(
    store: Store,
    vectors: VectorIndex,
    queries: Sequence[str],
    k: int,
    *,
    folder_id: int | None = None,
    embedder: QueryEmbedder | None = None,
    mode: Mode = "hybrid",
    match_budget: int = 20000,
    candidates: int = CANDIDATES,
) -> list[Hit]:
    """The best ``k`` files for the queries, best first (see the module's docstring)."""
    texts = [q for q in queries if q.strip()]
    rankings: list[Ranking] = []
    limit = max(candidates, 3 * k)
    file_of: dict[int, int] = {}
    dense = mode == "hybrid" and embedder is not None and vectors.count(embedder.id) > 0
    for text in texts:
        keywords = _bm25(store, text, limit, folder_id, match_budget, file_of, pairs=not dense)
        rankings.append(Ranking(keywords, 1.0))
    if dense and embedder is not None:
        query_vectors = [embedder.embed_query(text) for text in texts]
        near = vectors.shortlists(embedder.id, query_vectors, max(limit, FEEDBACK_AMONG), folder_id)
        for lexical, vector, shortlist in zip(list(rankings), query_vectors, near, strict=True):
            rankings.append(Ranking(shortlist.ranked()[:limit], DENSE_WEIGHT, shortlist.spread))
            pulled = feedback_query(vectors, embedder.id, vector, lexical.scored, file_of)
            if pulled is not None:
                rankings.append(Ranking(shortlist.nearest(pulled, limit), DENSE_WEIGHT, shortlist.spread))
    unknown = {chunk_id for ranking in rankings for chunk_id, _ in ranking.scored} - file_of.keys()
    file_of.update(_files_of(store, unknown))  # the dense hits' files
    sizes = None
    if dense:
        ranked_files = sorted(set(file_of.values()))
        sizes = dict(zip(ranked_files, owners(store).sizes(ranked_files), strict=True))
    fused = fuse_files(rankings, file_of, sizes=sizes)
    terms = [t for text in texts for t in query_terms(text)]
    looked = k + COPY_LOOKAHEAD
    read = _Read(terms)
    while True:
        hits = _distinct(store, fused[:looked], read, k)
        if len(hits) >= k or looked >= len(fused) or looked >= k + MAX_LOOKAHEAD:
            return hits
        looked = min(2 * looked, k + MAX_LOOKAHEAD)  # copies took places: look further


@dataclass
class _Read:
    """What one search has read of its results' chunks, so a wider look past copies reads only
    the files it adds."""

    terms: Sequence[str]
    rows: dict[int, dict[str, object]] = field(default_factory=dict)
    bodies: dict[int, str] = field(default_factory=dict)
    snippets: dict[int, str] = field(default_factory=dict)
    probes: dict[int, frozenset[int]] = field(default_factory=dict)
    runs: dict[str, frozenset[int]] = field(default_factory=dict)

    def read(self, store: Store, places: Sequence[int], passages: Sequence[int]) -> None:
        """Places (file, heading, lines) of ``places`` and the text of ``passages`` (the chunks
        shown), those not read before."""
        _chunk_rows(store, [c for c in places if c not in self.rows], self.rows)
        _chunk_bodies(store, [c for c in passages if c not in self.bodies], self.bodies)

    def snippet(self, chunk_id: int) -> str:
        found = self.snippets.get(chunk_id)
        if found is None:
            found = self.snippets[chunk_id] = snippet(self.bodies[chunk_id], self.terms)
        return found

    def probe(self, chunk_id: int) -> frozenset[int]:
        found = self.probes.get(chunk_id)
        if found is None:
            found = self.probes[chunk_id] = matched_shingles(self.snippet(chunk_id), self.terms)
        return found

    def whole(self, passage: str) -> frozenset[int]:
        found = self.runs.get(passage)
        if found is None:
            found = self.runs[passage] = shingles(passage)
        return found


def _distinct(store: Store, fused: Sequence[tuple[int, FusedFile]], read: _Read, k: int) -> list[Hit]:
    """Up to ``k`` results from the fused files, best first, each file whose passage repeats a
    better one's named under it (``also_in``) instead of taking a place."""
    best: list[tuple[float, list[int]]] = []
    for _, entry in fused:
        ordered = sorted(entry.chunks, key=lambda c: -entry.chunks[c])
        best.append((entry.score, ordered[: 1 + ALSO_AT]))
    read.read(store, [c for _, ids in best for c in ids], [ids[0] for _, ids in best if ids])
    rows = read.rows
    found = [(score, [c for c in ids if c in rows]) for score, ids in best]
    found = [(score, present) for score, present in found if present and present[0] in read.bodies]
    bodies = [read.bodies[present[0]] for _, present in found]
    copies = copy_of(bodies, [read.probe(present[0]) for _, present in found], read.whole)
    hits: list[Hit] = []
    at: dict[int, int] = {}  # position in ``found`` -> position in ``hits``
    for i, ((score, present), original) in enumerate(zip(found, copies, strict=True)):
        if original is not None:
            if original in at:
                first = hits[at[original]]
                hits[at[original]] = replace(first, also_in=(*first.also_in, str(rows[present[0]]["path"])))
            continue
        if len(hits) == k:
            continue  # later files can still be copies of the ones shown
        top = rows[present[0]]
        at[i] = len(hits)
        hits.append(
            Hit(
                chunk_id=present[0],
                path=str(top["path"]),
                title=str(top["title"]),
                folder=str(top["folder"]),
                location=_location(top),
                snippet=read.snippet(present[0]),
                score=score,
                also_at=tuple(_location(rows[c]) for c in present[1:]),
            )
        )
    return hits
