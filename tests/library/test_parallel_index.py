"""Folders read by worker processes index exactly as when the indexing process reads every file,
and nothing is lost when a worker dies or the run is stopped."""

from __future__ import annotations

import multiprocessing
import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from deepresearch_local.library import IndexReport, Library
from deepresearch_local.library.extract import Job
from deepresearch_local.library.indexer import FolderIndexer
from deepresearch_local.library.parallel import AHEAD_PER_WORKER, PARALLEL_FROM, Reads, extracted, ordered_map
from tests.library.corpus import pdf_bytes, write_docx
from tests.library.generated import build_generated, html_page, prose

FILES = PARALLEL_FROM + 30


def build_many(root: Path) -> None:
    """A folder well over ``PARALLEL_FROM`` files: a generated documentation set (rendered page,
    its source, a copy, search index, bundle, map, lock file), pages, notes, XHTML in a legacy
    charset, a PDF, a corrupt PDF, a DOCX, binary data, empty and blank files."""
    build_generated(root)
    for n in range(FILES - 20):
        paragraphs = [prose(100 + n * 3 + i, 5) for i in range(3)]
        if n % 3 == 0:
            text = html_page(f"Page {n}", paragraphs, f"Marker word zeta{n}.")
            (root / f"page{n:03d}.html").write_text(text, encoding="utf-8")
        elif n % 3 == 1:
            body = "\n\n".join(" ".join(p) for p in paragraphs)
            (root / f"note{n:03d}.md").write_text(f"# Note {n}\n\nMarker word zeta{n}.\n\n{body}\n", "utf-8")
        else:
            text = f"Marker word zeta{n}.\n" + "\n".join(paragraphs[0])
            (root / f"plain{n:03d}.txt").write_text(text, encoding="utf-8")
    xhtml = (
        "<?xml version='1.0' encoding='iso-8859-1'?>\n<html xmlns='http://www.w3.org/1999/xhtml'>"
        "<head><title>Café</title></head><body><p>Crème brûlée costs four crowns.</p></body></html>"
    )
    (root / "legacy.xhtml").write_bytes(xhtml.encode("iso-8859-1"))
    (root / "report.pdf").write_bytes(pdf_bytes([["Annual report", "The axolotl survey counted 42."]]))
    (root / "corrupt.pdf").write_bytes(b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog /Pages 9 0 R\nnot a pdf")
    write_docx(root / "memo.docx")
    (root / "blob").write_bytes(bytes(range(256)) * 8)  # no extension: told apart by its content
    (root / "CHANGES").write_text("Version 2 renamed the quokka option.\n", encoding="utf-8")
    # One name in two formats that are not copies: the text is kept after all (read again).
    (root / "history.html").write_text(html_page("History", [prose(901, 6)], "Founded in a barn."), "utf-8")
    (root / "history.txt").write_text("\n".join(prose(902, 8)) + "\nThe quillwort ledger.\n", "utf-8")
    (root / "empty.txt").write_bytes(b"")
    (root / "blank.md").write_text("\n   \n\n", encoding="utf-8")


def _dump(db_path: Path) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
    """Every file's record and every chunk (by file), ids left out."""
    with sqlite3.connect(db_path) as db:
        files = db.execute(
            "SELECT rel, kind, status, reason, sha256, title, chunks FROM files ORDER BY rel"
        ).fetchall()
        chunks = db.execute(
            "SELECT f.rel, c.ordinal, c.page, c.line_start, c.line_end, c.heading, t.title, t.body, t.cjk "
            "FROM chunks c JOIN files f ON f.id = c.file_id JOIN chunks_fts t ON t.rowid = c.id "
            "ORDER BY f.rel, c.ordinal"
        ).fetchall()
    return files, chunks


def _index(root: Path, db_path: Path, workers: int) -> tuple[Library, IndexReport]:
    library = Library(db_path)
    library.store.db.execute("INSERT INTO folders (name, root, added_at) VALUES ('many', ?, 0)", (str(root),))
    folder_id = int(library.store.query("SELECT id FROM folders WHERE name = 'many'")[0][0])
    report = FolderIndexer(library.store, folder_id, "many", root, workers=workers).run()
    return library, report


def test_workers_index_exactly_what_one_process_does(tmp_path: Path) -> None:
    root = tmp_path / "many"
    root.mkdir()
    build_many(root)
    alone, alone_report = _index(root, tmp_path / "alone.sqlite3", workers=0)
    shared, shared_report = _index(root, tmp_path / "shared.sqlite3", workers=2)
    assert alone_report.workers == 0
    assert shared_report.workers == 2, shared_report.notes
    assert not any("worker" in note for note in shared_report.notes)
    files, chunks = _dump(tmp_path / "shared.sqlite3")
    assert (files, chunks) == _dump(tmp_path / "alone.sqlite3")
    statuses = {str(rel): (str(status), str(reason)) for rel, _, status, reason, *_ in files}
    # The folder really holds every case: copies, generated files, failures, skips, legacy XHTML.
    assert statuses["corrupt.pdf"][0] == "failed"
    assert statuses["_sources/guide.rst.txt"][1].startswith("duplicate of")
    assert statuses["searchindex.js"][0] == "skipped"
    assert statuses["legacy.xhtml"][0] == "indexed"
    assert statuses["blob"][1].startswith("binary")
    assert statuses["CHANGES"][0] == "indexed"
    assert statuses["history.txt"][0] == statuses["history.html"][0] == "indexed"
    assert sum(1 for status, _ in statuses.values() if status == "indexed") >= FILES - 20
    for lib in (alone, shared):
        assert [h.path for h in lib.search("zeta7")] == [str(root / "note007.md")]
        assert "Crème brûlée" in lib.search("brûlée")[0].snippet
        assert [h.path for h in lib.search("quillwort")] == [str(root / "history.txt")]
        lib.close()


def test_an_unchanged_folder_is_not_read_again_and_a_changed_file_is(tmp_path: Path) -> None:
    root = tmp_path / "many"
    root.mkdir()
    build_many(root)
    library, _ = _index(root, tmp_path / "lib.sqlite3", workers=2)
    folder_id = int(library.store.query("SELECT id FROM folders")[0][0])
    again = FolderIndexer(library.store, folder_id, "many", root, workers=2).run()
    assert (again.changed, again.removed, again.chunks_added) == (0, 0, 0)
    (root / "note001.md").write_text("# Note 1\n\nThe okapi moved house.\n", encoding="utf-8")
    third = FolderIndexer(library.store, folder_id, "many", root, workers=2).run()
    assert third.changed == 1
    assert [h.path for h in library.search("okapi")] == [str(root / "note001.md")]
    assert library.search("zeta1") == []
    library.close()


def test_a_stopped_run_keeps_what_it_stored_and_the_next_run_finishes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DEEPRESEARCH_INDEX_WORKERS", "2")
    root = tmp_path / "many"
    root.mkdir()
    build_many(root)
    library = Library(tmp_path / "lib.sqlite3")
    seen: list[int] = []
    first = library.add(
        root, "many", on_progress=lambda p: seen.append(p.done), should_stop=lambda: len(seen) >= 30
    )
    assert any("stopped after 30" in note for note in first.notes)
    assert first.workers == 2
    assert 0 < library.store.query("SELECT COUNT(*) FROM files")[0][0] <= 30
    library.reindex("many")
    alone, _ = _index(root, tmp_path / "alone.sqlite3", workers=0)
    assert _dump(tmp_path / "lib.sqlite3") == _dump(tmp_path / "alone.sqlite3")
    library.close()
    alone.close()


def _dies_in_a_worker(n: int) -> int:
    """n squared, but a worker process handed 7 exits on the spot (as one killed would)."""
    if n == 7 and multiprocessing.parent_process() is not None:
        os._exit(3)
    return n * n


def _fails_in_a_worker(n: int) -> int:
    if n % 5 == 0 and multiprocessing.parent_process() is not None:
        raise RuntimeError("only in a worker")
    return n * n


def test_a_worker_that_dies_loses_nothing() -> None:
    reads = Reads()
    assert list(ordered_map(_dies_in_a_worker, list(range(40)), 2, reads)) == [n * n for n in range(40)]
    assert reads.workers == 2
    assert "stopped" in reads.broken


def test_a_call_that_fails_in_a_worker_is_done_again_here() -> None:
    reads = Reads()
    assert list(ordered_map(_fails_in_a_worker, list(range(30)), 2, reads)) == [n * n for n in range(30)]
    assert reads.broken == ""  # the workers themselves kept going


def _square(n: int) -> int:
    return n * n


def _slow_at_five(n: int) -> int:
    if n == 5:
        time.sleep(0.5)
    return n * n


def test_the_indexer_hears_before_a_long_wait() -> None:
    """A result that keeps the indexing process waiting (a large file in a worker) is announced
    first, so the indexer commits what it stored and other connections can write meanwhile."""
    waits: list[int] = []
    taken: list[int] = []
    reads = Reads(on_wait=lambda: waits.append(len(taken)))
    for value in ordered_map(_slow_at_five, list(range(12)), 2, reads):
        taken.append(value)
    assert taken == [n * n for n in range(12)]
    assert 5 in waits  # announced before the slow one's result, with five results taken
    assert len(waits) < 12


def test_a_large_file_read_in_this_process_is_announced(tmp_path: Path) -> None:
    small, large = tmp_path / "small.txt", tmp_path / "large.txt"
    small.write_text("a few words\n", encoding="utf-8")
    large.write_text("many words here\n" * 80_000, encoding="utf-8")  # over SLOW_BYTES
    jobs = [Job(p, "text", 1 << 24, size=p.stat().st_size) for p in (small, large, small)]
    order: list[str] = []
    reads = Reads(on_wait=lambda: order.append("wait"))
    for found in extracted(jobs, 0, reads):
        order.append(found.title)
    assert order == ["small.txt", "wait", "large.txt", "small.txt"]


class _Counted(list[int]):
    """A list that counts how many of its items have been taken by iterating it."""

    taken = 0

    def __iter__(self) -> Iterator[int]:
        for item in super().__iter__():
            self.taken += 1
            yield item


def _ahead(size: Callable[[int], int] | None = None, ahead_bytes: int = 1 << 40) -> list[int]:
    """For each result, how many items had been taken past it when it was yielded."""
    items = _Counted(range(60))
    out = []
    results = ordered_map(_square, items, 2, size=size, ahead_bytes=ahead_bytes)
    for at, value in enumerate(results):
        assert value == at * at
        out.append(items.taken - at - 1)
    return out


def test_reading_ahead_keeps_workers_busy_and_memory_bounded() -> None:
    """Many small files are handed out well ahead (a slow file must not leave the other worker
    idle); large ones only one per worker at a time, so memory stays bounded."""
    assert max(_ahead()) == 2 * AHEAD_PER_WORKER
    assert max(_ahead(size=lambda n: 10, ahead_bytes=45)) == 4  # 4 x 10 bytes fit, a 5th does not
    assert max(_ahead(size=lambda n: 10**9, ahead_bytes=45)) == 2  # one per worker whatever the size


@pytest.mark.parametrize("entry", ["module", "script"])
def test_the_cli_reads_with_workers_started_again_from_its_main(tmp_path: Path, entry: str) -> None:
    """Spawned workers import the program's main module again: ``python -m deepresearch_local``
    and the installed script must not run the command a second time in each worker."""
    root = tmp_path / "many"
    root.mkdir()
    for n in range(PARALLEL_FROM + 4):
        (root / f"note{n}.md").write_text(f"# Note {n}\n\nShelf {n} holds box {n * 7}.\n", encoding="utf-8")
    env = dict(os.environ, DEEPRESEARCH_HOME=str(tmp_path / "home"), DEEPRESEARCH_INDEX_WORKERS="2")
    if entry == "module":
        command = [sys.executable, "-m", "deepresearch_local"]
    else:
        command = [str(Path(sys.executable).with_name("deepresearch"))]
    done = subprocess.run(
        [*command, "docs", "add", str(root), "--json"], env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    import json

    report = json.loads(done.stdout)
    assert (report["indexed"], report["failed"], report["workers"]) == (PARALLEL_FROM + 4, 0, 2), report
    assert not [n for n in report["notes"] if "worker" in n]


def _slow_pid(n: int) -> int:
    """The worker's process id, a little later (a file that takes a while to read)."""
    import time

    time.sleep(0.2)
    return os.getpid()


def test_workers_end_when_the_indexing_process_is_killed() -> None:
    """kill -9 of the app leaves no worker behind (each waits for its parent to go)."""
    import signal
    import time

    code = (
        "from deepresearch_local.library.parallel import ordered_map\n"
        "from tests.library.test_parallel_index import _slow_pid\n"
        "if __name__ == '__main__':\n"
        "    for pid in ordered_map(_slow_pid, list(range(400)), 2):\n"
        "        print(pid, flush=True)\n"
    )
    repo = Path(__file__).resolve().parents[2]
    script = subprocess.Popen(
        [sys.executable, "-c", code], cwd=repo, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    assert script.stdout is not None
    workers: set[int] = set()
    while len(workers) < 2:  # both workers have read something
        line = script.stdout.readline()
        assert line, "the script ended before its workers answered"
        workers.add(int(line))
    script.send_signal(signal.SIGKILL)
    script.wait(timeout=30)
    deadline = time.monotonic() + 60
    alive = set(workers)
    while alive and time.monotonic() < deadline:
        for pid in list(alive):
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                alive.discard(pid)
        time.sleep(0.1)
    assert not alive, f"workers {sorted(alive)} outlived the killed indexing process"
