"""Search returns distinct files with their best passage; vectors; the one-time upgrade re-index."""

from __future__ import annotations

import math
import sqlite3
from collections.abc import Sequence
from pathlib import Path

import pytest

from deepresearch_local.library import Library
from deepresearch_local.library.fusion import Ranking, file_scores, for_size, fuse_files, scaled
from deepresearch_local.library.query import tokens
from deepresearch_local.library.search import marked_words, snippet
from deepresearch_local.library.store import MIGRATIONS, Store

FILL = (
    "Unrelated sentences about the weather, the harbour timetable and the price of bread fill this "
    "paragraph so that every section is long enough to be a chunk of its own in the index. "
)


def _section(title: str, body: str) -> str:
    return f"## {title}\n\n{body}\n\n{FILL * 6}\n\n"


@pytest.fixture
def manual(tmp_path: Path, library: Library) -> Library:
    """One long file that mentions 'sourdough' in four sections, and three short ones once each."""
    root = tmp_path / "docs"
    root.mkdir()
    long = "# Baking handbook\n\n" + "".join(
        _section(f"Part {n}", f"Sourdough step {n}: feed the starter and wait.") for n in range(1, 5)
    )
    (root / "handbook.md").write_text(long, encoding="utf-8")
    for name in ("bread.md", "starter.md", "oven.md"):
        (root / name).write_text(f"# {name}\n\nA note on sourdough in {name}.\n\n{FILL}\n", encoding="utf-8")
    library.add(root, "docs")
    return library


def test_results_are_distinct_files_with_other_passages_listed(manual: Library) -> None:
    hits = manual.search("sourdough", k=4)
    names = [Path(h.path).name for h in hits]
    assert sorted(names) == ["bread.md", "handbook.md", "oven.md", "starter.md"]
    assert len(set(names)) == len(names)
    handbook = next(h for h in hits if h.path.endswith("handbook.md"))
    assert "Sourdough" in handbook.snippet
    # the three other sections that mention it are listed, each once and not the best one again
    assert len(handbook.also_at) == 3
    assert handbook.location not in handbook.also_at
    headings = {loc.heading for loc in handbook.also_at} | {handbook.location.heading}
    assert len(headings) == 4  # four different sections (the first one starts under the title)
    assert {f"Baking handbook > Part {n}" for n in range(2, 5)} <= headings


def test_k_counts_files_not_chunks(manual: Library) -> None:
    assert len(manual.search("sourdough", k=2)) == 2
    assert len({h.path for h in manual.search("sourdough", k=10)}) == 4


def test_folder_filter_and_bm25_mode(manual: Library, tmp_path: Path) -> None:
    other = tmp_path / "other"
    other.mkdir()
    (other / "rye.md").write_text("# Rye\n\nSourdough rye needs a longer rest.\n", encoding="utf-8")
    manual.add(other, "other")
    assert [Path(h.path).name for h in manual.search("sourdough", folder="other")] == ["rye.md"]
    assert len(manual.search("sourdough", k=10, mode="bm25")) == 5


def test_fusion_scales_each_ranking_from_its_first_file_to_its_depth() -> None:
    file_of = {1: 10, 2: 10, 3: 20, 4: 30, 5: 40, 6: 50}
    ranking = [(1, 8.0), (3, 5.0), (2, 4.0), (4, 4.0), (5, 3.0), (6, 1.0)]
    # file 10 scores 8 + 0.5 * 4 = 10; with a depth of 4, file 40 (3.0) is the floor
    fused = dict(fuse_files([Ranking(ranking, 2.0)], file_of, depth=4))
    assert {f: e.score for f, e in fused.items() if e.score} == pytest.approx(
        {10: 2.0, 20: 2 * (5 - 3) / (10 - 3), 30: 2 * (4 - 3) / (10 - 3)}
    )
    assert fused[40].score == fused[50].score == 0.0  # below the depth: no score, still a candidate
    assert fused[10].chunks[1] > fused[10].chunks[2]  # the best passage of file 10 is chunk 1
    # fewer files than the depth: scaled down to 0, so the last one keeps its share
    short = dict(fuse_files([Ranking(ranking, 1.0)], file_of, depth=50))
    assert short[50].score == pytest.approx(1 / 10) and short[20].score == pytest.approx(5 / 10)
    assert scaled({1: -0.2, 2: 0.3, 3: 0.8}) == pytest.approx({2: 0.5, 3: 1.0})  # cosines below 0
    assert scaled({1: 2.0, 2: 2.0}, depth=2) == {1: 1.0, 2: 1.0}


