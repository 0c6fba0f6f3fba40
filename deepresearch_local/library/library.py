"""The local library: folders the user added, their coverage, search, and safe reading.

``Library`` is the one entry point the CLI, the agent's tools, the TUI and the benchmark use.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from deepresearch_local.library.common_postings import CommonPostings, Refreshed
from deepresearch_local.library.errors import LibraryError, NotInLibrary
from deepresearch_local.library.indexer import DEFAULT_LIMITS, FolderIndexer, Limits
from deepresearch_local.library.model import (
    FileRecord,
    FolderInfo,
    Hit,
    IndexReport,
    ProgressCallback,
)
from deepresearch_local.library.reading import ReadResult, read_document_at
from deepresearch_local.library.rerank import Reranker
from deepresearch_local.library.search import DocumentEmbedder, Mode, QueryEmbedder
from deepresearch_local.library.search import search as search_files
from deepresearch_local.library.store import Store
from deepresearch_local.library.vectors import EmbedProgress, VectorIndex
from deepresearch_local.library.walk import SKIP_DIRS, inside

MATCH_BUDGET = 50_000
"""Chunk postings one query may make BM25 score; past it the most common terms are left out (see
``query.prune_common``), which bounds query time in very large libraries. On the retrieval dev set
a budget of 20,000 cost user-phrased questions 0.03-0.04 of recall@5; 50,000 and 100,000 cost
nothing there, and 50,000 halves the p50 of short queries at 100k chunks (40 -> 22 ms)."""


class Library:
    def __init__(self, db_path: Path | None = None, limits: Limits = DEFAULT_LIMITS) -> None:
        if db_path is None:
            from deepresearch_local.paths import get_paths

            db_path = get_paths().library_db
        self.store = Store(db_path)
        self.limits = limits
        self.match_budget = MATCH_BUDGET
        self.vectors = VectorIndex(self.store)
        self.embedder: DocumentEmbedder | None = None
        self._caught_up = False
        self._upgrading = threading.Lock()

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> Library:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ folders

    def folders(self) -> list[FolderInfo]:
        rows = self.store.query(
            """
            SELECT fo.name, fo.root, fo.added_at, fo.indexed_at,
                   SUM(f.status = 'indexed') AS indexed, SUM(f.status = 'skipped') AS skipped,
                   SUM(f.status = 'failed') AS failed, SUM(f.chunks) AS chunks
            FROM folders fo LEFT JOIN files f ON f.folder_id = fo.id
            GROUP BY fo.id ORDER BY fo.name
            """
        )
        return [
            FolderInfo(
                r["name"],
                r["root"],
                r["added_at"],
                r["indexed_at"],
                int(r["indexed"] or 0),
                int(r["skipped"] or 0),
                int(r["failed"] or 0),
                int(r["chunks"] or 0),
            )
            for r in rows
        ]

    def _folder(self, name: str) -> tuple[int, Path]:
        rows = self.store.query("SELECT id, root FROM folders WHERE name = ?", (name,))
        if not rows:
            known = ", ".join(f.name for f in self.folders()) or "none yet"
            raise LibraryError(
                f"No library folder named {name!r} (folders: {known}). See `deepresearch docs list`."
            )
        return int(rows[0]["id"]), Path(rows[0]["root"])

    def add(
        self,
        folder: Path | str,
        name: str | None = None,
        on_progress: ProgressCallback | None = None,
        should_stop: Callable[[], bool] | None = None,
    ) -> IndexReport:
        """Add a folder and index it. Adding a folder already in the library re-indexes it."""
        root = Path(os.path.realpath(Path(folder).expanduser()))
        if not root.is_dir():
            raise LibraryError(f"{folder} is not a folder. Give the path of a folder of documents.")
        for info in self.folders():
            other = Path(info.root)
            if other == root:
                if name and name != info.name:
                    raise LibraryError(
                        f"{root} is already in the library as {info.name!r}. "
                        f"Run `deepresearch docs reindex {info.name}` to update it."
                    )
                return self.reindex(info.name, on_progress, should_stop=should_stop)[0]
            if inside(root, other):
                raise LibraryError(
                    f"{root} is inside library folder {info.name!r} ({other}), which already covers it. "
                    f"Run `deepresearch docs reindex {info.name}` to update it."
                )
            if inside(other, root):
                raise LibraryError(
                    f"{root} contains library folder {info.name!r} ({other}). Remove that one first "
                    f"(`deepresearch docs remove {info.name}`), then add {root}."
                )
        name = name or root.name or "root"
        taken = {info.name for info in self.folders()}
        if name in taken:
            raise LibraryError(f"The name {name!r} is taken by another folder. Choose one with --name.")
        with self.store.transaction() as db:
            cur = db.execute(
                "INSERT INTO folders (name, root, added_at) VALUES (?, ?, ?)", (name, str(root), time.time())
            )
            folder_id = int(cur.lastrowid or 0)
        return FolderIndexer(self.store, folder_id, name, root, self.limits).run(
            on_progress, should_stop=should_stop
        )

    def reindex(
        self,
        name: str | None = None,
        on_progress: ProgressCallback | None = None,
        full: bool = False,
        should_stop: Callable[[], bool] | None = None,
    ) -> list[IndexReport]:
        """Bring one folder (or all) up to date; only new or changed files are read again."""
        names = [name] if name else [f.name for f in self.folders()]
        reports = []
        for each in names:
            folder_id, root = self._folder(each)
            if not root.is_dir():
                raise LibraryError(
                    f"The folder of {each!r} ({root}) is gone. "
                    f"Remove it with `deepresearch docs remove {each}`."
                )
            indexer = FolderIndexer(self.store, folder_id, each, root, self.limits)
            reports.append(indexer.run(on_progress, full=full, should_stop=should_stop))
        return reports

    def remove(self, name: str, on_progress: ProgressCallback | None = None) -> FolderInfo:
        """Forget a folder and its index (the files themselves are not touched); ``on_progress``
        hears the common words being read again when the folder was a large part of the library."""
        folder_id, _ = self._folder(name)
        info = next(f for f in self.folders() if f.name == name)
        with self.store.transaction() as db:
            ids = [int(r[0]) for r in db.execute("SELECT id FROM files WHERE folder_id = ?", (folder_id,))]
            self.store.delete_files(db, ids)
            db.execute("DELETE FROM folders WHERE id = ?", (folder_id,))
        self.prepare_search(on_progress)
        return info

    def ready_for_search(self) -> float:
        """Load what every search reads (each chunk's file, folder and length, the kept common
        words, the vectors of the library's embedder), so the first search of a session does not
        wait for it (100-200 ms at 40,000 chunks). Returns the seconds it took."""
        from deepresearch_local.library.owners import owners
        from deepresearch_local.library.postings import Vocabulary

        start = time.perf_counter()
        owners(self.store).sizes([])
        self.store.companion(Vocabulary).load_lengths()
        self.store.companion(CommonPostings).load()
        if self.embedder is not None:
            self.vectors.matrix(self.embedder.id)
        return time.perf_counter() - start

    def prepare_search(
        self, on_progress: ProgressCallback | None = None, should_stop: Callable[[], bool] | None = None
    ) -> Refreshed:
        """Bring the kept postings of common words up to date (``common_postings``): every index
        run ends with it; a library indexed before they existed gets them here, once."""
        return self.store.companion(CommonPostings).refresh(on_progress, should_stop)

    def coverage(self, name: str | None = None, status: str | None = None) -> list[FileRecord]:
        if name:
            self._folder(name)
        rows = self.store.query(
            """
            SELECT fo.name AS folder, f.* FROM files f JOIN folders fo ON fo.id = f.folder_id
            WHERE (? IS NULL OR fo.name = ?) AND (? IS NULL OR f.status = ?)
            ORDER BY fo.name, f.rel
            """,
            (name, name, status, status),
        )
        return [
            FileRecord(
                r["folder"],
                r["path"],
                r["rel"],
                r["kind"],
                r["status"],
                r["reason"],
                r["size"],
                r["chunks"],
                r["indexed_at"],
            )
            for r in rows
        ]

    # ------------------------------------------------------------------ search

    def search(
        self,
        queries: str | Sequence[str],
        k: int = 10,
        folder: str | None = None,
        reranker: Reranker | None = None,
        *,
        mode: Mode = "hybrid",
        embedder: QueryEmbedder | None = None,
    ) -> list[Hit]:
        """The best ``k`` distinct files for one query or several, each with its best passage.

        ``mode="hybrid"`` adds dense retrieval when ``embedder`` (or the one set with
        :meth:`use_embedder`) is given and the library holds its vectors; otherwise, and with
        ``mode="bm25"``, BM25 alone ranks."""
        texts = [queries] if isinstance(queries, str) else [q for q in queries if q.strip()]
        if not self._caught_up:
            self.catch_up()
            self._caught_up = True
        folder_id = self._folder(folder)[0] if folder else None
        fetch = max(reranker.candidates, k) if reranker is not None else k
        with self.store.one_look():
            hits = search_files(
                self.store,
                self.vectors,
                texts,
                fetch,
                folder_id=folder_id,
                embedder=embedder or self.embedder,
                mode=mode,
                match_budget=self.match_budget,
            )
        if reranker is not None:
            hits = reranker.rerank(texts, hits)
        return hits[:k]

    def upgrade_pending(self) -> list[str]:
        """Folders that a schema upgrade asked to read again (see ``store.MIGRATIONS``)."""
        rows = self.store.query("SELECT name FROM folders WHERE reindex_pending = 1 ORDER BY name")
        return [str(r[0]) for r in rows]

    def catch_up(
        self,
        on_progress: ProgressCallback | None = None,
        should_stop: Callable[[], bool] | None = None,
        only: str | None = None,
    ) -> list[IndexReport]:
        """Read again, once, the folders a schema upgrade marked (a folder whose root is gone is
        left marked: `docs list` shows it and `docs remove` forgets it). A stopped run leaves the
        folder marked, so the next use finishes it. ``only``: that folder alone."""
        reports = []
        with self._upgrading:
            for name in self.upgrade_pending():
                if only is not None and name != only:
                    continue
                folder_id, root = self._folder(name)
                if not root.is_dir():
                    continue
                indexer = FolderIndexer(self.store, folder_id, name, root, self.limits)
                report = indexer.run(on_progress, full=True, should_stop=should_stop)
                if not any(note.startswith("stopped") for note in report.notes):
                    with self.store.transaction() as db:
                        db.execute("UPDATE folders SET reindex_pending = 0 WHERE id = ?", (folder_id,))
                    report.notes.append("read again once after an upgrade of the library's index")
                reports.append(report)
        return reports

    def embed_missing(
        self,
        embedder: DocumentEmbedder,
        on_progress: EmbedProgress | None = None,
        should_stop: Callable[[], bool] | None = None,
        batch: int = 8,
    ) -> int:
        """Give every chunk without a vector from ``embedder`` one; returns how many were made.
        Resumable: stopping keeps what was stored, and the next call goes on from there. Small
        batches keep the embedder free often enough for a search's query to get in between."""
        total = self.vectors.count_missing(embedder.id)
        done = 0
        if on_progress is not None:
            on_progress(0, total)
        while not (should_stop is not None and should_stop()):
            pending = self.vectors.missing(embedder.id, batch)
            if not pending:
                break
            vectors = embedder.embed_documents([text for _, text in pending])
            self.vectors.add(embedder.id, [chunk_id for chunk_id, _ in pending], vectors)
            done += len(pending)
            if on_progress is not None:
                on_progress(min(done, total), max(total, done))
        return done

    def use_embedder(self, embedder: DocumentEmbedder | None) -> None:
        """The embedding model hybrid search uses by default (None: BM25 only)."""
        self.embedder = embedder

    # ------------------------------------------------------------------ reading

    def resolve(self, path: str) -> Path:
        """The real path of a file inside a library folder. Raises ``NotInLibrary`` for anything
        that resolves elsewhere (``..``, absolute paths outside, symlinks pointing out), for hidden
        files, and for files that do not exist."""
        roots = [Path(f.root) for f in self.folders()]
        if not roots:
            raise NotInLibrary("The library is empty: add a folder with `deepresearch docs add FOLDER`.")
        given = Path(path.strip()).expanduser()
        candidates = [given] if given.is_absolute() else [root / given for root in roots]
        for candidate in candidates:
            real = Path(os.path.realpath(candidate))
            root = next((r for r in roots if inside(real, r)), None)
            if root is None:
                continue
            parts = real.relative_to(root).parts
            if any(p.startswith(".") or p in SKIP_DIRS for p in parts):
                raise NotInLibrary(f"{path} is a hidden or tool file; the library does not read those.")
            if real.is_file():
                return real
            if real.is_dir():
                raise NotInLibrary(
                    f"{path} is a folder. Give the path of one file (local_search finds them)."
                )
        if not given.is_absolute() and len(given.parts) == 1:
            rows = self.store.query(
                "SELECT path FROM files WHERE status = 'indexed' AND (path LIKE ? ESCAPE '\\')",
                ("%/" + given.name.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_"),),
            )
            found = sorted({r["path"] for r in rows})
            if len(found) == 1:
                return Path(found[0])
            if len(found) > 1:
                listing = ", ".join(found[:5])
                raise NotInLibrary(
                    f"Several library files are named {given.name}: {listing}. Give the full path."
                )
        if any(inside(Path(os.path.realpath(c)), r) for c in candidates for r in roots):
            raise NotInLibrary(f"There is no file {path} in the library. Use local_search to find files.")
        folders = ", ".join(str(r) for r in roots)
        raise NotInLibrary(
            f"{path} is outside the library folders ({folders}). Only files inside them can be read."
        )

    def read(self, path: str, location: str | None = None, max_chars: int = 12000) -> ReadResult:
        """Read a library file (whole or at ``location``) with page or line markers."""
        return read_document_at(self.resolve(path), location, max_chars, self.limits)
