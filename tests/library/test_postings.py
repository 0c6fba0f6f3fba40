"""A word's BM25 part computed from FTS5's postings is FTS5's own ``bm25()``, to the last bit:
over titles and headings (weighted), stems, accents, CJK bigrams, long chunks (lengths past one
varint byte), and after files are changed and removed. Phrases and words with long hit lists are
left to FTS5; word counts are FTS5's."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest

from deepresearch_local.library import Library
from deepresearch_local.library.postings import INSTANCE_RATIO, Vocabulary, sizes, varints
from deepresearch_local.library.query import query_terms, quote

WORDS = ["harbour", "ferry", "timetable", "bread", "starter", "oven", "copper", "kettle", "signal", "tide"]


def _page(rng: random.Random, n: int) -> str:
    title = " ".join(rng.sample(WORDS, 2)).title()
    sections = []
    for _ in range(rng.randint(1, 3)):
        heading = " ".join(rng.sample(WORDS, rng.randint(1, 2)))
        words = rng.choices([*WORDS, "caching", "cached", "caches", "Café", "cafe"], k=rng.randint(5, 400))
        sections.append(f"## {heading}\n\n" + " ".join(words))
    if n % 7 == 0:
        sections.append("数据库的索引和查询 缓存数据库 kettle")
    return f"# {title}\n\n" + "\n\n".join(sections) + "\n"


def _folder(root: Path, files: int, seed: int = 5) -> Path:
    rng = random.Random(seed)
    root.mkdir(parents=True, exist_ok=True)
    for n in range(files):
        (root / f"page{n:03d}.md").write_text(_page(rng, n), "utf-8")
    return root


def _fts5(library: Library, term: str) -> tuple[list[int], list[float]]:
    rows = library.store.query(
        "SELECT rowid, rank FROM chunks_fts WHERE chunks_fts MATCH ? ORDER BY rowid", (quote(term),)
    )
    return [int(r[0]) for r in rows], [-float(r[1]) for r in rows]


def _terms() -> list[str]:
    out = [*WORDS, "Caching", "caches", "café", "CAFE", "zeppelin"]
    out += [t for t in query_terms("数据库") if " " not in t]  # its CJK bigrams
    return out


def _same_as_fts5(library: Library, vocabulary: Vocabulary) -> int:
    """Every word scored from its postings equals FTS5's scores; returns how many were."""
    scored = 0
    for term in _terms():
        mine = vocabulary.scores(term)
        if mine is None:
            continue
        ids, values = _fts5(library, term)
        assert mine[0].tolist() == ids, term
        assert mine[1].tolist() == values, term  # the same doubles, not nearly the same
        scored += 1
    return scored


def test_postings_scores_are_fts5s_bm25(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("deepresearch_local.library.postings.INSTANCE_RATIO", 1e9)  # score all words
    docs = _folder(tmp_path / "docs", 60)
    with Library(tmp_path / "lib.sqlite3") as library:
        library.add(docs, "docs")
        vocabulary = Vocabulary(library.store)
        long_chunk = library.store.query("SELECT sz FROM chunks_fts_docsize")
        assert any(max(varints(bytes(r[0]))) >= 128 for r in long_chunk)  # two-byte lengths met
        assert _same_as_fts5(library, vocabulary) == len(_terms())
        assert vocabulary.form("Caching") == vocabulary.form("cached")  # the Porter stem
        assert vocabulary.form("ferry timetable") is None  # a phrase: FTS5 scores it

        # change some pages, remove others: FTS5's index now holds deletions to skip
        for n in range(0, 60, 4):
            (docs / f"page{n:03d}.md").unlink()
        for n in range(1, 60, 5):
            (docs / f"page{n:03d}.md").write_text(_page(random.Random(n), n) + "kettle kettle\n", "utf-8")
        library.reindex("docs")
        assert _same_as_fts5(library, vocabulary) == len(_terms())


def test_word_counts_are_fts5s(tmp_path: Path) -> None:
    with Library(tmp_path / "lib.sqlite3") as library:
        library.add(_folder(tmp_path / "docs", 30), "docs")
        vocabulary = Vocabulary(library.store)
        count = "SELECT COUNT(*) FROM chunks_fts WHERE chunks_fts MATCH ?"
        for term in [*_terms(), "ferry timetable", "cafe kettle"]:
            matched = library.store.query(count, (quote(term),))
            assert library.store.frequency(term) == matched[0][0], term
            counted = vocabulary.counts(term)
            if " " in term:
                assert counted is None
            else:
                assert counted is not None and counted[0] == matched[0][0], term


def test_words_with_long_hit_lists_are_left_to_fts5(tmp_path: Path) -> None:
    root = tmp_path / "docs"
    root.mkdir()
    for n in range(12):
        (root / f"n{n}.txt").write_text("signal " * 20 + f"rope {n}\n", "utf-8")
    with Library(tmp_path / "lib.sqlite3") as library:
        library.add(root, "docs")
        vocabulary = Vocabulary(library.store)
        signal = vocabulary.counts("signal")
        assert signal is not None and signal[1] > INSTANCE_RATIO * signal[0]
        assert vocabulary.scores("signal") is None
        rope = vocabulary.scores("rope")
        assert rope is not None and rope[0].tolist() == _fts5(library, "rope")[0]


def test_sizes_add_each_blobs_varints() -> None:
    blobs = [bytes([4, 0, 120, 0]), bytes([0x81, 0x00, 3]), bytes([0xFF, 0x7F, 0x82, 0x80, 0x01]), b""]
    assert varints(blobs[1]) == [128, 3]
    assert varints(blobs[2]) == [16383, 32769]
    totals = sizes(b"".join(blobs), [len(b) for b in blobs])
    assert totals.tolist() == [124.0, 131.0, 16383.0 + 32769.0, 0.0]
    assert sizes(b"", []).dtype == np.float64
