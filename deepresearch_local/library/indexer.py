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
again (re-pointed to another copy, or read and indexed). A run's writes are committed together,
every half second (``Store.batched``).
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Sequence
from contextlib import closing
from dataclasses import dataclass, replace
from pathlib import Path

from deepresearch_local.library.combined import combined_copies, combined_prefix_pattern, combined_reason
from deepresearch_local.library.common_postings import CommonPostings
from deepresearch_local.library.duplicates import (
    KIND_RANK,
    Copy,
    KeptFiles,
    drop_signature,
    duplicate_reason,
    likeness,
    load_copies,
    name_stem,
    save_signature,
)
from deepresearch_local.library.extract import Extracted, Job, cut, extract
from deepresearch_local.library.model import Chunk, IndexReport, Progress, ProgressCallback, Status
from deepresearch_local.library.parallel import Reads, default_workers, extracted
from deepresearch_local.library.rules import excluded_reason, load_rules, mark_applied
from deepresearch_local.library.signature import Signature
from deepresearch_local.library.store import Store
from deepresearch_local.library.walk import Entry, walk
from deepresearch_local.units import mib

BINARY_KINDS = frozenset({"pdf", "docx"})
PASSED_OVER = frozenset({"binary", "unsupported"})
"""Kinds the walk gives files that are not read at all."""


@dataclass(frozen=True)
class Limits:
    max_text_bytes: int = 16 * 1024 * 1024
    """Text, code, CSV, Markdown and HTML files above this are skipped as too large."""
    max_document_bytes: int = 256 * 1024 * 1024
    """PDF and DOCX files above this are skipped as too large."""


DEFAULT_LIMITS = Limits()


def _same_stat(row: sqlite3.Row, size: int, mtime_ns: int | None) -> bool:
    """Size and modification time as recorded, and the last run got past reading the file (a file
    that could not be read at all has no hash and is tried again)."""
    read_before = row["sha256"] is not None or row["status"] == "skipped"
    return read_before and (row["size"], row["mtime_ns"]) == (size, mtime_ns)


def _newly_read(row: sqlite3.Row, entry: Entry) -> bool:
    """The last run passed the file over for its type (a ``.gz`` before this version read them)
    and the walk now gives it a reader: it is read, however old it is."""
    return row["kind"] in PASSED_OVER and entry.kind not in PASSED_OVER


@dataclass(frozen=True)
class Outcome:
    status: Status | None
    """None: unchanged since the last run."""
    reason: str = ""
    chunks: int = 0
    read: bool = False
    """The file's content was read and extracted in this run."""


UNCHANGED = Outcome(None)


def _rank(kind: str) -> int:
    """Where a walk's kind comes in the order of the formats kept among duplicates."""
    return KIND_RANK.get("text" if kind == "sniff" else kind, len(KIND_RANK))


def _order(entry: Entry) -> int:
    """Entries passed over without reading first, then files in the order of the format kept
    among duplicates (``sorted`` keeps the walk's order within each)."""
    return -1 if entry.skip else _rank(entry.kind)


def _mark_likely_copies(jobs: list[Job]) -> list[Job]:
    """The jobs, ``likely_copy`` set on each whose name (extensions aside) another job has in a
    format the library keeps first."""
    best: dict[str, int] = {}
    stems = [name_stem(job.path.name) for job in jobs]
    for job, stem in zip(jobs, stems, strict=True):
        best[stem] = min(best.get(stem, len(KIND_RANK)), _rank(job.kind))
    return [
        replace(job, likely_copy=True) if best[stem] < _rank(job.kind) else job
        for job, stem in zip(jobs, stems, strict=True)
    ]