def test_a_confident_first_beats_a_file_both_rank_second() -> None:
    """Reciprocal ranks put a file that every list ranks second, far behind its first, above the
    lists' firsts; scaled scores keep the firsts on top."""
    file_of = {n: n for n in range(1, 9)}
    keywords = [(1, 10.0), (2, 2.0), (3, 1.9), (4, 1.0)]
    meaning = [(5, 5.0), (2, 3.0), (6, 2.9), (7, 1.0)]
    order = [f for f, _ in fuse_files([Ranking(keywords, 1.0), Ranking(meaning, 1.0)], file_of, depth=4)]
    assert order[:3] == [1, 5, 2]
    rrf = {f: sum(1 / (60 + r.index(f) + 1) for r in ([1, 2, 3, 4], [5, 2, 6, 7]) if f in r) for f in file_of}
    assert max(rrf, key=lambda f: rrf[f]) == 2  # what reciprocal ranks (k = 60) put first


def test_a_files_size_alone_lends_it_no_rank() -> None:
    """The best of a changelog's 3,000 chunks scores a little above a one-page answer by chance
    alone; with sizes known, the page comes first, and the correction grows with the spread."""
    scores = {1: 0.62, 2: 0.60, 3: 0.40}  # 1: a changelog, 2: the page that answers, 3: a note
    sizes = {1: 3000, 2: 4, 3: 1}
    corrected = for_size(scores, sizes, spread=0.1)
    assert max(corrected, key=lambda f: corrected[f]) == 2
    assert corrected[3] == scores[3]  # one chunk: nothing to give back
    assert corrected[1] == pytest.approx(0.62 - 0.25 * 0.1 * math.sqrt(2 * math.log(3000)))
    assert for_size(scores, sizes, spread=0.0) == scores
    # no spread given: that of the scores themselves
    own = for_size(scores, sizes, spread=None)
    mean = sum(scores.values()) / 3
    spread = math.sqrt(sum((v - mean) ** 2 for v in scores.values()) / 3)
    assert own == pytest.approx(for_size(scores, sizes, spread=spread))
    file_of = {10: 1, 20: 2, 30: 3}
    ranking = Ranking([(10, 0.62), (20, 0.60), (30, 0.40)], 1.0, 0.1)
    assert [f for f, _ in fuse_files([ranking], file_of)] == [1, 2, 3]  # sizes unknown: as scored
    assert [f for f, _ in fuse_files([ranking], file_of, sizes=sizes)] == [2, 1, 3]


def test_two_strong_passages_beat_one_slightly_better() -> None:
    file_of = {1: 10, 2: 20, 3: 20, 9: 99}
    scores = file_scores([(1, 5.0), (2, 4.8), (3, 4.7), (9, 0.1)], file_of)
    assert sorted(scores, key=lambda f: -scores[f]) == [20, 10, 99]
    assert file_scores([(5, 1.0)], file_of) == {}  # a chunk that is gone is skipped


def test_snippet_shows_the_window_with_the_query_words() -> None:
    body = " ".join(["filler"] * 100 + ["the", "starter", "needs", "feeding"] + ["filler"] * 100)
    text = snippet(body, ["feeding starter"], words=10)
    assert "starter needs feeding" in text and text.startswith("…") and text.endswith("…")
    assert snippet("short text", ["x"]) == "short text"


