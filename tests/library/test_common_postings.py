"""The kept postings of common words hold exactly what FTS5 holds: after a first index, after
changes brought in from the log (files changed, removed, added, chunk ids given again), after a
large change read in full, after a folder is removed; queries never use them while they are
behind the index, and a search ranks the same with them as without."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest

from deepresearch_local.library import Library, common_postings
from deepresearch_local.library.common_postings import CommonPostings, _decode, _encode
from deepresearch_local.library.model import Progress
from deepresearch_local.library.postings import Vocabulary, weighted
from deepresearch_local.library.query import quote

WORDS = ["harbour", "ferry", "timetable", "bread", "starter", "oven", "copper", "kettle", "signal", "tide"]
RARE = ["zeppelin", "quartz", "marmalade"]


def _page(rng: random.Random) -> str:
    title = " ".join(rng.sample(WORDS, 2)).title()
    sections = []
    for _ in range(rng.randint(1, 3)):
        heading = " ".join(rng.sample(WORDS, rng.randint(1, 2)))
        words = rng.choices([*WORDS, "caching", "cached"], k=rng.randint(5, 300))
        if rng.random() < 0.1:
            words.append(rng.choice(RARE))
        sections.append(f"## {heading}\n\n" + " ".join(words))
    return f"# {title}\n\n" + "\n\n".join(sections) + "\n"


def _write(root: Path, names: range, seed: int) -> None:
    root.mkdir(parents=True, exist_ok=True)
    for n in names:
        (root / f"page{n:03d}.md").write_text(_page(random.Random(seed * 1000 + n)), "utf-8")


def _fts5(library: Library, term: str) -> tuple[list[int], list[float]]:
    rows = library.store.query(
        "SELECT rowid, rank FROM chunks_fts WHERE chunks_fts MATCH ? ORDER BY rowid", (quote(term),)
    )
    return [int(r[0]) for r in rows], [-float(r[1]) for r in rows]


def _kept_words(library: Library) -> list[str]:
    return [str(r[0]) for r in library.store.query("SELECT term FROM common_postings ORDER BY term")]


def _holds_fts5(library: Library) -> int:
    """Every kept word's rows are what FTS5 holds now, and it is scored from them to FTS5's own
    doubles; returns how many words are kept."""
    kept = CommonPostings(library.store)
    vocabulary = Vocabulary(library.store)
    definition = vocabulary.definition()
    assert definition is not None
    words = _kept_words(library)
    for word in words:
        stored = kept.postings(word)
        assert stored is not None, word
        with library.store.lock:
            hits = vocabulary.hits(word)
        assert hits is not None
        live = weighted(*hits, definition[2])
        assert stored[0].tolist() == live[0].tolist(), word
        assert stored[1].tolist() == live[1].tolist(), word
        assert kept.docs(word) == len(live[0])
        scored = vocabulary.scores(word)
        assert scored is not None
        ids, values = _fts5(library, word)
        assert scored[0].tolist() == ids and scored[1].tolist() == values, word
    return len(words)


@pytest.fixture(autouse=True)
def _small_library(monkeypatch: pytest.MonkeyPatch) -> None:
    """A test library is small: words held by a dozen chunks count as common."""
    monkeypatch.setattr(common_postings, "MIN_CHUNKS", 12)


def test_kept_postings_are_fts5s_after_every_kind_of_change(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    _write(docs, range(60), seed=1)
    steps: list[Progress] = []
    with Library(tmp_path / "lib.sqlite3") as library:
        report = library.add(docs, "docs", on_progress=steps.append)
        preparing = [p for p in steps if p.status == "preparing"]
        assert preparing and preparing[-1].done == preparing[-1].total == len(_kept_words(library))
        assert report.prepare_seconds > 0 and report.seconds >= report.prepare_seconds
        assert _holds_fts5(library) >= len(WORDS)  # every common word, and no rare one
        assert not set(RARE) & set(_kept_words(library))
        assert library.store.query("SELECT COUNT(*) FROM common_postings_log")[0][0] == 0

        # a small change: some pages rewritten, some removed, and the page holding the largest
        # chunk ids rewritten too: its new chunks get the same ids (SQLite numbers new chunks
        # from the largest id), so one id leaves and enters the index in the same run
        for n in range(0, 60, 9):
            (docs / f"page{n:03d}.md").unlink()
        for n in range(1, 60, 7):
            _write(docs, range(n, n + 1), seed=2)
        library.reindex("docs")
        last = library.store.query(
            "SELECT f.rel, MIN(c.id) FROM chunks c JOIN files f ON f.id = c.file_id "
            "WHERE c.file_id = (SELECT file_id FROM chunks ORDER BY id DESC LIMIT 1)"
        )[0]
        (docs / str(last[0])).write_text(_page(random.Random(99)), "utf-8")
        library.reindex("docs")
        again = library.store.query(
            "SELECT MIN(c.id) FROM chunks c JOIN files f ON f.id = c.file_id WHERE f.rel = ?", (last[0],)
        )
        assert again[0][0] == last[1]  # the same ids, other words
        refreshed = library.store.companion(CommonPostings).refresh()
        assert refreshed.how == "current"
        assert _holds_fts5(library) >= len(WORDS)

        # a large change is read again in full
        _write(docs, range(61, 140), seed=4)
        library.reindex("docs")
        assert _holds_fts5(library) >= len(WORDS)


def test_changes_are_brought_in_from_the_log_not_read_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    docs = tmp_path / "docs"
    _write(docs, range(50), seed=5)
    with Library(tmp_path / "lib.sqlite3") as library:
        library.add(docs, "docs")
        kept = library.store.companion(CommonPostings)
        read_all = kept._read_all
        calls: list[str] = []

        def counted(*args: object, **kwargs: object) -> tuple[str, int]:
            calls.append("read")
            return read_all(*args, **kwargs)  # type: ignore[arg-type]

        monkeypatch.setattr(kept, "_read_all", counted)
        _write(docs, range(3), seed=6)
        (docs / "page010.md").unlink()
        library.reindex("docs")
        assert calls == []  # from the log alone
        assert _holds_fts5(library) >= len(WORDS)


def test_postings_behind_the_index_are_not_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    docs = tmp_path / "docs"
    _write(docs, range(40), seed=7)
    with Library(tmp_path / "lib.sqlite3") as library:
        library.add(docs, "docs")
        kept = library.store.companion(CommonPostings)
        assert kept.docs("kettl") is not None  # the stem FTS5 indexes "kettle" as
        with monkeypatch.context() as frozen:  # a writer that never brings them up to date
            stopped = common_postings.Refreshed("stopped")
            frozen.setattr(CommonPostings, "refresh", lambda self, *a, **k: stopped)
            _write(docs, range(40, 45), seed=8)
            library.reindex("docs")
        assert kept.docs("kettl") is None and kept.postings("kettl") is None
        monkeypatch.setattr("deepresearch_local.library.postings.INSTANCE_RATIO", 1e9)  # no FTS5
        vocabulary = Vocabulary(library.store)
        scored = vocabulary.scores("kettle")
        assert scored is not None and scored[0].tolist() == _fts5(library, "kettle")[0]
        assert library.store.frequency("kettle") == len(_fts5(library, "kettle")[0])
        assert kept.refresh().how == "updated"
        assert kept.docs("kettl") == len(_fts5(library, "kettle")[0])


def test_search_ranks_the_same_with_kept_postings(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    _write(docs, range(50), seed=9)
    queries = ["kettle on the copper oven", "ferry timetable at high tide", "starter bread signal"]
    with Library(tmp_path / "with.sqlite3") as library:
        library.add(docs, "docs")
        assert _kept_words(library)
        kept = [[(h.path, h.score, h.location) for h in library.search(q, 5, mode="bm25")] for q in queries]
    with Library(tmp_path / "without.sqlite3") as library:
        library.add(docs, "docs")
        library.store.db.execute("DELETE FROM common_postings_state")
        library.store.companion(CommonPostings)._at = None
        live = [[(h.path, h.score, h.location) for h in library.search(q, 5, mode="bm25")] for q in queries]
    assert kept == live


def test_removing_a_folder_brings_them_up_to_date(tmp_path: Path) -> None:
    _write(tmp_path / "a", range(40), seed=10)
    _write(tmp_path / "b", range(10), seed=11)
    with Library(tmp_path / "lib.sqlite3") as library:
        library.add(tmp_path / "a", "a")
        library.add(tmp_path / "b", "b")
        assert _holds_fts5(library)
        library.remove("b")
        assert library.store.companion(CommonPostings).refresh().how == "current"
        assert _holds_fts5(library)


def test_encoding_keeps_every_id_and_double() -> None:
    ids = np.array([3, 9, 2**33 + 5], dtype=np.int64)
    freq = np.array([1.0, 0.1, 3.5])  # 0.1 needs a double
    decoded = _decode(3, *_encode(ids, freq))
    assert decoded is not None
    assert decoded[0].tolist() == ids.tolist() and decoded[1].tolist() == freq.tolist()
    small = _encode(np.array([1, 2], dtype=np.int64), np.array([1.0, 2.0]))
    assert _decode(2, *small) is not None
    assert _decode(3, *small) is None  # blobs that do not hold what the row says are refused
    assert _decode(2, b"not zlib", small[1]) is None


def test_a_library_indexed_before_they_existed_gets_them_before_a_research_run(tmp_path: Path) -> None:
    from deepresearch_local.agent.toolset import IndexNote, catch_up_library

    docs = tmp_path / "docs"
    _write(docs, range(40), seed=12)
    with Library(tmp_path / "lib.sqlite3") as library:
        library.add(docs, "docs")
        with library.store.transaction() as db:  # as an index made by the version before
            db.execute("DELETE FROM common_postings")
            db.execute("DELETE FROM common_postings_state")
        notes: list[IndexNote] = []
        catch_up_library(library, notes.append)
        assert notes and notes[-1].current == common_postings.LABEL and notes[-1].done == notes[-1].total
        assert _holds_fts5(library) >= len(WORDS)
        notes.clear()
        catch_up_library(library, notes.append)  # up to date: nothing to read, nothing to show
        assert notes == []


def test_a_database_error_while_preparing_leaves_the_index_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sqlite3

    docs = tmp_path / "docs"
    _write(docs, range(30), seed=13)

    def full_disk(*args: object, **kwargs: object) -> tuple[str, int]:
        raise sqlite3.OperationalError("database or disk is full")

    with Library(tmp_path / "lib.sqlite3") as library:
        monkeypatch.setattr(CommonPostings, "_read_all", full_disk)
        report = library.add(docs, "docs")
        assert report.indexed == 30
        assert any("database or disk is full" in note and "next run" in note for note in report.notes)
        assert library.search("kettle copper", 3, mode="bm25")  # searches read FTS5 meanwhile
        monkeypatch.undo()
        monkeypatch.setattr(common_postings, "MIN_CHUNKS", 12)
        library.reindex("docs")
        assert _holds_fts5(library) >= len(WORDS)


def test_ready_for_search_loads_what_every_search_reads(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    _write(docs, range(20), seed=14)
    with Library(tmp_path / "lib.sqlite3") as library:
        library.add(docs, "docs")
    for ready in (False, True):
        with Library(tmp_path / "lib.sqlite3") as fresh:
            if ready:
                assert fresh.ready_for_search() >= 0
            statements: list[str] = []
            fresh.store.db.set_trace_callback(statements.append)
            assert fresh.search("kettle on the copper oven", 3, mode="bm25")
            fresh.store.db.set_trace_callback(None)
            ours = ("group_concat(hex(sz)", "SELECT id, file_id FROM chunks")  # every length, every owner
            loads = [s for s in statements if any(part in s for part in ours)]
            assert bool(loads) is not ready  # read by the first search unless loaded ahead


def test_words_queries_drop_are_not_kept_and_still_found(tmp_path: Path) -> None:
    """ "the" and "was" are in every chunk but no query looks them up: not kept. "needs" shares
    its indexed form with the dropped "need" and is kept; a query of dropped words alone still
    finds what FTS5 finds."""
    docs = tmp_path / "docs"
    docs.mkdir()
    for n in range(40):
        rng = random.Random(n)
        body = " ".join(f"the {w} was here and it needs {rng.choice(WORDS)}." for w in rng.sample(WORDS, 6))
        (docs / f"page{n:03d}.md").write_text(f"# Page {n}\n\n{body}\n", "utf-8")
    with Library(tmp_path / "lib.sqlite3") as library:
        library.add(docs, "docs")
        kept = _kept_words(library)
        assert "the" not in kept and "wa" not in kept and "and" not in kept
        assert "need" in kept and "harbour" in kept
        assert _holds_fts5(library) == len(kept)
        found = library.search("the was", 5, mode="bm25")
        ids, _ = _fts5(library, "the")
        assert found and len(ids) >= 40
