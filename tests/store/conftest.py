"""Fixtures for the store tests: a store at the default path (inside the per-test home), seeded data."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from deepresearch_local.store import SessionStore


@pytest.fixture
def store() -> Iterator[SessionStore]:
    opened = SessionStore()
    yield opened
    opened.close()


@dataclass(frozen=True)
class Seeded:
    session: str
    q1: str
    q2: str
    run1: str
    run2: str
    other_session: str


REPORT_1 = (
    "# Heat pumps in cold climates\n\n"
    "Modern cold-climate heat pumps keep a COP above 1.5 at -20 °C [1].\n\n"
    "```\n# not a heading\n```\n\n"
    "## Sources\n1. https://example.test/cop\n"
)


def seed(store: SessionStore) -> Seeded:
    """Two sessions; the first with an answered question and a second question whose run was killed."""
    other = store.create_session("Sourdough starters")
    store.add_question(other, "How often should a starter be fed?")
    session = store.create_session("Heat pumps")
    q1 = store.add_question(session, "Do heat pumps work at -20 °C?")
    run1 = store.start_run(session, q1, "fold", {"budget": 8192, "model": "tongyi-q4"})
    store.add_step(run1, 0, "model", {"tool": "search", "arguments": {"query": ["heat pump COP -20"]}})
    store.add_step(run1, 1, "tool", {"tool": "search", "summary": "5 results for 'heat pump COP -20'"})
    store.add_step(run1, 2, "model", {"text": "<answer>Yes, with a COP above 1.5.</answer>"})
    store.add_evidence(
        run1, 1, "https://example.test/cop", "§ Results", "COP 1.6 at -20 °C", "Field test", "web"
    )
    store.add_network(run1, "search", "heat pump COP -20", "search", True, "5 results")
    store.add_network(run1, "fetch", "https://example.test/cop", "visit", False, "timeout")
    store.finish_run(run1, "finished", "answered", "Yes, with a COP above 1.5.", REPORT_1, {"steps": 3})
    q2 = store.add_question(session, "Which refrigerant is best?\nConsider R290 and R32.")
    run2 = store.start_run(session, q2, "react", {"budget": 4096})
    store.add_step(run2, 0, "model", {"tool": "search", "arguments": {"query": ["R290 vs R32"]}})
    return Seeded(session, q1, q2, run1, run2, other)