@pytest.mark.parametrize(
    ("words", "terms", "marked"),
    [
        # a five-letter form begins a token (a crude stem); the token may go on
        ("Functions compose; a functional style", ["function"], [1, 0, 0, 1, 0]),
        # a short term is a whole token, never the start of a longer one
        ("the os module, osmosis and os.path", ["os"], [0, 1, 0, 0, 0, 1]),
        # tokens split at anything but letters and digits, the underscore included
        ("call print() or sys.stdout_write; reprint", ["print", "write"], [0, 1, 0, 1, 0]),
        # a form in the middle of a token does not count
        ("preprocessing processes", ["process"], [0, 1]),
        # case does not matter, accents do
        ("CAFÉ cafe Café", ["café"], [1, 0, 1]),
        ("nothing here", [], [0, 0]),
    ],
)
def test_snippet_marks_the_words_holding_a_query_form(
    words: str, terms: list[str], marked: list[int]
) -> None:
    parts = words.split()
    wanted = frozenset(t[:5] for term in terms for t in tokens(term))
    assert marked_words(parts, wanted).tolist() == marked


class _Unit:
    """A toy 'embedder' for the vector index: a fixed vector per word."""

    id = "toy"

    def embed_query(self, text: str) -> list[float]:
        return [1.0, 0.0, 0.0] if "alpha" in text else [0.0, 1.0, 0.0]


def test_vectors_are_searched_stored_per_model_and_dropped_with_their_chunks(manual: Library) -> None:
    rows = manual.store.query(
        "SELECT c.id, f.rel FROM chunks c JOIN files f ON f.id = c.file_id ORDER BY c.id"
    )
    ids = [int(r[0]) for r in rows]
    oven = [int(r[0]) for r in rows if r[1] == "oven.md"]
    vectors = [[1.0, 0.0, 0.0] if i in oven else [0.0, 0.6, 0.8] for i in ids]
    assert manual.vectors.add("toy", ids, vectors) == len(ids)
    assert manual.vectors.count_missing("toy") == 0 and manual.vectors.count_missing("other") == len(ids)
    nearest = manual.vectors.nearest("toy", [2.0, 0.0, 0.0], 2)
    assert nearest[0][0] == oven[0] and nearest[0][1] == pytest.approx(1.0, abs=1e-3)
    # dense hits count in hybrid mode: a query with no keyword in common still finds oven.md
    hits = manual.search("alpha", k=1, embedder=_Unit())
    assert [Path(h.path).name for h in hits] == ["oven.md"]
    assert manual.search("alpha", k=1, embedder=_Unit(), mode="bm25") == []
    with pytest.raises(ValueError, match="dimensions"):
        manual.vectors.nearest("toy", [1.0, 0.0], 1)
    # several query vectors in one pass rank exactly as one at a time; a vector near a query is
    # ranked among that query's shortlist as among all chunks; a wrong dimension is refused
    queries = [[2.0, 0.0, 0.0], [0.0, 3.0, 4.0], [1.0, 1.0, 0.0]]
    together = manual.vectors.shortlists("toy", queries, 3)
    assert [s.ranked() for s in together] == [manual.vectors.nearest("toy", q, 3) for q in queries]
    assert together[1].ranked()[0][0] not in oven and together[0].ranked()[0][0] in oven
    wide = manual.vectors.shortlists("toy", [[1.0, 0.2, 0.0]], len(ids))[0]
    assert wide.nearest([1.0, 0.3, 0.1], 2) == manual.vectors.nearest("toy", [1.0, 0.3, 0.1], 2)
    assert manual.vectors.shortlists("toy", [], 3) == []
    # each shortlist knows how widely its query's cosines spread over all chunks
    cosines = [1.0 if i in oven else 0.0 for i in ids]  # the query [2, 0, 0]
    mean = sum(cosines) / len(cosines)
    spread = (sum((c - mean) ** 2 for c in cosines) / len(cosines)) ** 0.5
    assert together[0].spread == pytest.approx(spread, abs=1e-3) and spread > 0
    with pytest.raises(ValueError, match="dimensions"):
        manual.vectors.shortlists("toy", [[1.0, 0.0, 0.0], [1.0, 0.0]], 1)
    with pytest.raises(ValueError, match="dimensions"):
        wide.nearest([1.0, 0.0], 1)
    # re-indexing a changed file drops its chunks' vectors (and search no longer sees them)
    oven_path = Path(manual.coverage()[0].path).parent / "oven.md"
    oven_path.write_text("# oven.md\n\nNothing about bread now.\n", encoding="utf-8")
    manual.reindex("docs")
    assert manual.vectors.count("toy") == len(ids) - len(oven)
    assert manual.vectors.count_missing("toy") >= 1
    assert all(Path(h.path).name != "oven.md" for h in manual.search("alpha", k=3, embedder=_Unit()))


