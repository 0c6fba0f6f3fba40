"""Named, ordered schema migrations for the sessions database.

Each migration runs once, in its own transaction, and is recorded by name in ``_migrations``.
Never edit or reorder a released migration: add a new one at the end (and a test that upgrades
a database made at the step before it).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence

from deepresearch_local.store.db import utc_now
from deepresearch_local.store.errors import StoreError

Migration = tuple[str, Callable[[sqlite3.Connection], None]]


def _run(conn: sqlite3.Connection, *statements: str) -> None:
    for statement in statements:
        conn.execute(statement)


def m001_initial(conn: sqlite3.Connection) -> None:
    """Sessions, their questions, the runs that answer them, and each run's steps."""
    _run(
        conn,
        """CREATE TABLE sessions (
            id TEXT PRIMARY KEY,
            title TEXT NOT NULL,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        )""",
        "CREATE INDEX sessions_updated ON sessions(updated_at)",
        """CREATE TABLE questions (
            id TEXT PRIMARY KEY,
            session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
            text TEXT NOT NULL,
            created_at TEXT NOT NULL
        )""",
        "CREATE INDEX questions_session ON questions(session_id)",
        """CREATE TABLE runs (
            id TEXT PRIMARY KEY,
            session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
            question_id TEXT NOT NULL REFERENCES questions(id) ON DELETE CASCADE,
            mode TEXT NOT NULL,
            status TEXT NOT NULL CHECK (status IN ('running', 'finished', 'cancelled', 'failed')),
            termination TEXT,
            answer TEXT,
            report TEXT,
            config TEXT NOT NULL,
            stats TEXT NOT NULL DEFAULT '{}',
            started_at TEXT NOT NULL,
            finished_at TEXT
        )""",
        "CREATE INDEX runs_session ON runs(session_id)",
        "CREATE INDEX runs_question ON runs(question_id)",
        "CREATE INDEX runs_status ON runs(status)",
        """CREATE TABLE steps (
            run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
            idx INTEGER NOT NULL,
            kind TEXT NOT NULL,
            data TEXT NOT NULL,
            created_at TEXT NOT NULL,
            PRIMARY KEY (run_id, idx)
        ) WITHOUT ROWID""",
    )


def m002_evidence(conn: sqlite3.Connection) -> None:
    """Sources a tool returned, numbered per run; ``digest`` makes the same span one row."""
    _run(
        conn,
        """CREATE TABLE evidence (
            run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
            id INTEGER NOT NULL,
            step_index INTEGER NOT NULL,
            source TEXT NOT NULL,
            location TEXT NOT NULL,
            text TEXT NOT NULL,
            title TEXT NOT NULL DEFAULT '',
            kind TEXT NOT NULL DEFAULT 'web',
            digest TEXT NOT NULL,
            created_at TEXT NOT NULL,
            PRIMARY KEY (run_id, id),
            UNIQUE (run_id, digest)
        )""",
    )


def m003_network_log(conn: sqlite3.Connection) -> None:
    """Every search query and URL that left the machine, per run."""
    _run(
        conn,
        """CREATE TABLE network (
            id INTEGER PRIMARY KEY,
            run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
            kind TEXT NOT NULL,
            target TEXT NOT NULL,
            tool TEXT NOT NULL,
            ok INTEGER NOT NULL,
            detail TEXT NOT NULL DEFAULT '',
            created_at TEXT NOT NULL
        )""",
        "CREATE INDEX network_run ON network(run_id)",
    )


MIGRATIONS: list[Migration] = [
    ("m001_initial", m001_initial),
    ("m002_evidence", m002_evidence),
    ("m003_network_log", m003_network_log),
]


def applied(conn: sqlite3.Connection) -> list[str]:
    """Names of the migrations already applied, in the order they ran."""
    exists = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '_migrations'"
    ).fetchone()
    if exists is None:
        return []
    return [row[0] for row in conn.execute("SELECT name FROM _migrations ORDER BY rowid")]


def migrate(conn: sqlite3.Connection, migrations: Sequence[Migration] = MIGRATIONS) -> list[str]:
    """Apply the missing migrations, each in its own transaction; return the names applied now.

    ``conn`` must be in autocommit mode (``isolation_level=None``), as ``db.connect`` makes it.
    Safe when several processes open a new database at once: each migration re-checks, under the
    write lock, that nobody applied it meanwhile.
    """
    known = {name for name, _ in migrations}
    unknown = [name for name in applied(conn) if name not in known]
    if unknown:
        raise StoreError(
            "The sessions database was upgraded by a newer deepresearch-local "
            f"(migrations {', '.join(unknown)}). Upgrade the app (`pip install -U deepresearch-local`), "
            "or set DEEPRESEARCH_HOME to another folder."
        )
    conn.execute("CREATE TABLE IF NOT EXISTS _migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)")
    done: list[str] = []
    for name, function in migrations:
        conn.execute("BEGIN IMMEDIATE")
        try:
            if conn.execute("SELECT 1 FROM _migrations WHERE name = ?", (name,)).fetchone() is None:
                function(conn)
                conn.execute("INSERT INTO _migrations (name, applied_at) VALUES (?, ?)", (name, utc_now()))
                done.append(name)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    return done
