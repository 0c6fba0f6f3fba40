"""What the store hands back: frozen records built from database rows."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from typing import Any

RUN_STATUSES = ("running", "finished", "cancelled", "failed")
"""``running`` also marks a run whose process died (kill -9, power loss): it can be resumed."""


def dumps(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False)


def loads(text: str) -> Any:
    return json.loads(text)


@dataclass(frozen=True)
class SessionInfo:
    id: str
    title: str
    created_at: str
    updated_at: str
    questions: int
    last_termination: str | None
    """Termination reason of the most recent run (None while it runs, or before any run)."""
    last_answer: str | None
    """The most recent answer any run of the session gave."""


@dataclass(frozen=True)
class QuestionInfo:
    id: str
    session_id: str
    text: str
    created_at: str


@dataclass(frozen=True)
class StepRecord:
    run_id: str
    index: int
    kind: str
    data: dict[str, Any]
    created_at: str


@dataclass(frozen=True)
class RunInfo:
    id: str
    session_id: str
    question_id: str
    question: str
    mode: str
    status: str
    """One of ``RUN_STATUSES``."""
    termination: str | None
    answer: str | None
    report: str | None
    config: dict[str, Any]
    stats: dict[str, Any]
    started_at: str
    finished_at: str | None


SESSION_SELECT = """
SELECT s.id, s.title, s.created_at, s.updated_at,
    (SELECT COUNT(*) FROM questions q WHERE q.session_id = s.id) AS questions,
    (SELECT r.termination FROM runs r WHERE r.session_id = s.id
        ORDER BY r.started_at DESC, r.rowid DESC LIMIT 1) AS last_termination,
    (SELECT r.answer FROM runs r WHERE r.session_id = s.id AND r.answer IS NOT NULL
        ORDER BY r.started_at DESC, r.rowid DESC LIMIT 1) AS last_answer
FROM sessions s
"""

RUN_SELECT = """
SELECT r.*, q.text AS question FROM runs r JOIN questions q ON q.id = r.question_id
"""


def session_from_row(row: sqlite3.Row) -> SessionInfo:
    return SessionInfo(
        id=row["id"],
        title=row["title"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        questions=int(row["questions"]),
        last_termination=row["last_termination"],
        last_answer=row["last_answer"],
    )


def run_from_row(row: sqlite3.Row) -> RunInfo:
    return RunInfo(
        id=row["id"],
        session_id=row["session_id"],
        question_id=row["question_id"],
        question=row["question"],
        mode=row["mode"],
        status=row["status"],
        termination=row["termination"],
        answer=row["answer"],
        report=row["report"],
        config=loads(row["config"]),
        stats=loads(row["stats"]),
        started_at=row["started_at"],
        finished_at=row["finished_at"],
    )


def step_from_row(row: sqlite3.Row) -> StepRecord:
    return StepRecord(
        run_id=row["run_id"],
        index=row["idx"],
        kind=row["kind"],
        data=loads(row["data"]),
        created_at=row["created_at"],
    )


def evidence_from_row(row: sqlite3.Row) -> dict[str, Any]:
    return {
        "id": row["id"],
        "step_index": row["step_index"],
        "source": row["source"],
        "location": row["location"],
        "text": row["text"],
        "title": row["title"],
        "kind": row["kind"],
    }


def network_from_row(row: sqlite3.Row) -> dict[str, Any]:
    return {
        "run_id": row["run_id"],
        "kind": row["kind"],
        "target": row["target"],
        "tool": row["tool"],
        "ok": bool(row["ok"]),
        "detail": row["detail"],
        "created_at": row["created_at"],
    }