class FolderIndexer:
    """Brings the index of one folder up to date with the files on disk."""

    def __init__(
        self,
        store: Store,
        folder_id: int,
        name: str,
        root: Path,
        limits: Limits = DEFAULT_LIMITS,
        workers: int | None = None,
    ) -> None:
        self.store, self.folder_id, self.name, self.root, self.limits = store, folder_id, name, root, limits
        self.workers = default_workers() if workers is None else workers
        """Processes that read files ahead of the one being stored (under 2: none, see ``parallel``)."""
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

    def _demote(self, copy: Copy, original: Copy, reason: str | None = None) -> None:
        """A kept file turns out to be a copy of ``original`` (or, with ``reason``, to combine
        it and others): drop its chunks."""
        with self.store.transaction() as db:
            self.store.drop_chunks(db, [copy.file_id])
            db.execute(
                "UPDATE files SET status = 'skipped', reason = ?, chunks = 0 WHERE id = ?",
                (reason or duplicate_reason(original.rel), copy.file_id),
            )
            db.execute(
                "UPDATE file_signatures SET duplicate_of = ? WHERE file_id = ?",
                (original.file_id, copy.file_id),
            )
        self.kept.remove(copy.file_id)

    def _before_reading(self, entry: Entry, row: sqlite3.Row | None, full: bool) -> Outcome | Job:
        """What becomes of an entry without reading it (an outcome to store), or the job of
        reading it. Decided from the walk, the folder's rules and the last run's record only."""
        if entry.skip:
            return Outcome("failed" if entry.failed else "skipped", entry.skip)
        decision, pattern = self.rules.decide(entry.rel)
        if decision == "exclude":
            reason = excluded_reason(pattern)
            if row is not None and (row["status"], row["reason"]) == ("skipped", reason):
                return UNCHANGED
            return Outcome("skipped", reason)
        size = entry.size or 0
        if (
            not full
            and row is not None
            and _same_stat(row, size, entry.mtime_ns)
            and not _newly_read(row, entry)
        ):
            return UNCHANGED
        limit = self.limits.max_document_bytes if entry.kind in BINARY_KINDS else self.limits.max_text_bytes
        if size > limit:
            return Outcome(
                "skipped", f"too large ({mib(size)}; the limit for this type is {mib(limit)})", read=True
            )
        if size == 0:
            return Outcome("skipped", "empty file", read=True)
        known = row["sha256"] if not full and row is not None else None
        return Job(entry.path, entry.kind, limit, forced=decision == "include", known_sha256=known, size=size)

    def _one(self, entry: Entry, row: sqlite3.Row | None, full: bool) -> Outcome:
        """Index one entry (and settle whether it duplicates another file)."""
        return self._apply(entry, row, self._before_reading(entry, row, full))

    def _apply(
        self, entry: Entry, row: sqlite3.Row | None, step: Outcome | Job, done: Extracted | None = None
    ) -> Outcome:
        """Carry out ``step`` for the entry: store an outcome decided without reading, or read the
        file (``done``: a worker already did) and store what it holds."""
        if isinstance(step, Outcome):
            if step.status is not None:
                self._save(entry, step.status, step.reason)
            return step
        found = done if done is not None else extract(step)
        if found.status is None:  # the same content as recorded: only its size or time changed
            assert row is not None
            with self.store.transaction() as db:
                db.execute(
                    "UPDATE files SET size = ?, mtime_ns = ? WHERE id = ?",
                    (entry.size, entry.mtime_ns, row["id"]),
                )
            return UNCHANGED
        if found.status != "indexed" or found.sig is None:
            self._save(entry, found.status, found.reason, kind=found.kind, sha256=found.sha256)
            return Outcome(found.status, found.reason, read=True)
        kind, sig = found.kind, found.sig
        copy = Copy(int(row["id"]) if row is not None else -1, entry.rel, kind, sig)
        matches = self.kept.matches(copy)
        better = [other for other, _ in matches if other.preference < copy.preference]
        if better and not step.forced:
            reason = duplicate_reason(better[0].rel)
            self._save(
                entry,
                "skipped",
                reason,
                kind=kind,
                sha256=found.sha256,
                title=found.title,
                sig=sig,
                duplicate_of=better[0].file_id,
            )
            return Outcome("skipped", reason, read=True)
        if found.withheld:  # a likely copy kept after all: its text is read here
            step = replace(step, likely_copy=False)
            return self._apply(entry, row, step, extract(step))
        chunks, error = found.chunks, found.chunk_error
        if chunks is None and not error and found.document is not None:
            chunks, error = cut(found.document)  # only now: a copy of a kept file is never cut
        if chunks is None:
            self._save(entry, "failed", error, kind=kind, sha256=found.sha256)
            return Outcome("failed", error, read=True)
        search_title = f"{found.title} {entry.path.name}"
        file_id = self._save(
            entry,
            "indexed",
            found.note,
            kind=kind,
            sha256=found.sha256,
            title=found.title,
            chunks=chunks,
            search_title=search_title,
            sig=sig,
        )
        kept = Copy(file_id, entry.rel, kind, sig)
        for other, _ in matches:
            if other.preference > kept.preference and not self.rules.forced(other.rel):
                self._demote(other, kept)
        return Outcome("indexed", found.note, len(chunks), read=True)

    def _settle_duplicates(self, entries: dict[str, Entry], read: set[str], report: IndexReport) -> None:
        """Duplicates whose original changed, became a duplicate itself or went away: point them
        at another kept copy, or read and index them. Then the combined copies likewise."""
        with self.store.lock:
            kept, dups = load_copies(self.store.db, self.folder_id)
        combined = self._combined_ids()
        self._kept = KeptFiles(kept)
        promoted = 0
        for copy, original_id in sorted(dups, key=lambda pair: pair[0].preference):
            if copy.file_id in combined:  # settled below, against every kept file
                continue
            original = self.kept.alive.get(original_id) if original_id is not None else None
            if original is not None and original.preference < copy.preference and likeness(copy, original):
                continue
            better = [o for o, _ in self.kept.matches(copy) if o.preference < copy.preference]
            if better:
                self._repoint(copy, duplicate_reason(better[0].rel), better[0])
                continue
            promoted += self._read_again(copy, entries, read, report)
        was = [copy for copy, _ in dups if copy.file_id in combined]
        promoted += self._settle_combined(was, entries, read, report)
        if promoted:
            report.notes.append(
                f"{promoted} file{'s' if promoted > 1 else ''} found to copy another "
                f"{'were' if promoted > 1 else 'was'} indexed after all: the file copied changed, went "
                "away or turned out to be a copy itself"
            )

    def _repoint(self, copy: Copy, reason: str, original: Copy) -> None:
        """A file left out as a copy stays out, with a new reason and original."""
        with self.store.transaction() as db:
            db.execute("UPDATE files SET reason = ? WHERE id = ?", (reason, copy.file_id))
            db.execute(
                "UPDATE file_signatures SET duplicate_of = ? WHERE file_id = ?",
                (original.file_id, copy.file_id),
            )

    def _read_again(self, copy: Copy, entries: dict[str, Entry], read: set[str], report: IndexReport) -> bool:
        """Read and index a file left out as a copy (counted in ``report``); whether it was indexed."""
        entry = entries.get(copy.rel)
        if entry is None:
            return False
        rows = self.store.query("SELECT * FROM files WHERE id = ?", (copy.file_id,))
        outcome = self._one(entry, rows[0] if rows else None, full=True)
        if outcome.status != "indexed":
            return False
        report.changed += copy.rel not in read
        report.chunks_added += outcome.chunks
        return True

    def _combined_ids(self) -> set[int]:
        """The folder's files left out as combined copies of others."""
        rows = self.store.query(
            "SELECT id FROM files WHERE folder_id = ? AND status = 'skipped' AND reason LIKE ?",
            (self.folder_id, combined_prefix_pattern()),
        )
        return {int(row["id"]) for row in rows}

    def _settle_combined(
        self, was: list[Copy], entries: dict[str, Entry], read: set[str], report: IndexReport
    ) -> int:
        """Leave out the kept files that are combined copies of others, and index those left out
        as such before (``was``) that no longer are; returns how many were indexed."""
        kept = list(self.kept.alive.values())  # as the duplicates just settled left them
        now = combined_copies(kept + was)
        for copy in kept:
            parts = now.get(copy.file_id)
            if parts is not None and not self.rules.forced(copy.rel):
                self._demote(copy, parts[0], combined_reason(parts))
        promoted = 0
        for copy in was:
            parts = now.get(copy.file_id)
            if parts is not None:
                self._repoint(copy, combined_reason(parts), parts[0])
            else:
                promoted += self._read_again(copy, entries, read, report)
        return promoted

    def run(
        self,
        on_progress: ProgressCallback | None = None,
        full: bool = False,
        should_stop: Callable[[], bool] | None = None,
    ) -> IndexReport:
        with self.store.batched():
            report = self._run(on_progress, full, should_stop)
        refreshed = self.store.companion(CommonPostings).refresh(on_progress, should_stop)
        report.prepare_seconds = refreshed.seconds
        report.seconds = round(report.seconds + report.prepare_seconds, 3)
        if refreshed.how in ("stopped", "index changed") or refreshed.how.startswith("failed"):
            report.notes.append(
                f"common words not prepared for search ({refreshed.how}): the next run does it"
            )
        return report

    def _run(
        self,
        on_progress: ProgressCallback | None,
        full: bool,
        should_stop: Callable[[], bool] | None,
    ) -> IndexReport:
        started = time.perf_counter()
        report = IndexReport(folder=self.name, root=str(self.root))
        rows = self.store.query(
            "SELECT id, rel, kind, size, mtime_ns, sha256, status, reason FROM files WHERE folder_id = ?",
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
        steps = [self._before_reading(entry, existing.get(entry.rel), full) for entry in entries]
        jobs = _mark_likely_copies([step for step in steps if isinstance(step, Job)])
        reads = Reads(on_wait=self.store.commit_batch)
        with closing(extracted(jobs, self.workers, reads)) as results:
            for done, (entry, step) in enumerate(zip(entries, steps, strict=True), start=1):
                if should_stop is not None and should_stop():
                    stopped = True
                    report.notes.append(f"stopped after {done - 1} of {len(entries)} files")
                    break
                seen.add(entry.rel)
                found = next(results) if isinstance(step, Job) else None
                outcome = self._apply(entry, existing.get(entry.rel), step, found)
                if outcome.status is None:
                    report.unchanged += 1
                elif outcome.read:
                    read.add(entry.rel)
                    report.changed += 1
                    report.chunks_added += outcome.chunks
                if on_progress is not None:
                    status = outcome.status or "unchanged"
                    on_progress(
                        Progress(done, len(entries), entry.rel, status, outcome.reason, outcome.chunks)
                    )
        report.workers = reads.workers
        if reads.broken:
            report.notes.append(f"{reads.broken}: the indexing process read the rest of the files itself")
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