def test_several_queries_in_blocks_rank_as_one_at_a_time(
    manual: Library, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without SimSIMD, several query vectors multiply the float32 matrix a block of rows at a
    time: blocks that cut the chunks anywhere give each query the shortlist it gets alone."""
    from deepresearch_local.library import vectors

    monkeypatch.setattr(vectors, "_simsimd", lambda: None)
    ids = [int(r[0]) for r in manual.store.query("SELECT id FROM chunks ORDER BY id")]
    assert len(ids) >= 4
    manual.vectors.add("toy", ids, [[1.0 + i % 3, float(i % 5), float(i)] for i in range(len(ids))])
    queries = [[2.0, 0.0, 0.0], [0.0, 3.0, 4.0], [1.0, 1.0, 0.0]]
    alone = [manual.vectors.nearest("toy", q, len(ids)) for q in queries]
    for block in (1, 2, 3):
        monkeypatch.setattr(vectors, "PRODUCT_BLOCK", block)
        together = manual.vectors.shortlists("toy", queries, len(ids))
        assert [s.ranked() for s in together] == alone
    assert manual.vectors.matrix("toy").dtype.name == "float32"


def test_embed_missing_is_resumable(manual: Library) -> None:
    class Counting(_Unit):
        calls = 0

        def embed_documents(self, texts: Sequence[str]) -> list[list[float]]:
            Counting.calls += 1
            return [[0.0, 0.0, 1.0] for _ in texts]

    total = manual.vectors.count_missing("toy")
    seen: list[tuple[int, int]] = []
    stop_after_first = iter([False, True])
    made = manual.embed_missing(
        Counting(), lambda done, total: seen.append((done, total)), lambda: next(stop_after_first), batch=2
    )
    assert made == 2 and manual.vectors.count("toy") == 2
    assert manual.embed_missing(Counting(), batch=2) == total - 2
    assert manual.vectors.count_missing("toy") == 0 and seen[0] == (0, total)
    assert manual.embed_missing(Counting()) == 0


def _old_library(tmp_path: Path, db_path: Path | None = None) -> Path:
    """A library made by the first version of the schema (folder "notes": a.md indexed, b.bin not)."""
    db_path = db_path or tmp_path / "old.sqlite3"
    db_path.parent.mkdir(parents=True, exist_ok=True)
    root = tmp_path / "notes"
    root.mkdir()
    (root / "a.md").write_text("# Kiln\n\nThe kiln reaches its heat slowly.\n", encoding="utf-8")
    (root / "b.bin").write_bytes(b"\x00\x01binary")
    # a library made by the version before: only the first migration applied
    with Library(db_path) as lib:
        lib.add(root, "notes")
    db = sqlite3.connect(db_path)
    applied = [r[0] for r in db.execute("SELECT name FROM schema_migrations ORDER BY version")]
    assert applied == [name for name, _ in MIGRATIONS]
    # back to the first version's schema: three FTS columns, no vectors, no upgrade flag
    db.executescript(
        """
        CREATE VIRTUAL TABLE old_fts USING fts5(title, heading, body, tokenize = 'porter unicode61');
        INSERT INTO old_fts (rowid, title, heading, body) SELECT rowid, title, heading, body FROM chunks_fts;
        DROP TABLE chunks_fts;
        ALTER TABLE old_fts RENAME TO chunks_fts;
        INSERT INTO chunks_fts (chunks_fts, rank) VALUES ('rank', 'bm25(5.0, 3.0, 1.0)');
        DROP TABLE chunk_vectors;
        DROP TABLE library_state;
        DROP TRIGGER IF EXISTS common_postings_chunk_added;
        DROP TRIGGER common_postings_chunk_removed;
        DROP TABLE common_postings;
        DROP TABLE common_postings_state;
        DROP TABLE common_postings_log;
        DROP TABLE file_signatures;
        DROP TRIGGER folder_rules_forget;
        DROP TABLE folder_rules;
        ALTER TABLE folders DROP COLUMN reindex_pending;
        DELETE FROM schema_migrations WHERE version > 1;
        """
    )
    db.execute("UPDATE files SET indexed_at = 1.0")
    db.commit()
    db.close()
    return db_path


def test_an_old_library_is_read_again_once_after_the_upgrade(tmp_path: Path) -> None:
    db_path = _old_library(tmp_path)
    with Library(db_path) as lib:
        assert lib.upgrade_pending() == ["notes"]
        columns = [c[1] for c in lib.store.query("PRAGMA table_info(chunks_fts)")]
        assert columns == ["title", "heading", "body", "cjk"]
        rank = lib.store.query("SELECT v FROM chunks_fts_config WHERE k = 'rank'")[0][0]
        assert rank == "bm25(2.0, 1.5, 1.0, 1.0)"
        before = {r.rel: (r.status, r.reason) for r in lib.coverage()}
        hits = lib.search("kiln heat")  # the first search brings the index up to date
        assert [Path(h.path).name for h in hits] == ["a.md"]
        assert lib.upgrade_pending() == []
        after = {r.rel: (r.status, r.reason) for r in lib.coverage()}
        assert after == before
        stamps = {r.rel: r.indexed_at for r in lib.coverage()}
        assert all(s is not None and s > 1.0 for s in stamps.values())
    with Library(db_path) as lib:  # and only once
        lib.search("kiln")
        assert {r.rel: r.indexed_at for r in lib.coverage()} == stamps


def test_new_reading_rules_read_folders_again_once_and_keep_the_vectors_of_unchanged_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A library indexed by a version whose rules missed a site's search index: after the upgrade
    the folder is read again once, the index is listed as generated, and the pages that read the
    same keep their chunk ids, so their embeddings (hours of work on a big library) stay."""
    import json

    monkeypatch.setenv("DEEPRESEARCH_INDEX_WORKERS", "0")  # read here, where the old rules are patched in
    root = tmp_path / "site"
    (root / "search").mkdir(parents=True)
    (root / "kiln.md").write_text("# Kiln\n\nThe kiln reaches its heat slowly.\n\n" + FILL, encoding="utf-8")
    (root / "glaze.md").write_text("# Glaze\n\nA glaze is fired twice.\n\n" + FILL, encoding="utf-8")
    docs = [{"location": f"p{i}.html#top", "title": f"Page {i}", "text": f"kiln {FILL}"} for i in range(25)]
    (root / "search" / "search_index.json").write_text(json.dumps({"docs": docs}), encoding="utf-8")
    db_path = tmp_path / "lib.sqlite3"
    with monkeypatch.context() as old_rules:
        old_rules.setattr("deepresearch_local.library.extract.artefact_reason", lambda data, kind: "")
        with Library(db_path) as lib:
            lib.add(root, "site")
            assert {r.rel: r.status for r in lib.coverage()}["search/search_index.json"] == "indexed"

    class Toy(_Unit):
        def embed_documents(self, texts: Sequence[str]) -> list[list[float]]:
            return [[0.0, 0.6, 0.8] for _ in texts]

    with Library(db_path) as lib:
        assert lib.embed_missing(Toy()) == lib.vectors.count("toy") > 0
        pages = "SELECT c.id FROM chunks c JOIN files f ON f.id = c.file_id WHERE f.rel LIKE '%.md'"
        page_chunks = sorted(int(r[0]) for r in lib.store.query(pages))
        lib.store.db.executescript(  # as a library of the version before this migration
            "ALTER TABLE file_signatures DROP COLUMN sketch; DELETE FROM schema_migrations "
            "WHERE name = 'read_again_for_site_indexes_redirects_and_source_copies';"
        )
    with Library(db_path) as lib:
        assert lib.upgrade_pending() == ["site"]
        assert [Path(h.path).name for h in lib.search("kiln heat", mode="bm25")] == ["kiln.md"]
        assert lib.upgrade_pending() == []
        coverage = {r.rel: (r.status, r.reason) for r in lib.coverage()}
        assert coverage["search/search_index.json"][0] == "skipped"
        assert coverage["search/search_index.json"][1].startswith("generated search index or data dump")
        assert sorted(int(r[0]) for r in lib.store.query(pages)) == page_chunks
        assert lib.vectors.count("toy") == len(page_chunks) and lib.vectors.count_missing("toy") == 0


def test_a_run_reads_an_upgraded_library_again_before_it_starts_with_progress(tmp_path: Path) -> None:
    """Not silently inside the run's first library search: the run's indexing progress shows it."""
    from deepresearch_local.agent.toolset import IndexNote, build_tools
    from deepresearch_local.paths import get_paths

    db_path = _old_library(tmp_path, get_paths().library_db)  # the user's own library
    notes: list[IndexNote] = []
    registry = build_tools(True, python=False, on_index=notes.append)
    with Library(db_path) as lib:
        assert lib.upgrade_pending() == []
    assert "local_search" in registry.names()
    root = tmp_path / "notes"
    assert sorted(n.current for n in notes if not n.finished) == ["a.md", "b.bin"]
    assert all(n.folder == root for n in notes)
    [done] = [n for n in notes if n.finished]
    assert (done.indexed, done.skipped) == (1, 1)


def test_migration_sql_with_a_trigger_is_split_into_whole_statements() -> None:
    from deepresearch_local.library.store import statements

    sql = "CREATE TABLE t (x);\nCREATE TRIGGER g AFTER DELETE ON t BEGIN SELECT 1; SELECT 2; END;\n"
    assert statements(sql) == [
        "CREATE TABLE t (x);",
        "CREATE TRIGGER g AFTER DELETE ON t BEGIN SELECT 1; SELECT 2; END;",
    ]
    assert isinstance(Store, type)


def test_chinese_and_japanese_text_is_found_by_its_words(tmp_path: Path, library: Library) -> None:
    root = tmp_path / "zh"
    root.mkdir()
    (root / "cache.md").write_text(
        "# 函数缓存\n\n装饰器可以让函数记住已经计算过的结果，再次调用时直接返回。\n", encoding="utf-8"
    )
    (root / "files.md").write_text("# 文件权限\n\n每个文件都有读、写和执行权限。\n", encoding="utf-8")
    (root / "ja.md").write_text(
        "# 一時ファイル\n\n処理が終わると自動的に削除される一時ディレクトリを作る。\n", "utf-8"
    )
    (root / "en.md").write_text("# Caching\n\nA decorator remembers results.\n", encoding="utf-8")
    library.add(root, "zh")
    # a question in other words than the page (a whole sentence, no spaces) still shares its bigrams
    assert Path(library.search("怎样让函数记住计算结果", k=1, mode="bm25")[0].path).name == "cache.md"
    assert Path(library.search("文件的执行权限", k=1)[0].path).name == "files.md"
    assert Path(library.search("一時ディレクトリを削除", k=1)[0].path).name == "ja.md"
    assert Path(library.search("decorator results", k=1)[0].path).name == "en.md"
    hit = library.search("函数缓存", k=1)[0]
    assert "函数" in hit.snippet or "装饰器" in hit.snippet
