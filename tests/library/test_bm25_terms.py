"""BM25 from per-term scores ranks exactly as FTS5's own ``ORDER BY rank`` over the OR-ed terms,
and the kept scores of common terms are dropped when the library changes."""

from __future__ import annotations

import random
from pathlib import Path

from deepresearch_local.library import Library, bm25
from deepresearch_local.library.bm25 import TermScores, top_chunks
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
    rows = library.store.query(
        "SELECT rowid, rank FROM chunks_fts WHERE chunks_fts MATCH ? ORDER BY rank, rowid LIMIT ?",
        (to_match(terms), limit),
    )
    return [(int(r[0]), -float(r[1])) for r in rows]


def test_summed_term_scores_rank_as_fts5_does(tmp_path: Path) -> None:
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
