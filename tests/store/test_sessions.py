"""SessionStore: sessions, questions and runs through the public API, on a real SQLite file."""

from __future__ import annotations

import re
import sqlite3
import threading
from collections.abc import Iterator
from datetime import datetime, timezone

import pytest

from deepresearch_local.paths import get_paths
from deepresearch_local.store import (
    AmbiguousSessionId,
    RunNotFound,
    SessionNotFound,
    SessionStore,
    StoreError,
)
from deepresearch_local.store import db as store_db
from tests.store.conftest import REPORT_1, seed


def _utc(stamp: str) -> datetime:
    parsed = datetime.fromisoformat(stamp)
    assert parsed.tzinfo == timezone.utc
    return parsed


def test_default_path_is_the_data_folder(store: SessionStore) -> None:
    assert store.path == get_paths().sessions_db
    assert store.path.is_file()


def test_create_and_get(store: SessionStore) -> None:
    ids = {store.create_session(f"s{i}") for i in range(200)}
    assert len(ids) == 200
    assert all(re.fullmatch(r"[0-9a-z]{6}", i) for i in ids)
    session_id = store.create_session("Électricité")
    info = store.get_session(session_id)
    assert (info.id, info.title, info.questions, info.last_termination, info.last_answer) == (
        session_id,
        "Électricité",
        0,
        None,
        None,
    )
    assert _utc(info.created_at) == _utc(info.updated_at)


def test_ids_never_collide(store: SessionStore, monkeypatch: pytest.MonkeyPatch) -> None:
    drawn: Iterator[str] = iter(["abc111", "abc111", "abc111", "abc222"])
    monkeypatch.setattr(store_db, "new_id", lambda length=6: next(drawn))
    assert store.create_session("one") == "abc111"
    assert store.create_session("two") == "abc222"  # two draws of a taken id were skipped


def test_missing_session_errors_say_what_to_do(store: SessionStore) -> None:
    with pytest.raises(SessionNotFound) as err:
        store.get_session("nope42")
    assert err.value.exit_code == 2
    assert "deepresearch sessions list" in str(err.value) and "nope42" in str(err.value)
    for call in (
        lambda: store.rename_session("nope42", "x"),
        lambda: store.delete_session("nope42"),
        lambda: store.add_question("nope42", "x"),
        lambda: store.runs("nope42"),
        lambda: store.network("nope42"),
        lambda: store.latest_report("nope42"),
        lambda: store.questions("nope42"),
        lambda: store.unfinished_runs("nope42"),
    ):
        with pytest.raises(SessionNotFound):
            call()


def test_rename_updates_title_and_activity(store: SessionStore) -> None:
    session_id = store.create_session("draft")
    before = store.get_session(session_id)
    store.rename_session(session_id, "Final title")
    after = store.get_session(session_id)
    assert after.title == "Final title"
    assert _utc(after.updated_at) > _utc(before.updated_at)
    assert after.created_at == before.created_at


def test_list_newest_activity_first_and_search(store: SessionStore) -> None:
    seeded = seed(store)
    third = store.create_session("Été à Montréal")
    assert [s.id for s in store.list_sessions()] == [third, seeded.session, seeded.other_session]
    store.add_question(seeded.other_session, "Rye or wheat flour?")
    assert [s.id for s in store.list_sessions()] == [seeded.other_session, third, seeded.session]
    assert [s.id for s in store.list_sessions("HEAT PUMPS")] == [seeded.session]  # title
    assert [s.id for s in store.list_sessions("refrigerant")] == [seeded.session]  # a question
    assert [s.id for s in store.list_sessions("cop above")] == [seeded.session]  # an answer
    assert [s.id for s in store.list_sessions("ÉTÉ")] == [third]  # case folding beyond ASCII
    assert [s.id for s in store.list_sessions("rye")] == [seeded.other_session]
    assert store.list_sessions("zeppelin") == []
    assert len(store.list_sessions("")) == 3
    summary = {s.id: s for s in store.list_sessions()}[seeded.session]
    # The latest run is still running: no termination yet, but the last answer is the first run's.
    assert (summary.questions, summary.last_termination, summary.last_answer) == (
        2,
        None,
        "Yes, with a COP above 1.5.",
    )


def test_resolve_id_like_git(store: SessionStore, monkeypatch: pytest.MonkeyPatch) -> None:
    drawn = iter(["abc111", "abc222", "xyz999"])
    monkeypatch.setattr(store_db, "new_id", lambda length=6: next(drawn))
    for title in ("a", "b", "c"):
        store.create_session(title)
    assert store.resolve_id("abc111") == "abc111"
    assert store.resolve_id("abc2") == "abc222"
    assert store.resolve_id(" XY ") == "xyz999"
    with pytest.raises(AmbiguousSessionId) as err:
        store.resolve_id("abc")
    assert err.value.exit_code == 2 and "abc111" in str(err.value) and "abc222" in str(err.value)
    for bad in ("q", "", "%", "_bc"):
        with pytest.raises(SessionNotFound):
            store.resolve_id(bad)


