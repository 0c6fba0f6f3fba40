"""Reading many files with several processes, results in the order asked for.

Extraction (``extract``) is pure Python and holds the GIL, so threads would not help: worker
processes do it while the indexing process decides and stores. Processes are started with
"spawn" on every OS (a fork of a process with threads, as the TUI is, is not safe), a few files
ahead of the one being stored, so memory stays bounded however large the folder. Anything that
goes wrong with the workers (they cannot start, one dies) leaves the rest of the run to the
calling process, reading the files one by one as it would without workers: nothing is lost.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Generator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures import TimeoutError as WaitedTooLong  # the builtin one only from 3.11
from dataclasses import dataclass, replace
from typing import TypeVar

from deepresearch_local.library.cores import cores
from deepresearch_local.library.extract import Extracted, Job, extract

PARALLEL_FROM = 48
"""Fewer files than this are read in the calling process (starting workers costs ~0.3 s)."""
BATCH = 4
"""Files per message to a worker: one message per file costs the indexing process more than
the file's results do."""
AHEAD_PER_WORKER = 8
"""Messages handed out ahead of the one being stored, per worker. Results come back in order, so
a file that takes long (a large page, a long PDF) holds up the ones behind it; with little handed
out, the other workers run dry meanwhile (2 -> 8 took the Python docs from 3.0 s to 2.7 s on two
cores)."""
AHEAD_BYTES = 64 * 1024 * 1024
"""...and files of at most this many bytes in all (their sizes when listed), so a folder of large
files holds little in memory; one message per worker is always handed out."""
SLOW_WAIT = 0.05
"""Seconds a result may keep the indexing process waiting before ``Reads.on_wait`` is called."""
SLOW_BYTES = 1024 * 1024
"""Files this large, read in the indexing process itself, are announced to ``Reads.on_wait``."""
MAX_WORKERS = 6
WORKERS_ENV = "DEEPRESEARCH_INDEX_WORKERS"

T = TypeVar("T")
R = TypeVar("R")


@dataclass
class Reads:
    """How a run's files were read: by how many worker processes, and why they stopped if they did."""

    workers: int = 0
    broken: str = ""
    """Why the workers were given up (the rest was read in the indexing process), or ""."""
    on_wait: Callable[[], None] | None = None
    """Called before waiting on a result that is slow to come (``SLOW_WAIT``) or reading a large
    file in this process (``SLOW_BYTES``): the indexer commits what it has stored meanwhile."""


def default_workers() -> int:
    """Processes that read files while a folder is indexed: one per core (at most
    ``MAX_WORKERS``), or ``DEEPRESEARCH_INDEX_WORKERS`` (0 or 1: read in the indexing process).

    Workers are started with "spawn", which imports the program's main module again: a script
    that indexes must guard its work with ``if __name__ == "__main__":`` (as every program
    using ``multiprocessing`` must), or set ``DEEPRESEARCH_INDEX_WORKERS=0``."""
    import multiprocessing

    if multiprocessing.parent_process() is not None:  # a worker itself: never a pool of its own
        return 0
    value = os.environ.get(WORKERS_ENV, "").strip()
    if value.isdigit():
        return int(value)
    return min(cores(), MAX_WORKERS) if cores() > 1 else 0


def exit_with_parent() -> None:
    """In a worker: end as soon as the process that started it is gone (killed, crashed), so no
    worker outlives the app. The parent's end of a pipe closes when it dies; a thread waits for
    that."""
    import multiprocessing
    import threading

    parent = multiprocessing.parent_process()
    if parent is None:
        return

    def watch() -> None:
        parent.join()
        os._exit(1)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


