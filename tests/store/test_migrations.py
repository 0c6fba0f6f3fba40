"""Migrations: a fresh database, and an upgrade from the schema after each older migration, with data."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timezone
from pathlib import Path

import pytest

from deepresearch_local.store import SessionStore, StoreError
from deepresearch_local.store.db import connect
from deepresearch_local.store.migrations import MIGRATIONS, applied, m001_initial, migrate
from deepresearch_local.store.runlog import _evidence_digest

NAMES = [name for name, _ in MIGRATIONS]
NOW = "2025-03-01T10:00:00.000000+00:00"


def _schema(path: Path) -> list[tuple[str, str]]:
    conn = sqlite3.connect(path)
    rows = conn.execute(
        "SELECT name, sql FROM sqlite_master WHERE sql IS NOT NULL AND name != '_migrations' ORDER BY name"
    ).fetchall()
    conn.close()
    return [(name, " ".join(sql.split())) for name, sql in rows]


def _seed_level(conn: sqlite3.Connection, level: int) -> None:
    """Rows as an older app would have written them with the schema after migration ``level``."""
    conn.execute("INSERT INTO sessions VALUES ('old001', 'Old research', ?, ?)", (NOW, NOW))
    conn.execute("INSERT INTO questions VALUES ('q0000001', 'old001', 'What is WAL?', ?)", (NOW,))
    conn.execute(
        "INSERT INTO runs (id, session_id, question_id, mode, status, termination, answer, report, config, "
        "stats, started_at, finished_at) VALUES ('r0000001', 'old001', 'q0000001', 'react', 'finished', "
        "'answered', 'A write-ahead log.', '# WAL', '{\"budget\": 4096}', '{\"steps\": 2}', ?, ?)",
        (NOW, NOW),
    )
    for idx in range(2):
        conn.execute(
            "INSERT INTO steps VALUES ('r0000001', ?, 'model', ?, ?)", (idx, f'{{"n": {idx}, "é": "ü"}}', NOW)
        )
    if level >= 2:
        digest = _evidence_digest("https://sqlite.test/wal", "§ 1", "WAL is a log")
        conn.execute(
            "INSERT INTO evidence VALUES ('r0000001', 1, 1, 'https://sqlite.test/wal', '§ 1', "
            "'WAL is a log', 'WAL', 'web', ?, ?)",
            (digest, NOW),
        )


def test_fresh_database_applies_every_migration_in_order(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    store = SessionStore(path)
    store.close()
    conn = connect(path)
    assert applied(conn) == NAMES
    stamps = [row[0] for row in conn.execute("SELECT applied_at FROM _migrations ORDER BY rowid")]
    assert all(datetime.fromisoformat(s).tzinfo == timezone.utc for s in stamps)
    assert migrate(conn) == []  # nothing left to apply
    assert applied(conn) == NAMES
    conn.close()
    assert {name for name, _ in _schema(path)} >= {
        "sessions",
        "questions",
        "runs",
        "steps",
        "evidence",
        "network",
    }


def test_connection_settings(tmp_path: Path) -> None:
    conn = connect(tmp_path / "sub" / "dir" / "s.sqlite3")  # parents are created
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert conn.execute("PRAGMA busy_timeout").fetchone()[0] >= 5000
    conn.close()


@pytest.mark.parametrize("level", range(1, len(MIGRATIONS)))
def test_upgrade_from_each_older_schema_keeps_the_data(tmp_path: Path, level: int) -> None:
    old = tmp_path / "old.sqlite3"
    conn = connect(old)
    assert migrate(conn, MIGRATIONS[:level]) == NAMES[:level]
    conn.execute("BEGIN")
    _seed_level(conn, level)
    conn.execute("COMMIT")
    conn.close()

    store = SessionStore(old)  # upgrades
    assert applied(store._db.conn()) == NAMES
    info = store.get_session("old001")
    assert (info.title, info.questions, info.last_termination, info.last_answer) == (
        "Old research",
        1,
        "answered",
        "A write-ahead log.",
    )
    run = store.run("r0000001")
    assert (run.question, run.config, run.stats, run.report) == (
        "What is WAL?",
        {"budget": 4096},
        {"steps": 2},
        "# WAL",
    )
    assert [(s.index, s.data) for s in store.steps("r0000001")] == [
        (0, {"n": 0, "é": "ü"}),
        (1, {"n": 1, "é": "ü"}),
    ]
    # Tables added by the upgrade work on the old rows.
    number = store.add_evidence("r0000001", 1, "https://sqlite.test/wal", "§ 1", "WAL is a log", "WAL", "web")
    assert number == 1  # the row written before the upgrade (level >= 2), or the first one now
    assert len(store.evidence("r0000001")) == 1
    store.add_network("r0000001", "fetch", "https://sqlite.test/wal", "visit", True, "")
    assert [e["target"] for e in store.network("old001")] == ["https://sqlite.test/wal"]
    assert store.add_step("r0000001", 1, "model", {"n": 99}) is False
    assert store.integrity_ok()
    store.close()

    fresh = tmp_path / "fresh.sqlite3"
    SessionStore(fresh).close()
    assert _schema(old) == _schema(fresh)  # an upgraded database has exactly the schema of a new one


def test_a_failing_migration_leaves_nothing_behind(tmp_path: Path) -> None:
    def broken(conn: sqlite3.Connection) -> None:
        conn.execute("CREATE TABLE half_done (x INTEGER)")
        raise RuntimeError("boom")

    conn = connect(tmp_path / "s.sqlite3")
    with pytest.raises(RuntimeError, match="boom"):
        migrate(conn, [("m001_initial", m001_initial), ("m002_broken", broken)])
    assert applied(conn) == ["m001_initial"]
    tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert "half_done" not in tables and "sessions" in tables
    assert not conn.in_transaction
    conn.close()


def test_a_database_from_a_newer_app_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    SessionStore(path).close()
    conn = connect(path)
    conn.execute("INSERT INTO _migrations VALUES ('m999_from_the_future', ?)", (NOW,))
    conn.close()
    with pytest.raises(StoreError, match="newer deepresearch-local") as err:
        SessionStore(path)
    assert "m999_from_the_future" in str(err.value)


def test_a_file_that_is_not_a_database_gives_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    path.write_bytes(b"this is not sqlite, just some bytes that are long enough to look like a header" * 20)
    with pytest.raises(StoreError, match="Move it aside") as err:
        SessionStore(path)
    assert str(path) in str(err.value)
