"""Index one library folder incrementally, recording what happened to every file and why.

A file is read again only when its size or modification time changed, and re-extracted only when
its content hash changed too; files gone from disk lose their chunks. Nothing a file contains can
stop the run: damaged, huge, binary, unreadable or oddly encoded files each end as a coverage
record (``indexed``, ``skipped`` or ``failed``) with a reason.

What a person would call a document is indexed once: the folder's exclude rules, generated files
(``artefacts``) and copies of another file (``duplicates``) are skipped with their reason, and the
folder's include rules override the last two. Files are read in the order of the format the
library prefers to keep (HTML first), so a source rarely gets indexed only to be dropped when its
rendering comes; after the files, duplicates whose original changed or went away are settled
again (re-pointed to another copy, or read and indexed).
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

from deepresearch_local.library.artefacts import artefact_reason
from deepresearch_local.library.chunking import chunk_document
from deepresearch_local.library.detect import looks_binary
from deepresearch_local.library.duplicates import (
    KIND_RANK,
    Copy,
    KeptFiles,
    drop_signature,
    duplicate_reason,
    likeness,
    load_copies,
    save_signature,
)
from deepresearch_local.library.errors import ReaderSkip
from deepresearch_local.library.model import Chunk, IndexReport, Progress, ProgressCallback, Status
from deepresearch_local.library.readers import read_document
from deepresearch_local.library.rules import excluded_reason, load_rules, mark_applied
from deepresearch_local.library.signature import Signature, signature
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


@dataclass(frozen=True)
class Outcome:
    status: Status | None
    """None: unchanged since the last run."""
    reason: str = ""
    chunks: int = 0
    read: bool = False
    """The file's content was read and extracted in this run."""


UNCHANGED = Outcome(None)


def _order(entry: Entry) -> int:
    """Entries passed over without reading first, then files in the order of the format kept
    among duplicates (``sorted`` keeps the walk's order within each)."""
    if entry.skip:
        return -1
    return KIND_RANK.get("text" if entry.kind == "sniff" else entry.kind, len(KIND_RANK))


