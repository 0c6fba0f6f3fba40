"""The library database: folders, files (the coverage report), chunks, and an FTS5 index.

One SQLite file (``get_paths().library_db``), standard library only. Chunk text lives in the
FTS5 table (``porter unicode61``: English stemming, case and accent folding; Chinese and
Japanese also as bigrams in a column of their own), whose rowid is the chunk id; BM25 weighs the
document title above the heading path above the body. Schema changes
are named, ordered migrations recorded in ``schema_migrations``.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from deepresearch_local.library.cjk import index_text
from deepresearch_local.library.model import Chunk
from deepresearch_local.library.postings import Vocabulary

BATCH_SECONDS = 0.5
"""Inside ``Store.batched``: the longest a write waits for its commit."""
BM25_WEIGHTS = (2.0, 1.5, 1.0, 1.0)
"""title, heading path, body, CJK bigrams. Measured on the retrieval dev set
(``bench/data/library_qa``): heavier title weights (5, 3) cost user-phrased questions a tenth
of their recall while keyword questions were found either way."""

MIGRATIONS: list[tuple[str, str]] = [
    (
        "initial",
        """
        CREATE TABLE folders (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            root TEXT NOT NULL UNIQUE,
            added_at REAL NOT NULL,
            indexed_at REAL
        );
        CREATE TABLE files (
            id INTEGER PRIMARY KEY,
            folder_id INTEGER NOT NULL REFERENCES folders(id) ON DELETE CASCADE,
            rel TEXT NOT NULL,
            path TEXT NOT NULL,
            kind TEXT NOT NULL,
            size INTEGER,
            mtime_ns INTEGER,
            sha256 TEXT,
            status TEXT NOT NULL CHECK (status IN ('indexed', 'skipped', 'failed')),
            reason TEXT NOT NULL DEFAULT '',
            title TEXT NOT NULL DEFAULT '',
            chunks INTEGER NOT NULL DEFAULT 0,
            indexed_at REAL,
            UNIQUE (folder_id, rel)
        );
        CREATE INDEX files_path ON files(path);
        CREATE TABLE chunks (
            id INTEGER PRIMARY KEY,
            file_id INTEGER NOT NULL REFERENCES files(id) ON DELETE CASCADE,
            ordinal INTEGER NOT NULL,
            page INTEGER,
            line_start INTEGER NOT NULL,
            line_end INTEGER NOT NULL,
            heading TEXT NOT NULL DEFAULT ''
        );
        CREATE INDEX chunks_file ON chunks(file_id);
        CREATE VIRTUAL TABLE chunks_fts USING fts5(title, heading, body, tokenize = 'porter unicode61');
        """,
    ),
    (
        "chunk_vectors",
        """
        CREATE TABLE library_state (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
        CREATE TABLE chunk_vectors (
            chunk_id INTEGER NOT NULL REFERENCES chunks(id) ON DELETE CASCADE,
            model TEXT NOT NULL,
            vec BLOB NOT NULL,
            PRIMARY KEY (chunk_id, model)
        ) WITHOUT ROWID;
        CREATE INDEX chunk_vectors_model ON chunk_vectors(model);
        CREATE TRIGGER chunk_vectors_gone AFTER DELETE ON chunk_vectors BEGIN
            INSERT INTO library_state (key, value) VALUES ('vectors_version', 1)
            ON CONFLICT(key) DO UPDATE SET value = value + 1;
        END;
        """,
    ),
    (
        "reindex_for_document_search",
        # Existing folders are read again once (with the readers, artefact and duplicate rules of
        # this version); ``Library.catch_up`` does it on next use and clears the flag.
        """
        ALTER TABLE folders ADD COLUMN reindex_pending INTEGER NOT NULL DEFAULT 0;
        UPDATE folders SET reindex_pending = 1;
        """,
    ),
    (
        "duplicate_signatures_and_folder_rules",
        # A fingerprint per indexed or duplicate file (see ``signature`` and ``duplicates``), and
        # each folder root's include/exclude globs with the fingerprint of the rules last applied
        # (``rules``). Folders are read again once so every file gets its fingerprint.
        """
        CREATE TABLE IF NOT EXISTS file_signatures (
            file_id INTEGER PRIMARY KEY REFERENCES files(id) ON DELETE CASCADE,
            text_hash TEXT NOT NULL,
            minhash BLOB NOT NULL,
            words INTEGER NOT NULL,
            shingles INTEGER NOT NULL,
            duplicate_of INTEGER
        );
        CREATE INDEX IF NOT EXISTS file_signatures_duplicate_of ON file_signatures(duplicate_of);
        CREATE TABLE IF NOT EXISTS folder_rules (
            root TEXT PRIMARY KEY,
            include TEXT NOT NULL DEFAULT '',
            exclude TEXT NOT NULL DEFAULT '',
            applied TEXT NOT NULL DEFAULT ''
        );
        CREATE TRIGGER IF NOT EXISTS folder_rules_forget AFTER DELETE ON folders BEGIN
            DELETE FROM folder_rules WHERE root = OLD.root;
        END;
        UPDATE folders SET reindex_pending = 1;
        """,
    ),
    (
        "fts_cjk_bigrams",
        # A fourth FTS column holds Chinese and Japanese text as bigrams (``library.cjk``); FTS5
        # tables cannot gain a column, so the table is rebuilt and folders read again once.
        """
        CREATE VIRTUAL TABLE chunks_fts_new
            USING fts5(title, heading, body, cjk, tokenize = 'porter unicode61');
        INSERT INTO chunks_fts_new (rowid, title, heading, body, cjk)
            SELECT rowid, title, heading, body, '' FROM chunks_fts;
        DROP TABLE chunks_fts;
        ALTER TABLE chunks_fts_new RENAME TO chunks_fts;
        UPDATE folders SET reindex_pending = 1;
        """,
    ),
    (
        "read_again_for_site_indexes_redirects_and_source_copies",
        # The artefact rules learnt static-site search indexes, sitemaps and script data, the
        # HTML reader immediate redirect pages, and duplicates a sketch of each file's shingles (to
        # find a short source beside its page): folders are read again once so files indexed before
        # are judged by them. A file that reads the same keeps its chunks and their vectors
        # (``_same_chunks``), so only the re-read costs time, not the embeddings.
        """
        ALTER TABLE file_signatures ADD COLUMN sketch BLOB NOT NULL DEFAULT x'';
        UPDATE folders SET reindex_pending = 1;
        """,
    ),
    (
        "read_again_for_combined_copies",
        # A file that puts several of the folder's files together (``library.combined``) is left
        # out: folders are read again once so that one indexed before is found (its parts keep
        # their chunks and vectors).
        """
        UPDATE folders SET reindex_pending = 1;
        """,
    ),
    (
        "read_again_for_markdown_front_matter",
        # The Markdown reader takes a page's title from its front matter (``front_matter``) and
        # never reads a comment in it as a heading: folders are read again once so Markdown files
        # indexed before get their titles (other files keep their chunks and vectors).
        """
        UPDATE folders SET reindex_pending = 1;
        """,
    ),
    (
        "read_again_for_pdf_hyphens_and_outlines",
        # The PDF reader makes words hyphenated at line ends whole and gives lines the headings of
        # the PDF's outline (``pdf_reader``): folders are read again once for PDFs indexed before.
        """
        UPDATE folders SET reindex_pending = 1;
        """,
    ),
    (
        "read_again_for_pdf_running_heads",
        # The PDF reader leaves out running heads and feet but where each first appears
        # (``pdf_reader``): folders are read again once for PDFs indexed before.
        """
        UPDATE folders SET reindex_pending = 1;
        """,
    ),
    (
        "common_postings",
        # The postings of the most common words, kept between runs (``common_postings``), the
        # state of the index they were read from, and a log of the chunks that entered or left
        # the index since (kept by triggers; the one on insert was later replaced by the store's
        # own writes, see below).
        """
        CREATE TABLE IF NOT EXISTS common_postings (
            term TEXT PRIMARY KEY,
            docs INTEGER NOT NULL,
            ids BLOB NOT NULL,
            freq BLOB NOT NULL
        ) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS common_postings_state (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            base TEXT NOT NULL,
            state TEXT NOT NULL
        );
        CREATE TABLE IF NOT EXISTS common_postings_log (chunk_id INTEGER PRIMARY KEY);
        CREATE TRIGGER IF NOT EXISTS common_postings_chunk_added AFTER INSERT ON chunks BEGIN
            INSERT OR IGNORE INTO common_postings_log (chunk_id) VALUES (NEW.id);
        END;
        CREATE TRIGGER IF NOT EXISTS common_postings_chunk_removed AFTER DELETE ON chunks BEGIN
            INSERT OR IGNORE INTO common_postings_log (chunk_id) VALUES (OLD.id);
        END;
        """,
    ),
    (
        "read_again_for_icon_glyphs",
        # The HTML reader reads icon-font glyphs (private-use characters) as spaces
        # (``html_reader``): "Theme" followed by a permalink icon was indexed as one unsearchable
        # word. Folders are read again once; pages that read the same keep their chunks and
        # vectors.
        """
        UPDATE folders SET reindex_pending = 1;
        """,
    ),
    (
        "read_again_for_pdfium_text_and_editions",
        # PDFs are read by PDFium (``pdf_reader``), whose text differs from pypdf's here and there
        # ("$gridname" where pypdf wrote "$ gridname", a superscript on its own line), so the
        # lines a search names are the lines ``local_read`` shows only once they are read again;
        # and a PDF or text edition of pages kept in a richer format is now a combined copy
        # (``combined``). Folders are read again once; files that read the same keep their
        # chunks and vectors.
        """
        UPDATE folders SET reindex_pending = 1;
        """,
    ),
    (
        "common_postings_log_written_by_the_store",
        # The store logs the chunks it adds to the common postings' log itself (``save_file``).
        # A trigger on every chunk row made each insert a statement with its own savepoint, and
        # FTS5 writes out what it holds in memory at every savepoint: the index of each file
        # went to disk as a segment of its own, costing the indexer about a tenth of its time in
        # the main process. Removals stay logged by the trigger (they delete many rows anyway).
        """
        DROP TRIGGER IF EXISTS common_postings_chunk_added;
        """,
    ),
    (
        "read_again_for_html5_parsing",
        # HTML pages are parsed as browsers parse them (Lexbor's HTML5 parser, ``html_reader``).
        # Most pages read the same; pages with broken markup that libxml2 misread (a style
        # sheet's text read as page text, an index page read as one line) or nested deeper than
        # it went now read in full, so their lines change. Folders are read again once; pages
        # that read the same keep their chunks and vectors.
        """
        UPDATE folders SET reindex_pending = 1;
        """,
    ),
]


def statements(sql: str) -> list[str]:
    """Split a migration's SQL into complete statements (a trigger body holds ``;`` too)."""
    out: list[str] = []
    pending = ""
    for part in sql.split(";"):
        pending += part + ";"
        if sqlite3.complete_statement(pending):
            if pending.strip(" \n;"):
                out.append(pending.strip())
            pending = ""
    if pending.strip(" \n;"):
        out.append(pending.strip())
    return out


T = TypeVar("T")


def _same_chunks(db: sqlite3.Connection, file_id: int, chunks: Sequence[Chunk], search_title: str) -> bool:
    """Whether a file's stored chunks are ``chunks`` exactly (places, headings, text, title): a
    file read again after an upgrade of the readers or rules mostly comes out the same, and
    keeping its chunks keeps their embeddings, which take far longer to make than a re-read."""
    stored = db.execute(
        "SELECT c.ordinal, c.page, c.line_start, c.line_end, c.heading, fts.title, fts.body "
        "FROM chunks c JOIN chunks_fts fts ON fts.rowid = c.id WHERE c.file_id = ? ORDER BY c.id",
        (file_id,),
    ).fetchall()
    if len(stored) != len(chunks):
        return False
    fresh = [(c.ordinal, c.page, c.line_start, c.line_end, c.heading, search_title, c.text) for c in chunks]
    return [tuple(row) for row in stored] == fresh


class Store:
    """Thread-safe access to the library database (one connection, one lock)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.lock = threading.RLock()
        self.db = sqlite3.connect(path, check_same_thread=False, timeout=30, isolation_level=None)
        self.db.row_factory = sqlite3.Row
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.execute("PRAGMA foreign_keys=ON")
        self._counts: dict[str, int] = {}
        self._counts_at: object = None
        self._index_at: tuple[int, int] = (-1, -1)
        self._index_state: tuple[int, bytes] = (-1, b"")
        self._companions: dict[Callable[[Store], Any], Any] = {}
        self._batcher: int | None = None
        """The thread whose writes are batched (``batched``), if any."""
        self._batching = 0
        self._looks = threading.local()
        """``version``: the data_version a thread in ``one_look`` read at its start."""
        self._batch_began = 0.0
        self.migrate()

    def companion(self, make: Callable[[Store], T]) -> T:
        """The one ``make(store)`` of this store (a class, say), made on first use: a cache that
        lives as long as the store (the owners of chunks, kept term scores)."""
        with self.lock:
            found = self._companions.get(make)
            if found is None:
                found = self._companions[make] = make(self)
            return found  # type: ignore[no-any-return]

    def close(self) -> None:
        with self.lock:
            self.db.close()

    def migrate(self) -> list[str]:
        """Apply the migrations not yet recorded; returns their names."""
        with self.transaction():
            self.db.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations "
                "(version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at REAL NOT NULL)"
            )
            done = {row[0] for row in self.db.execute("SELECT version FROM schema_migrations")}
            applied: list[str] = []
            for version, (name, sql) in enumerate(MIGRATIONS, start=1):
                if version in done:
                    continue
                for statement in statements(sql):
                    self.db.execute(statement)
                self.db.execute(
                    "INSERT INTO schema_migrations VALUES (?, ?, ?)", (version, name, time.time())
                )
                applied.append(name)
            self._rank_weights()
            return applied

    def _rank_weights(self) -> None:
        """Make BM25 rank with this version's field weights (stored in the FTS table's config)."""
        columns = len(self.db.execute("SELECT * FROM chunks_fts LIMIT 0").description)
        weights = ", ".join(str(w) for w in BM25_WEIGHTS[:columns])
        wanted = f"bm25({weights})"
        row = self.db.execute("SELECT v FROM chunks_fts_config WHERE k = 'rank'").fetchone()
        if row is None or row[0] != wanted:
            self.db.execute("INSERT INTO chunks_fts(chunks_fts, rank) VALUES ('rank', ?)", (wanted,))

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write, all or nothing; inside ``batched`` (in the thread that batches) it joins
        the batch's transaction instead."""
        with self.lock:
            if self._batcher == threading.get_ident():
                yield from self._in_batch()
                return
            if self.db.in_transaction:  # another thread's batch: its writes so far go first
                self.db.execute("COMMIT")
            self.db.execute("BEGIN IMMEDIATE")
            try:
                yield self.db
            except BaseException:
                self.db.execute("ROLLBACK")
                raise
            self.db.execute("COMMIT")

    def _in_batch(self) -> Iterator[sqlite3.Connection]:
        if not self.db.in_transaction:
            self.db.execute("BEGIN IMMEDIATE")
            self._batch_began = time.monotonic()
        try:
            yield self.db
        except BaseException:
            if self.db.in_transaction:
                self.db.execute("ROLLBACK")
            raise
        if time.monotonic() - self._batch_began >= BATCH_SECONDS:
            self.db.execute("COMMIT")

    def commit_batch(self) -> None:
        """Commit the writes the batch holds so far (before a wait: other connections cannot
        write while a transaction is open, and a long one would make them time out)."""
        with self.lock:
            if self._batcher == threading.get_ident() and self.db.in_transaction:
                self.db.execute("COMMIT")

    @contextmanager
    def batched(self) -> Iterator[None]:
        """This thread's writes (``transaction``) committed together, at most ``BATCH_SECONDS``
        apart: FTS5 writes a segment at every commit (and at every savepoint), so a commit per
        file of a folder costs its indexing a third of the time spent in the database.

        The lock is held only while each write runs: searches go on between them and see the
        writes so far, and another thread's write commits the batch first and then runs in a
        transaction of its own (as do all its writes while it indexes another folder in a
        ``batched`` of its own: one thread batches at a time). Whoever batches calls
        ``commit_batch`` before waiting on something slow, as other connections cannot write
        meanwhile. A write that fails rolls back the batch's writes since its last commit, so a
        batch must end at the first failure (as indexing does: the next run reads those files
        again), as must a process killed meanwhile."""
        with self.lock:
            mine = self._batcher in (None, threading.get_ident())
            if mine:
                self._batcher = threading.get_ident()
                self._batching += 1
        if not mine:  # another thread batches: this one's writes stay one transaction each
            yield
            return
        try:
            yield
        finally:
            with self.lock:
                self._batching -= 1
                if not self._batching:
                    self._batcher = None
                    if self.db.in_transaction:
                        self.db.execute("COMMIT")

    def query(self, sql: str, params: Sequence[object] = ()) -> list[sqlite3.Row]:
        with self.lock:
            return self.db.execute(sql, params).fetchall()

    def generation(self) -> tuple[int, int]:
        """Changes as a value that differs after any write: this connection's (its total changes)
        or another connection's commits (``PRAGMA data_version``). Caches of what the database
        holds compare it to know they are stale."""
        held: int | None = getattr(self._looks, "version", None)
        with self.lock:
            if held is not None:
                return held, self.db.total_changes
            return int(self.db.execute("PRAGMA data_version").fetchone()[0]), self.db.total_changes

    @contextmanager
    def one_look(self) -> Iterator[None]:
        """Within the block, this thread looks for other connections' commits once, at its
        start: a search checks its caches for each word it scores, and asking SQLite every time
        cost about a tenth of a search. This connection's own writes are still seen at once."""
        if getattr(self._looks, "version", None) is not None:  # nested: the outer look stands
            yield
            return
        with self.lock:
            self._looks.version = int(self.db.execute("PRAGMA data_version").fetchone()[0])
        try:
            yield
        finally:
            self._looks.version = None

    def index_generation(self) -> tuple[int, bytes]:
        """Changes whenever chunks enter or leave the FTS index (from any connection), and only
        then: BM25 scores and term counts stay valid while it holds, whatever else is written
        (vectors, coverage). It is the index's write counter (``bump_index``) and FTS5's own
        totals (row and token counts), looked at again only after the database changed."""
        with self.lock:
            now = self.generation()
            if now != self._index_at:
                counter = self.db.execute(
                    "SELECT value FROM library_state WHERE key = 'index_version'"
                ).fetchone()
                totals = self.db.execute("SELECT block FROM chunks_fts_data WHERE id = 1").fetchone()
                self._index_state = (int(counter[0]) if counter else 0, bytes(totals[0]) if totals else b"")
                self._index_at = now
            return self._index_state

    @staticmethod
    def bump_index(db: sqlite3.Connection) -> None:
        """Record that the FTS index changed (inside the writer's transaction)."""
        db.execute(
            "INSERT INTO library_state (key, value) VALUES ('index_version', 1) "
            "ON CONFLICT(key) DO UPDATE SET value = value + 1"
        )

    # ------------------------------------------------------------ files and chunks

    def drop_chunks(self, db: sqlite3.Connection, file_ids: Sequence[int]) -> None:
        self.bump_index(db)
        for start in range(0, len(file_ids), 500):
            ids = list(file_ids[start : start + 500])
            marks = ",".join("?" * len(ids))
            db.execute(
                f"DELETE FROM chunks_fts WHERE rowid IN (SELECT id FROM chunks WHERE file_id IN ({marks}))",
                ids,
            )
            db.execute(f"DELETE FROM chunks WHERE file_id IN ({marks})", ids)

    def save_file(
        self,
        db: sqlite3.Connection,
        folder_id: int,
        rel: str,
        fields: dict[str, object],
        chunks: Sequence[Chunk] = (),
        search_title: str = "",
    ) -> int:
        """Insert or update one file's row and replace its chunks (inside the caller's transaction)."""
        row = db.execute("SELECT id FROM files WHERE folder_id = ? AND rel = ?", (folder_id, rel)).fetchone()
        values = dict(fields, chunks=len(chunks), indexed_at=time.time())
        if row is None:
            names = ["folder_id", "rel", *values]
            cur = db.execute(
                f"INSERT INTO files ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})",
                [folder_id, rel, *values.values()],
            )
            file_id = int(cur.lastrowid or 0)
        else:
            file_id = int(row[0])
            sets = ", ".join(f"{k} = ?" for k in values)
            db.execute(f"UPDATE files SET {sets} WHERE id = ?", [*values.values(), file_id])
            if chunks and _same_chunks(db, file_id, chunks, search_title):
                return file_id  # read again with the same result: chunk ids (and vectors) stay
            self.drop_chunks(db, [file_id])
        if not chunks:
            return file_id
        self.bump_index(db)
        # The ids SQLite would give one by one (the largest so far plus one), in one statement each
        first = int(db.execute("SELECT COALESCE(MAX(id), 0) + 1 FROM chunks").fetchone()[0])
        ids = range(first, first + len(chunks))
        db.executemany(
            "INSERT INTO chunks (id, file_id, ordinal, page, line_start, line_end, heading) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                (i, file_id, c.ordinal, c.page, c.line_start, c.line_end, c.heading)
                for i, c in zip(ids, chunks, strict=True)
            ],
        )
        # Logged here, not by a trigger (see the migration that dropped it).
        db.executemany("INSERT OR IGNORE INTO common_postings_log (chunk_id) VALUES (?)", ((i,) for i in ids))
        db.executemany(
            "INSERT INTO chunks_fts (rowid, title, heading, body, cjk) VALUES (?,?,?,?,?)",
            [
                (i, search_title, c.heading, c.text, index_text(f"{search_title}\n{c.heading}\n{c.text}"))
                for i, c in zip(ids, chunks, strict=True)
            ],
        )
        return file_id

    def delete_files(self, db: sqlite3.Connection, file_ids: Sequence[int]) -> None:
        self.drop_chunks(db, file_ids)
        for start in range(0, len(file_ids), 500):
            ids = list(file_ids[start : start + 500])
            db.execute(f"DELETE FROM files WHERE id IN ({','.join('?' * len(ids))})", ids)

    def search(self, match: str, limit: int, folder: str | None = None) -> list[sqlite3.Row]:
        """The best ``limit`` chunks for an FTS5 MATCH expression (BM25 order, best first)."""
        fetch = limit if folder is None else limit * 10
        sql = """
            WITH top AS (
                SELECT rowid AS id, rank, snippet(chunks_fts, 2, '', '', '…', 40) AS snippet
                FROM chunks_fts WHERE chunks_fts MATCH ? ORDER BY rank LIMIT ?
            )
            SELECT top.id, top.rank, top.snippet, c.page, c.line_start, c.line_end, c.heading,
                   f.path, f.title, fo.name AS folder
            FROM top
            JOIN chunks c ON c.id = top.id
            JOIN files f ON f.id = c.file_id
            JOIN folders fo ON fo.id = f.folder_id
            WHERE (? IS NULL OR fo.name = ?)
            ORDER BY top.rank
            LIMIT ?
        """
        return self.query(sql, (match, fetch, folder, folder, limit))

    def frequency(self, term: str) -> int:
        """How many chunks hold ``term`` (a word or a phrase, matched as FTS5 does); remembered
        until the index changes (queries share their common words)."""
        from deepresearch_local.library.query import quote

        with self.lock:
            now = self.index_generation()
            if now != self._counts_at:
                self._counts.clear()
                self._counts_at = now
            count = self._counts.get(term)
            if count is None:
                counted = self.companion(Vocabulary).chunks_holding(term)  # a word
                if counted is not None:
                    count = counted
                else:  # a phrase
                    sql = "SELECT COUNT(*) FROM chunks_fts WHERE chunks_fts MATCH ?"
                    count = int(self.db.execute(sql, (quote(term),)).fetchone()[0])
                if len(self._counts) < 100_000:
                    self._counts[term] = count
            return count
