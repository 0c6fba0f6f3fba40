"""Research sessions in SQLite: questions, runs, steps, evidence and the network log.

Headless: no UI imports. Open with ``SessionStore()`` (the default path is the app's data folder).
"""

from deepresearch_local.store.errors import AmbiguousSessionId, RunNotFound, SessionNotFound, StoreError
from deepresearch_local.store.records import QuestionInfo, RunInfo, SessionInfo, StepRecord
from deepresearch_local.store.sessions import SessionStore

__all__ = [
    "AmbiguousSessionId",
    "QuestionInfo",
    "RunInfo",
    "RunNotFound",
    "SessionInfo",
    "SessionNotFound",
    "SessionStore",
    "StepRecord",
    "StoreError",
]
