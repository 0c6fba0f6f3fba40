"""From free text to safe FTS5 queries; stemming; fusing several queries; the re-rank seam."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from deepresearch_local.library import Hit, Library, Reranker
from deepresearch_local.library import search as search_module
from deepresearch_local.library.query import (
    adjacent_pairs,
    match_expression,
    prune_common,
    query_terms,
)


def test_terms_drop_common_words_and_keep_split_words_as_phrases() -> None:
    assert query_terms("How do I make a function remember earlier results?") == [
        "make", "function", "remember", "earlier", "results",
    ]  # fmt: skip
    assert query_terms("use lru_cache on e-mail") == ["lru cache", "e mail", "lru", "cache", "e", "mail"]
    assert query_terms("what is it") == ["what", "is", "it"]  # only common words: keep them
    assert query_terms("  ?!  ") == [] and match_expression("--- ***") is None
    assert match_expression('say "hi" AND NEAR(x y)') == '"near x" OR "say" OR "hi" OR "near" OR "x" OR "y"'


def test_contraction_and_possessive_fragments_are_not_searched_alone() -> None:
    # "doesn't" and "project's" split into "doesn" "t" and "project" "s": the fragments alone
    # match a quarter of any English library; the phrases still match the words as written
    assert query_terms("my project's build doesn't start") == [
        "project s", "doesn t", "project", "build", "start",
    ]  # fmt: skip
    assert query_terms("don't") == ["don t", "don", "t"]  # nothing else to search for: kept


@pytest.fixture
def small(tmp_path: Path, library: Library) -> Library:
    root = tmp_path / "docs"
    root.mkdir()
    (root / "cache.md").write_text(
        "# Caching\n\nMemoizing decorators remember the results of earlier calls.\n", encoding="utf-8"
    )
    (root / "files.md").write_text("# Files\n\nOpening files and reading lines.\n", encoding="utf-8")
    (root / "ops.txt").write_text('Operators: AND OR NOT NEAR "quotes" col:value -minus *star ^caret\n')
    library.add(root)
    return library


@pytest.mark.parametrize(
    ("query", "found"),
    [
        ('"unbalanced', []),
        ("AND", ["files.md", "ops.txt"]),  # a common word alone is still searched for
        ("NEAR(a b)", ["ops.txt"]),
        ("col:value", ["ops.txt"]),
        ("-minus", ["ops.txt"]),
        ("*star", ["ops.txt"]),
        ("^caret", ["ops.txt"]),
        ("(((", []),
        ("'", []),
        ("*", []),
    ],
)
def test_hostile_queries_never_break_fts(small: Library, query: str, found: list[str]) -> None:
    assert sorted(Path(h.path).name for h in small.search(query)) == found


def test_operator_words_are_found_as_words(small: Library) -> None:
    assert [Path(h.path).name for h in small.search("NEAR col value")] == ["ops.txt"]


def test_porter_stemming_matches_word_forms(small: Library) -> None:
    assert [Path(h.path).name for h in small.search("remembering a result")] == ["cache.md"]
    assert [Path(h.path).name for h in small.search("memoize")] == ["cache.md"]
    assert [Path(h.path).name for h in small.search("opened file")] == ["files.md"]


def test_title_outranks_body(tmp_path: Path, library: Library) -> None:
    root = tmp_path / "t"
    root.mkdir()
    (root / "a.md").write_text(
        "# Gardening\n\nNotes about soil; tulips are mentioned once.\n", encoding="utf-8"
    )
    (root / "b.md").write_text("# Tulips\n\nNotes about soil and bulbs.\n", encoding="utf-8")
    library.add(root)
    assert [Path(h.path).name for h in library.search("tulips")] == ["b.md", "a.md"]


def test_adjacent_words_are_paired() -> None:
    text = "I wrote the wrong description for my most recent change, before the network call."
    assert adjacent_pairs(text) == ["wrong description", "recent change", "network call"]
    # with the words search kept, a word left out (too common) breaks the pair too
    assert adjacent_pairs(text, {"wrong", "description", "network"}) == ["wrong description"]
    assert adjacent_pairs("中文 search text") == ["search text"]  # CJK runs are searched as bigrams


def test_keyword_search_prefers_the_words_side_by_side(
    tmp_path: Path, library: Library, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A passage saying "network call" beats one that holds both words more often but apart; the
    same search without pairs shows the order the words alone give."""
    root = tmp_path / "p"
    root.mkdir()
    filler = "The harbour timetable changes with the seasons and the tides. " * 3
    (root / "apart.md").write_text(
        f"# Notes\n\nThe network is slow. {filler}Each call waits; the network may recover.\n",
        encoding="utf-8",
    )
    (root / "together.md").write_text(
        f"# Notes\n\nWait a few seconds before the next network call. {filler}\n", encoding="utf-8"
    )
    library.add(root)
    question = "How long should I pause before retrying a network call?"
    assert [Path(h.path).name for h in library.search(question, mode="bm25")] == ["together.md", "apart.md"]
    monkeypatch.setattr(search_module, "PAIR_WEIGHT", 0.0)
    assert [Path(h.path).name for h in library.search(question, mode="bm25")] == ["apart.md", "together.md"]


def test_several_queries_are_fused_and_deduplicated(small: Library) -> None:
    hits = small.search(["remember earlier results", "memoizing decorators", "reading lines"], k=5)
    assert [Path(h.path).name for h in hits] == ["cache.md", "files.md"]
    assert hits[0].score == pytest.approx(2.0) and hits[1].score == pytest.approx(1.0)  # first twice, once
    assert small.search(["", "   "]) == []


def test_prune_common_keeps_the_rarest_within_budget() -> None:
    counts = {"rare": 5, "mid": 400, "common": 9000, "everywhere": 30000}
    terms = ["everywhere", "rare", "common", "mid"]
    assert prune_common(terms, counts.__getitem__, budget=50000) == terms
    assert prune_common(terms, counts.__getitem__, budget=10000) == ["rare", "common", "mid"]
    assert prune_common(terms, counts.__getitem__, budget=100) == ["rare"]
    assert prune_common(["everywhere"], counts.__getitem__, budget=1) == ["everywhere"]


def test_pruning_applies_in_search(small: Library) -> None:
    small.match_budget = 1  # every file has "notes"-like words; keep only the rarest term
    hits = small.search("reading remember")
    assert len(hits) == 1


class Reverse:
    candidates = 50

    def __init__(self) -> None:
        self.seen: list[tuple[list[str], int]] = []

    def rerank(self, queries: Sequence[str], hits: Sequence[Hit]) -> list[Hit]:
        self.seen.append((list(queries), len(hits)))
        return list(reversed(hits))


def test_reranker_seam(small: Library) -> None:
    reverse = Reverse()
    assert isinstance(reverse, Reranker)
    plain = small.search(["files", "caching"], k=5)
    reranked = small.search(["files", "caching"], k=5, reranker=reverse)
    assert [h.path for h in reranked] == [h.path for h in reversed(plain)]
    assert reverse.seen == [(["files", "caching"], 2)]
