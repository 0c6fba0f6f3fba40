"""Index one library folder incrementally, recording what happened to every file and why.

A file is read again only when its size or modification time changed, and re-extracted only when
its content hash changed too; files gone from disk lose their chunks. Nothing a file contains can
stop the run: damaged, huge, binary, unreadable or oddly encoded files each end as a coverage
record (``indexed``, ``skipped`` or ``failed``) with a reason.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import stat
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from deepresearch_local.library.chunking import chunk_document
from deepresearch_local.library.detect import looks_binary
from deepresearch_local.library.model import Chunk, IndexReport, Progress, ProgressCallback, Status
from deepresearch_local.library.readers import ReaderSkip, read_document
from deepresearch_local.library.store import Store
from deepresearch_local.library.walk import Entry, walk

BINARY_KINDS = frozenset({"pdf", "docx"})


@dataclass(frozen=True)
class Limits:
    max_text_bytes: int = 16 * 1024 * 1024
    """Text, code, CSV, Markdown and HTML files above this are skipped as too large."""
    max_document_bytes: int = 256 * 1024 * 1024
    """PDF and DOCX files above this are skipped as too large."""


def read_bytes(path: Path, limit: int) -> bytes:
    """The file's bytes (at most ``limit`` + 1). Refuses anything but a regular file and never
    blocks on a FIFO or follows a link swapped in after the walk."""
    flags = (
        os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0)
    )
    fd = os.open(path, flags)
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
            raise OSError(0, "not a regular file")
        return handle.read(limit + 1)


DEFAULT_LIMITS = Limits()


def _mib(n: int) -> str:
    return f"{n / 1024 / 1024:.1f} MiB"


def _same_stat(row: sqlite3.Row, size: int, mtime_ns: int | None) -> bool:
    """Size and modification time as recorded, and the last run got past reading the file (a file
    that could not be read at all has no hash and is tried again)."""
    read_before = row["sha256"] is not None or row["status"] == "skipped"
    return read_before and (row["size"], row["mtime_ns"]) == (size, mtime_ns)


class FolderIndexer:
    """Brings the index of one folder up to date with the files on disk."""

    def __init__(
        self, store: Store, folder_id: int, name: str, root: Path, limits: Limits = DEFAULT_LIMITS
    ) -> None:
        self.store, self.folder_id, self.name, self.root, self.limits = store, folder_id, name, root, limits

    def _save(
        self,
        entry: Entry,
        status: Status,
        reason: str,
        *,
        kind: str = "",
        sha256: str | None = None,
        title: str = "",
        chunks: Sequence[Chunk] = (),
        search_title: str = "",
    ) -> None:
        values: dict[str, object] = {
            "path": str(entry.path),
            "kind": kind or entry.kind,
            "size": entry.size,
            "mtime_ns": entry.mtime_ns,
            "sha256": sha256,
            "status": status,
            "reason": reason,
            "title": title,
        }
        with self.store.transaction() as db:
            self.store.save_file(db, self.folder_id, entry.rel, values, chunks, search_title)

    def _one(self, entry: Entry, row: sqlite3.Row | None, full: bool) -> tuple[Status | None, str, int]:
        """Index one entry: (status, reason, chunks); status None means unchanged."""
        if entry.skip:
            status: Status = "failed" if entry.failed else "skipped"
            self._save(entry, status, entry.skip)
            return status, entry.skip, 0
        size = entry.size or 0
        if not full and row is not None and _same_stat(row, size, entry.mtime_ns):
            return None, "", 0
        limit = self.limits.max_document_bytes if entry.kind in BINARY_KINDS else self.limits.max_text_bytes
        if size > limit:
            reason = f"too large ({_mib(size)}; the limit for this type is {_mib(limit)})"
            self._save(entry, "skipped", reason)
            return "skipped", reason, 0
        if size == 0:
            self._save(entry, "skipped", "empty file")
            return "skipped", "empty file", 0
        try:
            data = read_bytes(entry.path, limit)
        except OSError as exc:
            reason = f"cannot read the file ({exc.strerror or exc})"
            self._save(entry, "failed", reason)
            return "failed", reason, 0
        if len(data) > limit:  # it grew since it was listed
            reason = f"too large (over {_mib(limit)}, the limit for this type)"
            self._save(entry, "skipped", reason)
            return "skipped", reason, 0
        digest = hashlib.sha256(data).hexdigest()
        if not full and row is not None and row["sha256"] == digest:
            with self.store.transaction() as db:
                db.execute(
                    "UPDATE files SET size = ?, mtime_ns = ? WHERE id = ?", (size, entry.mtime_ns, row["id"])
                )
            return None, "", 0
        kind = entry.kind
        if kind == "sniff":
            if looks_binary(data):
                reason = "binary content (unknown file type)"
                self._save(entry, "skipped", reason, sha256=digest)
                return "skipped", reason, 0
            kind = "text"
        try:
            document = read_document(kind, data, entry.path.name)
            chunks = chunk_document(document)
        except ReaderSkip as exc:
            self._save(entry, "skipped", str(exc), kind=kind, sha256=digest)
            return "skipped", str(exc), 0
        except Exception as exc:  # a damaged file must never stop the run
            reason = str(exc) if isinstance(exc, ValueError) else f"{type(exc).__name__}: {exc}"
            reason = reason[:300]
            self._save(entry, "failed", reason, kind=kind, sha256=digest)
            return "failed", reason, 0
        if not chunks:
            self._save(entry, "skipped", "no text", kind=kind, sha256=digest)
            return "skipped", "no text", 0
        search_title = f"{document.title} {entry.path.name}"
        self._save(
            entry,
            "indexed",
            document.note,
            kind=kind,
            sha256=digest,
            title=document.title,
            chunks=chunks,
            search_title=search_title,
        )
        return "indexed", document.note, len(chunks)

    def run(
        self,
        on_progress: ProgressCallback | None = None,
        full: bool = False,
        should_stop: Callable[[], bool] | None = None,
    ) -> IndexReport:
        started = time.perf_counter()
        report = IndexReport(folder=self.name, root=str(self.root))
        rows = self.store.query(
            "SELECT id, rel, size, mtime_ns, sha256, status FROM files WHERE folder_id = ?", (self.folder_id,)
        )
        existing = {row["rel"]: row for row in rows}
        entries = list(walk(self.root))
        seen: set[str] = set()
        stopped = False
        for done, entry in enumerate(entries, start=1):
            if should_stop is not None and should_stop():
                stopped = True
                report.notes.append(f"stopped after {done - 1} of {len(entries)} files")
                break
            seen.add(entry.rel)
            status, reason, count = self._one(entry, existing.get(entry.rel), full)
            if status is None:
                report.unchanged += 1
            elif not entry.skip:
                report.changed += 1
                report.chunks_added += count
            if on_progress is not None:
                on_progress(Progress(done, len(entries), entry.rel, status or "unchanged", reason, count))
        if not stopped:
            gone = [int(row["id"]) for rel, row in existing.items() if rel not in seen]
            if gone:
                with self.store.transaction() as db:
                    self.store.delete_files(db, gone)
            report.removed = len(gone)
            with self.store.transaction() as db:
                db.execute("UPDATE folders SET indexed_at = ? WHERE id = ?", (time.time(), self.folder_id))
        for row in self.store.query(
            "SELECT status, COUNT(*) AS n, SUM(chunks) AS c FROM files WHERE folder_id = ? GROUP BY status",
            (self.folder_id,),
        ):
            setattr(report, row["status"], int(row["n"]))
            report.chunks += int(row["c"] or 0)
        report.files = report.indexed + report.skipped + report.failed
        report.seconds = round(time.perf_counter() - started, 3)
        return report
