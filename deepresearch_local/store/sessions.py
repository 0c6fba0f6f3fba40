"""``SessionStore``: research sessions, their questions and runs, in SQLite.

A session holds questions; each question is answered by one or more runs (a resumed or
retried run is another row); each run keeps its steps, evidence and network log (``RunLog``).
Every write is committed (fsynced) before the method returns.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from deepresearch_local.store.db import Database, fresh_id, utc_now
from deepresearch_local.store.errors import AmbiguousSessionId, RunNotFound, SessionNotFound, StoreError
from deepresearch_local.store.migrations import migrate
from deepresearch_local.store.records import (
    RUN_SELECT,
    RUN_STATUSES,
    SESSION_SELECT,
    QuestionInfo,
    RunInfo,
    SessionInfo,
    dumps,
    run_from_row,
    session_from_row,
)
from deepresearch_local.store.runlog import RunLog

SESSION_ID_LENGTH = 6
ROW_ID_LENGTH = 8
"""Questions and runs get longer ids: nobody types them."""


class SessionStore(RunLog):
    """The sessions database. Safe to share between threads (each gets its own connection)."""

    def __init__(self, path: Path | None = None) -> None:
        if path is None:
            from deepresearch_local.paths import get_paths

            path = get_paths().sessions_db
        self.path = path
        self._db = Database(path)
        try:
            migrate(self._db.conn())
        except sqlite3.DatabaseError as exc:
            self._db.close()
            raise StoreError(
                f"Cannot upgrade the sessions database {path}: {exc}. Move it aside (a new, empty history "
                "is then started) or restore it from a backup."
            ) from exc
        except BaseException:
            self._db.close()
            raise

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> SessionStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def integrity_ok(self) -> bool:
        """``PRAGMA integrity_check`` says ok and no row points at a missing parent."""
        conn = self._db.conn()
        result = [row[0] for row in conn.execute("PRAGMA integrity_check")]
        dangling = conn.execute("PRAGMA foreign_key_check").fetchall()
        return result == ["ok"] and not dangling

    # Sessions

    def create_session(self, title: str) -> str:
        with self._db.write() as conn:
            session_id = fresh_id(conn, "sessions", SESSION_ID_LENGTH)
            now = utc_now()
            conn.execute(
                "INSERT INTO sessions (id, title, created_at, updated_at) VALUES (?, ?, ?, ?)",
                (session_id, title, now, now),
            )
        return session_id

    def rename_session(self, session_id: str, title: str) -> None:
        with self._db.write() as conn:
            cursor = conn.execute(
                "UPDATE sessions SET title = ?, updated_at = ? WHERE id = ?", (title, utc_now(), session_id)
            )
            if cursor.rowcount != 1:
                raise SessionNotFound(session_id)

    def delete_session(self, session_id: str) -> None:
        """Remove a session with its questions, runs, steps, evidence and network log."""
        with self._db.write() as conn:
            if conn.execute("DELETE FROM sessions WHERE id = ?", (session_id,)).rowcount != 1:
                raise SessionNotFound(session_id)

    def list_sessions(self, search: str | None = None) -> list[SessionInfo]:
        """Newest activity first; ``search`` (case-insensitive) matches titles, questions and answers."""
        order = " ORDER BY s.updated_at DESC, s.rowid DESC"
        with self._db.read() as conn:
            if not search:
                rows = conn.execute(SESSION_SELECT + order).fetchall()
            else:
                where = (
                    " WHERE instr(casefold(s.title), :q) > 0"
                    " OR EXISTS (SELECT 1 FROM questions q WHERE q.session_id = s.id"
                    " AND instr(casefold(q.text), :q) > 0)"
                    " OR EXISTS (SELECT 1 FROM runs r WHERE r.session_id = s.id AND r.answer IS NOT NULL"
                    " AND instr(casefold(r.answer), :q) > 0)"
                )
                rows = conn.execute(SESSION_SELECT + where + order, {"q": search.casefold()}).fetchall()
        return [session_from_row(row) for row in rows]

    def get_session(self, session_id: str) -> SessionInfo:
        with self._db.read() as conn:
            row = conn.execute(SESSION_SELECT + " WHERE s.id = ?", (session_id,)).fetchone()
        if row is None:
            raise SessionNotFound(session_id)
        return session_from_row(row)

    def resolve_id(self, prefix: str) -> str:
        """The session id that is ``prefix`` or the only one starting with it (like git)."""
        prefix = prefix.strip().lower()
        if not prefix:
            raise SessionNotFound(prefix)
        with self._db.read() as conn:
            if conn.execute("SELECT 1 FROM sessions WHERE id = ?", (prefix,)).fetchone() is not None:
                return prefix
            # substr instead of LIKE: ids are plain, but a prefix typed by a user may hold % or _.
            rows = conn.execute(
                "SELECT id FROM sessions WHERE substr(id, 1, ?) = ?", (len(prefix), prefix)
            ).fetchall()
        matches = [str(row[0]) for row in rows]
        if not matches:
            raise SessionNotFound(prefix)
        if len(matches) > 1:
            raise AmbiguousSessionId(prefix, matches)
        return matches[0]

    # Questions

    def add_question(self, session_id: str, text: str) -> str:
        with self._db.write() as conn:
            self._require_session(conn, session_id)
            question_id = fresh_id(conn, "questions", ROW_ID_LENGTH)
            now = utc_now()
            conn.execute(
                "INSERT INTO questions (id, session_id, text, created_at) VALUES (?, ?, ?, ?)",
                (question_id, session_id, text, now),
            )
            self._touch(conn, session_id, now)
        return question_id

    def questions(self, session_id: str) -> list[QuestionInfo]:
        """The session's questions, oldest first."""
        with self._db.read() as conn:
            self._require_session(conn, session_id)
            rows = conn.execute(
                "SELECT * FROM questions WHERE session_id = ? ORDER BY created_at, rowid", (session_id,)
            ).fetchall()
        return [QuestionInfo(row["id"], row["session_id"], row["text"], row["created_at"]) for row in rows]

    # Runs

    def start_run(self, session_id: str, question_id: str, mode: str, config: dict[str, Any]) -> str:
        """A new run in status ``running`` that answers ``question_id`` (a question of this session)."""
        payload = dumps(config)
        with self._db.write() as conn:
            self._require_session(conn, session_id)
            row = conn.execute("SELECT session_id FROM questions WHERE id = ?", (question_id,)).fetchone()
            if row is None or row[0] != session_id:
                raise RunNotFound(f"question in session {session_id}", question_id)
            run_id = fresh_id(conn, "runs", ROW_ID_LENGTH)
            now = utc_now()
            conn.execute(
                "INSERT INTO runs (id, session_id, question_id, mode, status, config, started_at) "
                "VALUES (?, ?, ?, ?, 'running', ?, ?)",
                (run_id, session_id, question_id, mode, payload, now),
            )
            self._touch(conn, session_id, now)
        return run_id

    def finish_run(
        self,
        run_id: str,
        status: str,
        termination: str,
        answer: str | None,
        report: str | None,
        stats: dict[str, Any],
    ) -> None:
        """Close a run: ``status`` is finished, cancelled or failed; ``termination`` says why it ended."""
        if status not in RUN_STATUSES or status == "running":
            raise ValueError(f"finish_run status must be finished, cancelled or failed, not {status!r}")
        payload = dumps(stats)
        with self._db.write() as conn:
            session_id = self._run_session(conn, run_id)
            now = utc_now()
            conn.execute(
                "UPDATE runs SET status = ?, termination = ?, answer = ?, report = ?, stats = ?, "
                "finished_at = ? WHERE id = ?",
                (status, termination, answer, report, payload, now, run_id),
            )
            self._touch(conn, session_id, now)

    def run(self, run_id: str) -> RunInfo:
        with self._db.read() as conn:
            row = conn.execute(RUN_SELECT + " WHERE r.id = ?", (run_id,)).fetchone()
        if row is None:
            raise RunNotFound("run", run_id)
        return run_from_row(row)

    def runs(self, session_id: str) -> list[RunInfo]:
        """The session's runs, oldest first."""
        with self._db.read() as conn:
            self._require_session(conn, session_id)
            rows = conn.execute(
                RUN_SELECT + " WHERE r.session_id = ? ORDER BY r.started_at, r.rowid", (session_id,)
            ).fetchall()
        return [run_from_row(row) for row in rows]

    def unfinished_runs(self, session_id: str | None = None) -> list[RunInfo]:
        """Runs still marked ``running``: their process was killed (or is still going), oldest first."""
        with self._db.read() as conn:
            if session_id is None:
                rows = conn.execute(
                    RUN_SELECT + " WHERE r.status = 'running' ORDER BY r.started_at, r.rowid"
                ).fetchall()
            else:
                self._require_session(conn, session_id)
                rows = conn.execute(
                    RUN_SELECT
                    + " WHERE r.status = 'running' AND r.session_id = ? ORDER BY r.started_at, r.rowid",
                    (session_id,),
                ).fetchall()
        return [run_from_row(row) for row in rows]

    def latest_report(self, session_id: str) -> str | None:
        """The report of the session's most recent run that wrote one (a follow-up starts from it)."""
        with self._db.read() as conn:
            self._require_session(conn, session_id)
            row = conn.execute(
                "SELECT report FROM runs WHERE session_id = ? AND report IS NOT NULL "
                "ORDER BY started_at DESC, rowid DESC LIMIT 1",
                (session_id,),
            ).fetchone()
        return None if row is None else str(row[0])
