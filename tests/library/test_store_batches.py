"""Writes batched into one transaction (how a folder is indexed): committed together, searchable
meanwhile through the library's own connection, and never mixed with another thread's write."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from deepresearch_local.library.store import Store


def _keys(path: Path) -> list[str]:
    """What another connection (another process, say) sees committed."""
    with sqlite3.connect(path) as other:
        rows = other.execute("SELECT key FROM library_state WHERE key LIKE 'k%' ORDER BY key")
        return [row[0] for row in rows]


def _put(store: Store, key: str) -> None:
    with store.transaction() as db:
        db.execute("INSERT INTO library_state (key, value) VALUES (?, 1)", (key,))


def test_a_batch_commits_its_writes_together(tmp_path: Path) -> None:
    store = Store(tmp_path / "lib.sqlite3")
    with store.batched():
        _put(store, "k1")
        _put(store, "k2")
        assert _keys(tmp_path / "lib.sqlite3") == []  # not committed yet
        assert len(store.query("SELECT key FROM library_state WHERE key LIKE 'k%'")) == 2  # seen here
    assert _keys(tmp_path / "lib.sqlite3") == ["k1", "k2"]
    _put(store, "k3")  # outside a batch: at once
    assert _keys(tmp_path / "lib.sqlite3") == ["k1", "k2", "k3"]
    store.close()


def test_a_failed_write_rolls_the_batch_back_and_is_reported(tmp_path: Path) -> None:
    store = Store(tmp_path / "lib.sqlite3")
    with pytest.raises(sqlite3.IntegrityError), store.batched():
        _put(store, "k1")
        _put(store, "k1")  # the same key twice
    assert _keys(tmp_path / "lib.sqlite3") == []
    assert not store.db.in_transaction
    _put(store, "k2")  # the library goes on as before
    assert _keys(tmp_path / "lib.sqlite3") == ["k2"]
    store.close()


def test_another_threads_write_commits_the_batch_first_and_stays_its_own(tmp_path: Path) -> None:
    store = Store(tmp_path / "lib.sqlite3")
    failed: list[BaseException] = []

    def elsewhere() -> None:
        _put(store, "k2")
        try:
            with store.transaction() as db:
                db.execute("INSERT INTO library_state (key, value) VALUES ('k3', 1)")
                raise RuntimeError("this write fails")
        except RuntimeError as exc:
            failed.append(exc)

    with store.batched():
        _put(store, "k1")
        thread = threading.Thread(target=elsewhere)
        thread.start()
        thread.join()
        assert _keys(tmp_path / "lib.sqlite3") == ["k1", "k2"]  # the batch went first; k3 rolled back
        _put(store, "k4")
        seen: list[list[str]] = []

        def batch_elsewhere() -> None:  # a second batch at once: its writes commit one by one
            with store.batched():
                _put(store, "k5")
                seen.append(_keys(tmp_path / "lib.sqlite3"))

        other = threading.Thread(target=batch_elsewhere)
        other.start()
        other.join()
        assert seen == [["k1", "k2", "k4", "k5"]]
        _put(store, "k6")  # this thread still batches
        assert _keys(tmp_path / "lib.sqlite3") == ["k1", "k2", "k4", "k5"]
    assert failed and _keys(tmp_path / "lib.sqlite3") == ["k1", "k2", "k4", "k5", "k6"]
    store.close()


def test_the_batch_can_commit_before_a_wait_and_go_on(tmp_path: Path) -> None:
    store = Store(tmp_path / "lib.sqlite3")
    with store.batched():
        _put(store, "k1")
        store.commit_batch()  # the indexer does this before waiting on a slow file
        assert _keys(tmp_path / "lib.sqlite3") == ["k1"]
        with sqlite3.connect(tmp_path / "lib.sqlite3", timeout=0.1) as other:  # others may write now
            other.execute("INSERT INTO library_state (key, value) VALUES ('k2', 1)")
        _put(store, "k3")
        assert _keys(tmp_path / "lib.sqlite3") == ["k1", "k2"]
    assert _keys(tmp_path / "lib.sqlite3") == ["k1", "k2", "k3"]
    store.commit_batch()  # outside a batch: nothing to do
    store.close()


def test_one_look_reads_other_commits_once_and_own_writes_always(tmp_path: Path) -> None:
    """A search looks for other connections' commits once (``one_look``): inside it, another
    process's commit is not seen, this connection's own writes are, and another thread looks
    for itself; after it, everything is seen again."""
    path = tmp_path / "lib.sqlite3"
    store = Store(path)
    start = store.generation()
    with store.one_look():
        with sqlite3.connect(path) as other:
            other.execute("INSERT INTO library_state (key, value) VALUES ('k-other', 1)")
        assert store.generation() == start  # looked for once, at the start
        seen_by_another_thread: list[tuple[int, int]] = []
        thread = threading.Thread(target=lambda: seen_by_another_thread.append(store.generation()))
        thread.start()
        thread.join()
        assert seen_by_another_thread[0] != start
        with store.one_look():  # nested: the outer look stands
            assert store.generation() == start
        _put(store, "k-own")
        own = store.generation()
        assert own != start
    assert store.generation() != own  # the other connection's commit, now looked for