def test_questions_and_runs(store: SessionStore) -> None:
    seeded = seed(store)
    assert [(q.id, q.text) for q in store.questions(seeded.session)] == [
        (seeded.q1, "Do heat pumps work at -20 °C?"),
        (seeded.q2, "Which refrigerant is best?\nConsider R290 and R32."),
    ]
    first = store.run(seeded.run1)
    assert (first.session_id, first.question_id, first.question, first.mode, first.status) == (
        seeded.session,
        seeded.q1,
        "Do heat pumps work at -20 °C?",
        "fold",
        "finished",
    )
    assert (first.termination, first.answer, first.report) == (
        "answered",
        "Yes, with a COP above 1.5.",
        REPORT_1,
    )
    assert (first.config, first.stats) == ({"budget": 8192, "model": "tongyi-q4"}, {"steps": 3})
    assert first.finished_at is not None and _utc(first.finished_at) >= _utc(first.started_at)
    second = store.run(seeded.run2)
    assert (second.status, second.termination, second.answer, second.finished_at, second.stats) == (
        "running",
        None,
        None,
        None,
        {},
    )
    assert [r.id for r in store.runs(seeded.session)] == [seeded.run1, seeded.run2]
    assert store.runs(seeded.other_session) == []
    assert [r.id for r in store.unfinished_runs()] == [seeded.run2]
    assert [r.id for r in store.unfinished_runs(seeded.session)] == [seeded.run2]
    assert store.unfinished_runs(seeded.other_session) == []
    with pytest.raises(RunNotFound):
        store.run("missing1")


def test_start_run_needs_a_question_of_that_session(store: SessionStore) -> None:
    seeded = seed(store)
    with pytest.raises(RunNotFound):
        store.start_run(seeded.other_session, seeded.q1, "react", {})
    with pytest.raises(RunNotFound):
        store.start_run(seeded.session, "missing1", "react", {})
    assert len(store.runs(seeded.other_session)) == 0


def test_finish_run_and_latest_report(store: SessionStore) -> None:
    seeded = seed(store)
    assert store.latest_report(seeded.session) == REPORT_1
    assert store.latest_report(seeded.other_session) is None
    with pytest.raises(ValueError, match="running"):
        store.finish_run(seeded.run2, "running", "x", None, None, {})
    store.finish_run(seeded.run2, "failed", "engine_error", None, None, {"error": "out of memory"})
    assert store.latest_report(seeded.session) == REPORT_1  # a failed run without a report hides nothing
    run = store.run(seeded.run2)
    assert (run.status, run.termination, run.stats) == ("failed", "engine_error", {"error": "out of memory"})
    assert store.unfinished_runs() == []
    assert store.get_session(seeded.session).last_termination == "engine_error"
    retry = store.start_run(seeded.session, seeded.q2, "react", {})
    store.finish_run(retry, "finished", "answered", "R290", "# R290 wins", {})
    assert store.latest_report(seeded.session) == "# R290 wins"
    info = store.get_session(seeded.session)
    assert (info.last_termination, info.last_answer) == ("answered", "R290")


def test_delete_cascades_to_everything(store: SessionStore) -> None:
    seeded = seed(store)
    store.delete_session(seeded.session)
    conn = sqlite3.connect(store.path)
    counts = {
        table: conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
        for table in ("sessions", "questions", "runs", "steps", "evidence", "network")
    }
    conn.close()
    # Only the other session and its question are left.
    assert counts == {"sessions": 1, "questions": 1, "runs": 0, "steps": 0, "evidence": 0, "network": 0}
    assert [s.id for s in store.list_sessions()] == [seeded.other_session]
    with pytest.raises(SessionNotFound):
        store.delete_session(seeded.session)
    assert store.integrity_ok()


def test_json_is_stored_readable(store: SessionStore) -> None:
    seeded = seed(store)
    assert store.add_step(seeded.run2, 1, "tool", {"text": "Température −20 °C", "n": [1, None]})
    conn = sqlite3.connect(store.path)
    raw = conn.execute("SELECT data FROM steps WHERE run_id = ? AND idx = 1", (seeded.run2,)).fetchone()[0]
    conn.close()
    assert raw == '{"text": "Température −20 °C", "n": [1, null]}'
    with pytest.raises(TypeError):
        store.add_step(seeded.run2, 5, "model", {"bad": object()})
    assert [s.index for s in store.steps(seeded.run2)] == [0, 1]


def test_threads_get_their_own_connection_and_close_ends_all(store: SessionStore) -> None:
    session_id = store.create_session("threads")
    seen: list[object] = []

    def worker() -> None:
        seen.append(store._db.conn())
        store.add_question(session_id, "from a thread")

    thread = threading.Thread(target=worker)
    thread.start()
    thread.join()
    assert seen[0] is not store._db.conn()
    assert store.get_session(session_id).questions == 1
    store.close()
    with pytest.raises(StoreError, match="closed"):
        store.get_session(session_id)
    with pytest.raises(sqlite3.ProgrammingError):
        seen[0].execute("SELECT 1")  # type: ignore[attr-defined]
