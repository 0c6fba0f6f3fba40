"""BM25 from per-term scores ranks exactly as FTS5's own ``ORDER BY rank`` over the OR-ed terms
(named rarest first), also when the bound test leaves common terms unscored; the kept scores of
common terms are dropped when the index changes, and only then."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from deepresearch_local.library import Library, bm25
from deepresearch_local.library.bm25 import TermScores, rarest_first, top_chunks
from deepresearch_local.library.query import to_match

WORDS = [
    "lantern",
    "harbour",
    "ferry",
    "timetable",
    "bread",
    "starter",
    "oven",
    "copper",
    "kettle",
    "signal",
    "tide",
    "rope",
    "anchor",
]


def _folder(root: Path, files: int, seed: int = 3) -> Path:
    rng = random.Random(seed)
    root.mkdir(parents=True, exist_ok=True)
    for n in range(files):
        paragraphs = []
        for _ in range(4):
            words = rng.choices(WORDS, weights=range(len(WORDS), 0, -1), k=rng.randint(20, 160))
            paragraphs.append(" ".join(words))
        title = " ".join(rng.sample(WORDS, 2))
        (root / f"note{n:03d}.md").write_text(f"# {title}\n\n" + "\n\n".join(paragraphs) + "\n", "utf-8")
    return root


def _fts_order(library: Library, terms: list[str], limit: int) -> list[tuple[int, float]]:
    """FTS5's own ranking of the terms OR-ed, rarest first (the order its sums run in)."""
    rows = library.store.query(
        "SELECT rowid, rank FROM chunks_fts WHERE chunks_fts MATCH ? ORDER BY rank, rowid LIMIT ?",
        (to_match(rarest_first(TermScores(library.store), terms)), limit),
    )
    return [(int(r[0]), -float(r[1])) for r in rows]


@pytest.mark.parametrize("by_id", [True, False], ids=["summed-by-id", "summed-after-sorting"])
def test_summed_term_scores_rank_as_fts5_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, by_id: bool
) -> None:
    if not by_id:  # as in a library whose chunk ids spread far past their number
        monkeypatch.setattr(bm25, "DENSE_SPAN", 0)
        monkeypatch.setattr(bm25, "DENSE_SLACK", 0)
    with Library(tmp_path / "lib.sqlite3") as library:
        library.add(_folder(tmp_path / "docs", 120), "docs")
        scores = TermScores(library.store)
        for terms in (["lantern"], ["anchor", "kettle", "lantern"], ["ferry timetable", "rope", "tide"]):
            for limit in (5, 40, 1000):
                mine = top_chunks(scores, terms, limit)
                theirs = _fts_order(library, terms, limit)
                assert [c for c, _ in mine] == [c for c, _ in theirs], (terms, limit)
                assert [s for _, s in mine] == [s for _, s in theirs], (terms, limit)  # the same sums
        assert top_chunks(scores, ["zeppelin"], 10) == []


def test_kept_scores_of_a_common_term_follow_changes(tmp_path: Path) -> None:
    docs = _folder(tmp_path / "docs", 60)
    with Library(tmp_path / "lib.sqlite3") as library:
        library.add(docs, "docs")
        scores = TermScores(library.store)
        common = WORDS[0]
        original = bm25.KEEP_FROM
        try:
            bm25.KEEP_FROM = 1
            first_ids, _ = scores.term(common)
            assert scores.term(common)[0] is first_ids  # kept, not scored again
            (docs / "late.md").write_text(f"# late\n\n{common} {common} arrives late\n", "utf-8")
            library.reindex("docs")
            ids, _ = scores.term(common)
        finally:
            bm25.KEEP_FROM = original
        assert len(ids) == len(first_ids) + 1
        assert top_chunks(scores, [common], 500) == _fts_order(library, [common], 500)


def _zipf_folder(root: Path, files: int, seed: int = 11) -> Path:
    """Text files of Zipf-distributed words: a few words in most chunks, many in a few."""
    rng = random.Random(seed)
    vocabulary = [f"w{n}x" for n in range(400)]
    weights = [1.0 / (rank + 1) for rank in range(len(vocabulary))]
    root.mkdir(parents=True, exist_ok=True)
    for n in range(files):
        paragraphs = [" ".join(rng.choices(vocabulary, weights, k=rng.randint(30, 90))) for _ in range(12)]
        (root / f"doc{n:03d}.txt").write_text("\n\n".join(paragraphs) + "\n", "utf-8")
    return root


def test_bound_test_gives_the_exhaustive_top(tmp_path: Path) -> None:
    """Common words left unscored by the bound test change no chunk and no score of the top:
    the result is FTS5's own ranking, bit for bit, and the test is shown to have skipped terms."""
    with Library(tmp_path / "lib.sqlite3") as library:
        library.add(_zipf_folder(tmp_path / "docs", 250), "docs")
        rows = library.store.query("SELECT COUNT(*) FROM chunks")[0][0]
        assert rows > 500
        rng = random.Random(5)
        original = bm25.KEEP_FROM
        try:
            bm25.KEEP_FROM = 60  # "common" from 60 chunks on: most queries meet one
            skipped = 0
            for n in range(60):
                scores = TermScores(library.store)  # nothing kept: every common term is costly
                terms = [f"w{rng.randint(0, 399)}x" for _ in range(rng.randint(2, 5))]
                for limit in (5, 50):
                    mine = top_chunks(scores, terms, limit)
                    assert mine == _fts_order(library, terms, limit), (n, terms, limit)
                skipped += scores.skipped
        finally:
            bm25.KEEP_FROM = original
        assert skipped > 20  # the bound test did leave terms out (else this test proves nothing)


def test_kept_scores_survive_writes_outside_the_index(tmp_path: Path) -> None:
    """Storing vectors (or any write that is not the FTS index) keeps the common terms' scores;
    a re-index that changes chunks drops them."""
    docs = _folder(tmp_path / "docs", 40)
    with Library(tmp_path / "lib.sqlite3") as library:
        library.add(docs, "docs")
        scores = TermScores(library.store)
        original = bm25.KEEP_FROM
        try:
            bm25.KEEP_FROM = 1
            first = scores.term(WORDS[0])[0]
            chunk_ids = [int(r[0]) for r in library.store.query("SELECT id FROM chunks LIMIT 3")]
            library.vectors.add("test-model", chunk_ids, [[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
            assert scores.term(WORDS[0])[0] is first  # still kept
            (docs / "late.md").write_text(f"# late\n\n{WORDS[0]} arrives late\n", "utf-8")
            library.reindex("docs")
            again = scores.term(WORDS[0])[0]
        finally:
            bm25.KEEP_FROM = original
        assert again is not first and len(again) == len(first) + 1