class FolderIndexer:
    """Brings the index of one folder up to date with the files on disk."""

    def __init__(
        self, store: Store, folder_id: int, name: str, root: Path, limits: Limits = DEFAULT_LIMITS
    ) -> None:
        self.store, self.folder_id, self.name, self.root, self.limits = store, folder_id, name, root, limits
        self.rules, self.applied = load_rules(store, str(root))
        self.present: set[str] = set()
        """Paths found on disk in this run (a file gone is never the original of a duplicate)."""
        self._kept: KeptFiles | None = None

    @property
    def kept(self) -> KeptFiles:
        if self._kept is None:
            with self.store.lock:
                kept, _ = load_copies(self.store.db, self.folder_id)
            self._kept = KeptFiles(c for c in kept if c.rel in self.present)
        return self._kept

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
        sig: Signature | None = None,
        duplicate_of: int | None = None,
    ) -> int:
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
            file_id = self.store.save_file(db, self.folder_id, entry.rel, values, chunks, search_title)
            if sig is None:
                drop_signature(db, file_id)
            else:
                save_signature(db, file_id, sig, duplicate_of)
        if self._kept is not None:
            if status == "indexed" and sig is not None:
                self._kept.add(Copy(file_id, entry.rel, kind or entry.kind, sig))
            else:
                self._kept.remove(file_id)
        return file_id

    def _demote(self, copy: Copy, original: Copy) -> None:
        """A kept file turns out to be a copy of ``original``: drop its chunks."""
        with self.store.transaction() as db:
            self.store.drop_chunks(db, [copy.file_id])
            db.execute(
                "UPDATE files SET status = 'skipped', reason = ?, chunks = 0 WHERE id = ?",
                (duplicate_reason(original.rel), copy.file_id),
            )
            db.execute(
                "UPDATE file_signatures SET duplicate_of = ? WHERE file_id = ?",
                (original.file_id, copy.file_id),
            )
        self.kept.remove(copy.file_id)

    def _one(self, entry: Entry, row: sqlite3.Row | None, full: bool) -> Outcome:
        """Index one entry (and settle whether it duplicates another file)."""
        if entry.skip:
            status: Status = "failed" if entry.failed else "skipped"
            self._save(entry, status, entry.skip)
            return Outcome(status, entry.skip)
        decision, pattern = self.rules.decide(entry.rel)
        if decision == "exclude":
            reason = excluded_reason(pattern)
            if row is not None and (row["status"], row["reason"]) == ("skipped", reason):
                return UNCHANGED
            self._save(entry, "skipped", reason)
            return Outcome("skipped", reason)
        forced = decision == "include"
        size = entry.size or 0
        if not full and row is not None and _same_stat(row, size, entry.mtime_ns):
            return UNCHANGED
        limit = self.limits.max_document_bytes if entry.kind in BINARY_KINDS else self.limits.max_text_bytes
        if size > limit:
            reason = f"too large ({_mib(size)}; the limit for this type is {_mib(limit)})"
            self._save(entry, "skipped", reason)
            return Outcome("skipped", reason, read=True)
        if size == 0:
            self._save(entry, "skipped", "empty file")
            return Outcome("skipped", "empty file", read=True)
        try:
            data = read_bytes(entry.path, limit)
        except OSError as exc:
            reason = f"cannot read the file ({exc.strerror or exc})"
            self._save(entry, "failed", reason)
            return Outcome("failed", reason, read=True)
        if len(data) > limit:  # it grew since it was listed
            reason = f"too large (over {_mib(limit)}, the limit for this type)"
            self._save(entry, "skipped", reason)
            return Outcome("skipped", reason, read=True)
        digest = hashlib.sha256(data).hexdigest()
        if not full and row is not None and row["sha256"] == digest:
            with self.store.transaction() as db:
                db.execute(
                    "UPDATE files SET size = ?, mtime_ns = ? WHERE id = ?", (size, entry.mtime_ns, row["id"])
                )
            return UNCHANGED
        kind = entry.kind
        if kind == "sniff" and looks_binary(data):
            reason = "binary content (unknown file type)"
            self._save(entry, "skipped", reason, sha256=digest)
            return Outcome("skipped", reason, read=True)
        generated = "" if forced else artefact_reason(data, kind)
        kind = "text" if kind == "sniff" else kind
        if generated:
            self._save(entry, "skipped", generated, kind=kind, sha256=digest)
            return Outcome("skipped", generated, read=True)
        try:
            document = read_document(kind, data, entry.path.name)
        except ReaderSkip as exc:
            self._save(entry, "skipped", str(exc), kind=kind, sha256=digest)
            return Outcome("skipped", str(exc), read=True)
        except Exception as exc:  # a damaged file must never stop the run
            reason = str(exc) if isinstance(exc, ValueError) else f"{type(exc).__name__}: {exc}"
            reason = reason[:300]
            self._save(entry, "failed", reason, kind=kind, sha256=digest)
            return Outcome("failed", reason, read=True)
        if not any(line.text.strip() for line in document.lines):  # it would give no chunks
            reason = "no text (only spaces and blank lines)"
            self._save(entry, "skipped", reason, kind=kind, sha256=digest)
            return Outcome("skipped", reason, read=True)
        sig = signature(line.text for line in document.lines)
        copy = Copy(int(row["id"]) if row is not None else -1, entry.rel, kind, sig)
        matches = self.kept.matches(copy)
        better = [other for other, _ in matches if other.preference < copy.preference]
        if better and not forced:
            reason = duplicate_reason(better[0].rel)
            self._save(
                entry,
                "skipped",
                reason,
                kind=kind,
                sha256=digest,
                title=document.title,
                sig=sig,
                duplicate_of=better[0].file_id,
            )
            return Outcome("skipped", reason, read=True)
        try:  # only now: a copy of a file already kept is never cut into chunks
            chunks = chunk_document(document)
        except Exception as exc:  # a damaged file must never stop the run
            reason = (str(exc) if isinstance(exc, ValueError) else f"{type(exc).__name__}: {exc}")[:300]
            self._save(entry, "failed", reason, kind=kind, sha256=digest)
            return Outcome("failed", reason, read=True)
        search_title = f"{document.title} {entry.path.name}"
        file_id = self._save(
            entry,
            "indexed",
            document.note,
            kind=kind,
            sha256=digest,
            title=document.title,
            chunks=chunks,
            search_title=search_title,
            sig=sig,
        )
        kept = Copy(file_id, entry.rel, kind, sig)
        for other, _ in matches:
            if other.preference > kept.preference and not self.rules.forced(other.rel):
                self._demote(other, kept)
        return Outcome("indexed", document.note, len(chunks), read=True)

    def _settle_duplicates(self, entries: dict[str, Entry], read: set[str], report: IndexReport) -> None:
        """Duplicates whose original changed, became a duplicate itself or went away: point them
        at another kept copy, or read and index them."""
        with self.store.lock:
            kept, dups = load_copies(self.store.db, self.folder_id)
        self._kept = KeptFiles(kept)
        promoted = 0
        for copy, original_id in sorted(dups, key=lambda pair: pair[0].preference):
            original = self.kept.alive.get(original_id) if original_id is not None else None
            if original is not None and original.preference < copy.preference and likeness(copy, original):
                continue
            better = [o for o, _ in self.kept.matches(copy) if o.preference < copy.preference]
            if better:
                with self.store.transaction() as db:
                    db.execute(
                        "UPDATE files SET reason = ? WHERE id = ?",
                        (duplicate_reason(better[0].rel), copy.file_id),
                    )
                    db.execute(
                        "UPDATE file_signatures SET duplicate_of = ? WHERE file_id = ?",
                        (better[0].file_id, copy.file_id),
                    )
                continue
            entry = entries.get(copy.rel)
            if entry is None:
                continue
            rows = self.store.query("SELECT * FROM files WHERE id = ?", (copy.file_id,))
            outcome = self._one(entry, rows[0] if rows else None, full=True)
            if outcome.status == "indexed":
                promoted += 1
                report.changed += copy.rel not in read
                report.chunks_added += outcome.chunks
        if promoted:
            report.notes.append(
                f"{promoted} file{'s' if promoted > 1 else ''} found to copy another "
                f"{'were' if promoted > 1 else 'was'} indexed after all: the file copied changed, went "
                "away or turned out to be a copy itself"
            )

    def run(
        self,
        on_progress: ProgressCallback | None = None,
        full: bool = False,
        should_stop: Callable[[], bool] | None = None,
    ) -> IndexReport:
        started = time.perf_counter()
        report = IndexReport(folder=self.name, root=str(self.root))
        rows = self.store.query(
            "SELECT id, rel, size, mtime_ns, sha256, status, reason FROM files WHERE folder_id = ?",
            (self.folder_id,),
        )
        existing = {row["rel"]: row for row in rows}
        rules_changed = self.rules.fingerprint != self.applied
        if rules_changed and existing:
            full = True  # every file's fate may change: decide each one again
            report.notes.append(
                f"the folder's rules changed ({self.rules.describe()}): every file was read again"
            )
        entries = sorted(walk(self.root), key=_order)
        self.present = {entry.rel for entry in entries}
        seen: set[str] = set()
        read: set[str] = set()
        stopped = False
        for done, entry in enumerate(entries, start=1):
            if should_stop is not None and should_stop():
                stopped = True
                report.notes.append(f"stopped after {done - 1} of {len(entries)} files")
                break
            seen.add(entry.rel)
            outcome = self._one(entry, existing.get(entry.rel), full)
            if outcome.status is None:
                report.unchanged += 1
            elif outcome.read:
                read.add(entry.rel)
                report.changed += 1
                report.chunks_added += outcome.chunks
            if on_progress is not None:
                status = outcome.status or "unchanged"
                on_progress(Progress(done, len(entries), entry.rel, status, outcome.reason, outcome.chunks))
        if not stopped:
            gone = [int(row["id"]) for rel, row in existing.items() if rel not in seen]
            if gone:
                with self.store.transaction() as db:
                    self.store.delete_files(db, gone)
            report.removed = len(gone)
            if report.changed or report.removed:
                self._settle_duplicates({entry.rel: entry for entry in entries}, read, report)
            if rules_changed:
                mark_applied(self.store, str(self.root), self.rules)
            with self.store.transaction() as db:
                db.execute("UPDATE folders SET indexed_at = ? WHERE id = ?", (time.time(), self.folder_id))
        for row in self.store.query(
            "SELECT status, COUNT(*) AS n, SUM(chunks) AS c FROM files WHERE folder_id = ? GROUP BY status",
            (self.folder_id,),
        ):
            setattr(report, row["status"], int(row["n"]))
            report.chunks += int(row["c"] or 0)
        report.duplicates = int(
            self.store.query(
                "SELECT COUNT(*) FROM file_signatures s JOIN files f ON f.id = s.file_id "
                "WHERE f.folder_id = ? AND f.status = 'skipped'",
                (self.folder_id,),
            )[0][0]
        )
        report.files = report.indexed + report.skipped + report.failed
        report.seconds = round(time.perf_counter() - started, 3)
        return report
