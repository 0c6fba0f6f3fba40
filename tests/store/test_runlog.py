"""Steps, evidence and the network log: idempotent, committed before returning, deduplicated."""

from __future__ import annotations

import sqlite3
from datetime import datetime

import pytest

from deepresearch_local.store import RunNotFound, SessionStore, StepRecord
from tests.store.conftest import seed


def test_steps_are_ordered_and_idempotent(store: SessionStore) -> None:
    seeded = seed(store)
    run = seeded.run2
    assert store.add_step(run, 2, "tool", {"text": "second"}) is True
    assert store.add_step(run, 1, "model", {"text": "first"}) is True  # out of order on purpose
    before = store.steps(run)
    assert [(s.index, s.kind, s.data) for s in before] == [
        (0, "model", {"tool": "search", "arguments": {"query": ["R290 vs R32"]}}),
        (1, "model", {"text": "first"}),
        (2, "tool", {"text": "second"}),
    ]
    assert all(isinstance(s, StepRecord) and s.run_id == run for s in before)
    assert store.add_step(run, 1, "other", {"text": "replayed"}) is False
    assert store.steps(run) == before  # nothing changed, not even the timestamp
    with pytest.raises(RunNotFound):
        store.add_step("missing1", 0, "model", {})
    with pytest.raises(RunNotFound):
        store.steps("missing1")


def test_a_step_is_committed_when_add_step_returns(store: SessionStore) -> None:
    seeded = seed(store)
    updated = store.get_session(seeded.session).updated_at
    assert store.add_step(seeded.run2, 1, "model", {"text": "durable"})
    # A separate connection (another process would see the same) reads it without any close/commit.
    conn = sqlite3.connect(store.path)
    row = conn.execute("SELECT kind, data FROM steps WHERE run_id = ? AND idx = 1", (seeded.run2,)).fetchone()
    conn.close()
    assert row == ("model", '{"text": "durable"}')
    assert not store._db.conn().in_transaction
    assert datetime.fromisoformat(store.get_session(seeded.session).updated_at) > datetime.fromisoformat(
        updated
    )


def test_evidence_numbers_are_per_run_and_deduplicated(store: SessionStore) -> None:
    seeded = seed(store)
    run = seeded.run2
    a = store.add_evidence(run, 1, "https://example.test/a", "p. 2", "R290 has a GWP of 3", "A", "web")
    b = store.add_evidence(
        run, 2, "/docs/refrigerants.pdf", "p. 7", "R32 has a GWP of 675", "Refrigerants", "file"
    )
    again = store.add_evidence(run, 5, "https://example.test/a", "p. 2", "R290 has a GWP of 3", "A", "web")
    elsewhere = store.add_evidence(
        run, 6, "https://example.test/a", "p. 3", "R290 has a GWP of 3", "A", "web"
    )
    assert (a, b, again, elsewhere) == (1, 2, 1, 3)
    assert store.evidence(run) == [
        {
            "id": 1,
            "step_index": 1,
            "source": "https://example.test/a",
            "location": "p. 2",
            "text": "R290 has a GWP of 3",
            "title": "A",
            "kind": "web",
        },
        {
            "id": 2,
            "step_index": 2,
            "source": "/docs/refrigerants.pdf",
            "location": "p. 7",
            "text": "R32 has a GWP of 675",
            "title": "Refrigerants",
            "kind": "file",
        },
        {
            "id": 3,
            "step_index": 6,
            "source": "https://example.test/a",
            "location": "p. 3",
            "text": "R290 has a GWP of 3",
            "title": "A",
            "kind": "web",
        },
    ]
    # The first run of the session numbers its own evidence from 1 too.
    assert [e["id"] for e in store.evidence(seeded.run1)] == [1]
    assert [(e["run_id"], e["id"]) for e in store.session_evidence(seeded.session)] == [
        (seeded.run1, 1),
        (run, 1),
        (run, 2),
        (run, 3),
    ]
    with pytest.raises(RunNotFound):
        store.add_evidence("missing1", 0, "s", "l", "t", "", "web")


def test_network_log_per_session(store: SessionStore) -> None:
    seeded = seed(store)
    store.add_network(seeded.run2, "search", "R290 vs R32", "search", True, "")
    other_q = store.add_question(seeded.other_session, "Hydration?")
    other_run = store.start_run(seeded.other_session, other_q, "react", {})
    store.add_network(other_run, "fetch", "https://bread.test/", "visit", True, "")
    events = store.network(seeded.session)
    assert [(e["run_id"], e["kind"], e["target"], e["tool"], e["ok"], e["detail"]) for e in events] == [
        (seeded.run1, "search", "heat pump COP -20", "search", True, "5 results"),
        (seeded.run1, "fetch", "https://example.test/cop", "visit", False, "timeout"),
        (seeded.run2, "search", "R290 vs R32", "search", True, ""),
    ]
    assert [e["target"] for e in store.network(seeded.other_session)] == ["https://bread.test/"]
    with pytest.raises(RunNotFound):
        store.add_network("missing1", "fetch", "x", "visit", True, "")


def test_integrity_ok_notices_a_dangling_row(store: SessionStore) -> None:
    seed(store)
    assert store.integrity_ok()
    conn = sqlite3.connect(store.path)  # foreign keys are off on a plain connection
    conn.execute("INSERT INTO steps VALUES ('ghost123', 0, 'model', '{}', '2025-01-01T00:00:00+00:00')")
    conn.commit()
    conn.close()
    assert not store.integrity_ok()
