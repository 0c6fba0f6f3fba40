"""Opening the sessions database: WAL, full fsync on commit, foreign keys, one connection per thread.

``synchronous=FULL`` (not NORMAL) because a committed step must survive a power cut: in WAL
mode NORMAL may lose the last transactions when the machine (not just the process) dies.
"""

from __future__ import annotations

import secrets
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

from deepresearch_local.store.errors import StoreError

BUSY_TIMEOUT_MS = 15_000
"""How long a write waits for another writer (another thread, the TUI, a CLI) before failing."""

_ID_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz"


def utc_now() -> str:
    """Now in UTC, ISO 8601 with microseconds (sorts as text)."""
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")


def new_id(length: int = 6) -> str:
    """A short random id such as ``k3f9a2``; callers check it is unused inside their transaction."""
    return "".join(secrets.choice(_ID_ALPHABET) for _ in range(length))


def fresh_id(conn: sqlite3.Connection, table: str, length: int) -> str:
    """An id not yet used in ``table`` (call inside a write transaction, so nobody takes it meanwhile)."""
    while True:
        candidate = new_id(length)
        if conn.execute(f"SELECT 1 FROM {table} WHERE id = ?", (candidate,)).fetchone() is None:
            return candidate


def _casefold(value: object) -> str | None:
    return None if value is None else str(value).casefold()


def connect(path: Path) -> sqlite3.Connection:
    """One connection with our settings. Transactions are explicit (``isolation_level=None``)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(
            str(path), timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=False
        )
    except (OSError, sqlite3.Error) as exc:
        raise StoreError(
            f"Cannot open the sessions database {path}: {exc}. "
            "Check that the folder is writable, or set DEEPRESEARCH_HOME to another folder."
        ) from exc
    try:
        conn.row_factory = sqlite3.Row
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA journal_mode = WAL").fetchone()
        conn.execute("PRAGMA synchronous = FULL")
        conn.execute("PRAGMA foreign_keys = ON")
        conn.create_function("casefold", 1, _casefold, deterministic=True)
    except sqlite3.DatabaseError as exc:
        conn.close()
        raise StoreError(
            f"{path} is not a readable sessions database ({exc}). Move it aside (the app then starts "
            "a new, empty history) or restore it from a backup."
        ) from exc
    return conn


class Database:
    """Connections for every thread that uses the store, with explicit read and write transactions.

    Each thread gets its own connection (SQLite in WAL lets the UI thread read while a worker
    thread writes). Connections of threads that have ended are closed when a new one opens.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._local = threading.local()
        self._lock = threading.Lock()
        self._conns: list[tuple[threading.Thread, sqlite3.Connection]] = []
        self._closed = False

    def conn(self) -> sqlite3.Connection:
        """This thread's connection."""
        if self._closed:
            raise StoreError("The sessions store was closed; open a new SessionStore.")
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = connect(self.path)
            with self._lock:
                alive = [(t, c) for t, c in self._conns if t.is_alive()]
                for thread, dead in self._conns:
                    if not thread.is_alive():
                        dead.close()
                self._conns = [*alive, (threading.current_thread(), conn)]
            self._local.conn = conn
        return conn

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """A transaction that takes the write lock up front and is committed (fsynced) on exit."""
        with self._transaction("BEGIN IMMEDIATE") as conn:
            yield conn

    @contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        """A read transaction: every query inside sees the same snapshot."""
        with self._transaction("BEGIN") as conn:
            yield conn

    @contextmanager
    def _transaction(self, begin: str) -> Iterator[sqlite3.Connection]:
        conn = self.conn()
        if conn.in_transaction:  # nested use: the outer transaction commits
            yield conn
            return
        try:
            conn.execute(begin)
        except sqlite3.OperationalError as exc:
            raise StoreError(
                f"The sessions database {self.path} stayed locked ({exc}). Another deepresearch process "
                "may be stuck: close it and try again."
            ) from exc
        try:
            yield conn
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise

    def close(self) -> None:
        """Close every connection (call when no other thread is using the store any more)."""
        with self._lock:
            self._closed = True
            for _, conn in self._conns:
                conn.close()
            self._conns = []
