"""The part of the store a running agent writes most: steps, evidence and the network log.

Every write is its own committed transaction before the method returns, so a process killed
at any moment keeps everything it was told was stored, and replaying a step is a no-op.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from typing import Any

from deepresearch_local.store.db import Database, utc_now
from deepresearch_local.store.errors import RunNotFound, SessionNotFound
from deepresearch_local.store.records import (
    StepRecord,
    dumps,
    evidence_from_row,
    network_from_row,
    step_from_row,
)


def _evidence_digest(source: str, location: str, text: str) -> str:
    return hashlib.sha256(json.dumps([source, location, text], ensure_ascii=False).encode()).hexdigest()


class RunLog:
    """Steps, evidence and network events of runs (mixed into ``SessionStore``)."""

    _db: Database

    @staticmethod
    def _run_session(conn: sqlite3.Connection, run_id: str) -> str:
        row = conn.execute("SELECT session_id FROM runs WHERE id = ?", (run_id,)).fetchone()
        if row is None:
            raise RunNotFound("run", run_id)
        return str(row[0])

    @staticmethod
    def _require_session(conn: sqlite3.Connection, session_id: str) -> None:
        if conn.execute("SELECT 1 FROM sessions WHERE id = ?", (session_id,)).fetchone() is None:
            raise SessionNotFound(session_id)

    @staticmethod
    def _touch(conn: sqlite3.Connection, session_id: str, now: str) -> None:
        conn.execute("UPDATE sessions SET updated_at = ? WHERE id = ?", (now, session_id))

    def add_step(self, run_id: str, index: int, kind: str, data: dict[str, Any]) -> bool:
        """Store step ``index`` of a run, durably. False (and nothing changed) if that index exists."""
        payload = dumps(data)
        with self._db.write() as conn:
            session_id = self._run_session(conn, run_id)
            now = utc_now()
            cursor = conn.execute(
                "INSERT INTO steps (run_id, idx, kind, data, created_at) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT (run_id, idx) DO NOTHING",
                (run_id, index, kind, payload, now),
            )
            if cursor.rowcount != 1:
                return False
            self._touch(conn, session_id, now)
        return True

    def steps(self, run_id: str) -> list[StepRecord]:
        """Every stored step of a run, ordered by index."""
        with self._db.read() as conn:
            self._run_session(conn, run_id)
            rows = conn.execute("SELECT * FROM steps WHERE run_id = ? ORDER BY idx", (run_id,)).fetchall()
        return [step_from_row(row) for row in rows]

    def add_evidence(
        self, run_id: str, step_index: int, source: str, location: str, text: str, title: str, kind: str
    ) -> int:
        """Archive a span a tool returned; its number in the run (1, 2, ...), the same for a repeat."""
        digest = _evidence_digest(source, location, text)
        with self._db.write() as conn:
            self._run_session(conn, run_id)
            row = conn.execute(
                "SELECT id FROM evidence WHERE run_id = ? AND digest = ?", (run_id, digest)
            ).fetchone()
            if row is not None:
                return int(row[0])
            number = int(
                conn.execute(
                    "SELECT COALESCE(MAX(id), 0) + 1 FROM evidence WHERE run_id = ?", (run_id,)
                ).fetchone()[0]
            )
            conn.execute(
                "INSERT INTO evidence (run_id, id, step_index, source, location, text, title, kind, digest, "
                "created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (run_id, number, step_index, source, location, text, title, kind, digest, utc_now()),
            )
        return number

    def evidence(self, run_id: str) -> list[dict[str, Any]]:
        """The run's evidence by number: id, step_index, source, location, text, title, kind."""
        with self._db.read() as conn:
            self._run_session(conn, run_id)
            rows = conn.execute("SELECT * FROM evidence WHERE run_id = ? ORDER BY id", (run_id,)).fetchall()
        return [evidence_from_row(row) for row in rows]

    def session_evidence(self, session_id: str) -> list[dict[str, Any]]:
        """Evidence of every run of a session (each dict also has ``run_id``), oldest run first."""
        with self._db.read() as conn:
            self._require_session(conn, session_id)
            rows = conn.execute(
                "SELECT e.* FROM evidence e JOIN runs r ON r.id = e.run_id WHERE r.session_id = ? "
                "ORDER BY r.started_at, r.rowid, e.id",
                (session_id,),
            ).fetchall()
        return [{"run_id": row["run_id"], **evidence_from_row(row)} for row in rows]

    def add_network(self, run_id: str, kind: str, target: str, tool: str, ok: bool, detail: str) -> None:
        """Record something that left the machine (a search query, a fetched URL)."""
        with self._db.write() as conn:
            self._run_session(conn, run_id)
            conn.execute(
                "INSERT INTO network (run_id, kind, target, tool, ok, detail, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (run_id, kind, target, tool, int(ok), detail, utc_now()),
            )

    def network(self, session_id: str) -> list[dict[str, Any]]:
        """Every network event of a session's runs, in the order they happened."""
        with self._db.read() as conn:
            self._require_session(conn, session_id)
            rows = conn.execute(
                "SELECT n.* FROM network n JOIN runs r ON r.id = n.run_id "
                "WHERE r.session_id = ? ORDER BY n.id",
                (session_id,),
            ).fetchall()
        return [network_from_row(row) for row in rows]
