"""What can go wrong with the sessions database, each with the fix in its message."""

from __future__ import annotations

from deepresearch_local.errors import EXIT_USAGE, DeepResearchError


class StoreError(DeepResearchError):
    """The sessions database cannot be opened, upgraded or written."""

    title = "Sessions database problem"


class SessionNotFound(DeepResearchError):
    """No session has that id (or no id starts with that prefix)."""

    title = "Session not found"
    exit_code = EXIT_USAGE

    def __init__(self, session_id: str) -> None:
        super().__init__(
            f"No session matches {session_id!r}. "
            "List the sessions and their ids with `deepresearch sessions list`."
        )
        self.session_id = session_id


class AmbiguousSessionId(DeepResearchError):
    """A prefix that more than one session id starts with."""

    title = "Ambiguous session id"
    exit_code = EXIT_USAGE

    def __init__(self, prefix: str, candidates: list[str]) -> None:
        shown = ", ".join(sorted(candidates)[:10])
        super().__init__(
            f"{prefix!r} matches {len(candidates)} sessions ({shown}). Type more characters of the id."
        )
        self.prefix = prefix
        self.candidates = candidates


class RunNotFound(DeepResearchError):
    """No run (or question) has that id: a programming error in the caller, or a deleted session."""

    title = "Run not found"
    exit_code = EXIT_USAGE

    def __init__(self, what: str, ident: str) -> None:
        super().__init__(
            f"No {what} with id {ident!r} (its session may have been removed). "
            "See the sessions with `deepresearch sessions list`."
        )
        self.ident = ident