def ordered_map(
    function: Callable[[T], R],
    items: Sequence[T],
    workers: int,
    reads: Reads | None = None,
    size: Callable[[T], int] | None = None,
    ahead_bytes: int = AHEAD_BYTES,
) -> Generator[R, None, None]:
    """``function`` over ``items`` in ``workers`` processes, yielded in order. ``function`` must
    be a module-level function and should not raise: an item whose call raised there, or whose
    worker died, is done again in this process (where an exception is raised as without workers),
    and after a worker died the rest is done here too. ``reads`` records what happened.

    At most ``workers * AHEAD_PER_WORKER`` items are handed out ahead of the one yielded, and
    beyond ``workers`` of them only while their ``size`` adds up to at most ``ahead_bytes``."""
    reads = reads if reads is not None else Reads()
    if workers < 2 or len(items) < 2:
        yield from map(function, items)
        return
    try:
        import multiprocessing

        context = multiprocessing.get_context("spawn")
        pool = ProcessPoolExecutor(workers, mp_context=context, initializer=exit_with_parent)
    except (OSError, ValueError, ImportError, NotImplementedError) as exc:  # no processes here
        reads.broken = f"worker processes cannot start here ({exc})"
        yield from map(function, items)
        return
    reads.workers = workers
    window: deque[tuple[T, Future[R], int]] = deque()
    held = 0
    try:
        for item in items:
            cost = size(item) if size is not None else 0
            while len(window) >= workers * AHEAD_PER_WORKER or (
                len(window) >= workers and held + cost > ahead_bytes
            ):
                done, future, weight = window.popleft()
                held -= weight
                yield _result(function, done, future, reads)
            if reads.broken:
                window.append((item, _done(function, item), cost))
            else:
                try:
                    window.append((item, pool.submit(function, item), cost))
                except Exception as exc:  # the pool broke (a worker died): the rest here
                    reads.broken = f"a worker process stopped ({type(exc).__name__})"
                    window.append((item, _done(function, item), cost))
            held += cost
        while window:
            done, future, _ = window.popleft()
            yield _result(function, done, future, reads)
    finally:
        pool.shutdown(wait=False, cancel_futures=True)


def _done(function: Callable[[T], R], item: T) -> Future[R]:
    """A future already holding ``function(item)``, computed here."""
    future: Future[R] = Future()
    future.set_result(function(item))
    return future


def _result(function: Callable[[T], R], item: T, future: Future[R], reads: Reads) -> R:
    if reads.on_wait is not None and not future.done():
        try:
            return future.result(timeout=SLOW_WAIT)
        except WaitedTooLong:
            reads.on_wait()
        except Exception:  # a dead worker, or the call failed there: handled below
            pass
    try:
        return future.result()
    except Exception as exc:  # a dead worker, or the call failed there: do it here
        from concurrent.futures.process import BrokenProcessPool

        if isinstance(exc, BrokenProcessPool) and not reads.broken:
            reads.broken = "a worker process stopped (BrokenProcessPool)"
        return function(item)


def _extract_all(jobs: Sequence[Job]) -> list[Extracted]:
    return [_extract_here(job) for job in jobs]


def _extract_here(job: Job) -> Extracted:
    """A job's extraction in a worker: a likely copy's text stays here (it is rarely kept, and
    sending it costs the indexing process as much as storing it)."""
    found = extract(job)
    if job.likely_copy and found.document is not None:
        return replace(found, document=None, withheld=True)
    return found


def extracted(
    jobs: Sequence[Job], workers: int, reads: Reads | None = None
) -> Generator[Extracted, None, None]:
    """Each job's extraction, in order; read by ``workers`` processes when there are at least
    ``PARALLEL_FROM`` files (chunks are then cut there too, except for likely copies, whose
    text is withheld), ``BATCH`` files per message."""
    if workers < 2 or len(jobs) < PARALLEL_FROM:
        for job in jobs:
            if reads is not None and reads.on_wait is not None and job.size >= SLOW_BYTES:
                reads.on_wait()
            yield extract(job)
        return
    ready = [replace(job, chunk=not job.likely_copy) for job in jobs]
    batches = [ready[at : at + BATCH] for at in range(0, len(ready), BATCH)]
    for batch in ordered_map(_extract_all, batches, workers, reads, size=_batch_size):
        yield from batch


def _batch_size(jobs: Sequence[Job]) -> int:
    return sum(job.size for job in jobs)
