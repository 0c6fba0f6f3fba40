"""Research sessions for the terminal app, without any UI.

``SessionService`` builds runs the way every front end does (``service.build``: the saved
settings, the same agent settings, offline rule, permissions and metadata as ``deepresearch
ask``), resumes them as they were started (``service.reopen``), runs questions as event
streams, and answers everything the app shows about past sessions: their runs replayed as
events, the sources a report cites, reading a cited file, exporting a report. The TUI only
renders what this returns.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from deepresearch_local import atomic
from deepresearch_local.agent.config import AgentConfig
from deepresearch_local.agent.events import AgentEvent
from deepresearch_local.config import Settings, load_settings
from deepresearch_local.engines.base import CancelToken, Engine
from deepresearch_local.errors import DeepResearchError
from deepresearch_local.paths import get_paths
from deepresearch_local.service.build import (
    PreparedRun,
    agent_config,
    make_researcher,
    prepare_run,
    run_tools,
)
from deepresearch_local.service.engine import EngineChoice, choose_engine, open_engine_for
from deepresearch_local.service.guard import offline_guard
from deepresearch_local.service.reopen import reopen_run
from deepresearch_local.service.request import RunRequest
from deepresearch_local.session_replay import Source, replay_run, report_sources
from deepresearch_local.store.records import RunInfo, SessionInfo
from deepresearch_local.store.sessions import SessionStore
from deepresearch_local.tools.base import ToolRegistry

if TYPE_CHECKING:
    from deepresearch_local.agent.runner import Researcher
    from deepresearch_local.library import ReadResult

__all__ = ["SessionService", "Source", "report_sources"]

ToolsFactory = Callable[[bool], ToolRegistry]
"""Builds the tools of one run from its offline flag."""

AskUser = Callable[[str, CancelToken], bool]
"""Asks the user a yes/no question on a run's behalf (from the run's worker thread) and waits for
the answer; it answers False once the run's token is cancelled. Tools call it through
``ToolContext.confirm`` to allow what they would otherwise refuse."""

GIVEN = EngineChoice(scripted="(given)")
"""The choice recorded for an engine handed to the service (tests): never opened from it, and
like any scripted model it needs no network check."""


class SessionService:
    """One per app. Thread-safe where the app needs it: ``ask`` runs in a worker thread while the UI
    reads sessions, and ``cancel`` may come from any thread."""

    def __init__(
        self,
        *,
        engine: Engine | None = None,
        tools: ToolsFactory | None = None,
        store: SessionStore | None = None,
        config: AgentConfig | None = None,
        offline: bool | None = None,
    ) -> None:
        """``engine``, ``tools``, ``config`` and ``offline`` replace what the settings would give (tests)."""
        self._given_engine = engine
        self._engine: Engine | None = engine
        self._choice: EngineChoice | None = None
        self._tools = tools
        self._config = config
        self._offline = offline
        self.store = store or SessionStore()
        self._lock = threading.Lock()
        self._cancel = CancelToken()

    # ------------------------------------------------------------ settings and first run

    def settings(self) -> Settings:
        return load_settings()

    @staticmethod
    def needs_first_run() -> bool:
        """True before anything is set up: no settings file and no registered model."""
        if get_paths().config_file.exists():
            return False
        from deepresearch_local.weights.registry import Registry

        try:
            return not Registry().entries()
        except Exception:  # an unreadable registry is reported where models are managed
            return False

    def engine_choice(self, settings: Settings | None = None) -> EngineChoice:
        """The engine the settings name (the rule ``deepresearch ask`` follows); the model resolved."""
        return choose_engine(settings or self.settings(), RunRequest())

    def engine_label(self) -> tuple[str, str]:
        """(backend, model) to show before anything is loaded; never raises."""
        if self._given_engine is not None:
            return self._given_engine.info.backend, self._given_engine.info.model
        try:
            settings = self.settings()
            choice = self.engine_choice(settings)
        except DeepResearchError:
            return "-", "no model yet (F3: Models)"
        if self._engine is not None and choice == self._choice:  # the loaded one is still the choice
            return self._engine.info.backend, self._engine.info.model
        if choice.is_server:
            return "openai", choice.model or "the server's model"
        from deepresearch_local.engines.factory import guess_backend
        from deepresearch_local.service.engine import engine_spec

        try:
            backend = guess_backend(engine_spec(choice, plan_kv=False))
        except DeepResearchError:
            backend = settings.backend
        return backend, Path(choice.model or "").name

    def engine(self, choice: EngineChoice | None = None) -> Engine:
        """The engine ``choice`` (default: the settings) names, loaded; reused while the choice stays."""
        if self._given_engine is not None:
            self._given_engine.load()
            return self._given_engine
        choice = choice or self.engine_choice()
        with self._lock:
            if self._engine is not None and choice == self._choice:
                return self._engine
            if self._engine is not None:
                self._engine.unload()
                self._engine = None
            engine = open_engine_for(choice)
            engine.load()
            self._engine, self._choice = engine, choice
            return engine

    def agent_config(self, settings: Settings | None = None) -> AgentConfig:
        """A new run's agent settings: the same as ``deepresearch ask`` gets from these settings."""
        if self._config is not None:
            return self._config
        return agent_config(settings or self.settings())

    def offline(self, settings: Settings | None = None) -> bool:
        """Offline when set (or given), and automatically when the network cannot be reached."""
        if self._offline is not None:
            return self._offline
        from deepresearch_local.service.build import decide_offline

        settings = settings or self.settings()
        choice = self._given_choice() or choose_engine(settings, RunRequest(), resolve=False)
        return decide_offline(settings, RunRequest(), choice)[0]  # no model needs resolving to decide

    def prepare(self, settings: Settings | None = None) -> PreparedRun:
        """A new run as the settings (and what the service was given) make it."""
        settings = settings or self.settings()
        given = self._given_choice()
        return prepare_run(settings, choice=given, offline=self._offline, config=self._config)

    def _given_choice(self) -> EngineChoice | None:
        return GIVEN if self._given_engine is not None else None

    def tools(self, run: PreparedRun) -> ToolRegistry:
        if self._tools is not None:
            return self._tools(run.offline)
        return run_tools(run)

    # ------------------------------------------------------------ research

    def ask(
        self, question: str, session_id: str | None = None, *, ask_user: AskUser | None = None
    ) -> Iterator[AgentEvent]:
        """Research ``question`` (a follow-up when ``session_id`` is given). Iterate it in a worker:
        the engine loads and the model runs while it is iterated. ``ask_user``: how the run asks
        the user to allow what it would otherwise refuse (None: it refuses)."""
        cancel = self._new_run()
        return self._drive(cancel, lambda researcher: researcher.ask(question, session_id), ask_user=ask_user)

    def resume(self, run_id: str, *, ask_user: AskUser | None = None) -> Iterator[AgentEvent]:
        """Continue a run whose process died (its steps are kept) as it was started, like
        ``deepresearch sessions resume``: its mode, limits and sampling, its offline flag, its
        permissions and its engine, whatever the settings say now."""
        cancel = self._new_run()
        return self._drive(cancel, lambda researcher: researcher.resume(run_id), run_id, ask_user)

    def cancel(self) -> None:
        """Stop the run in progress at the next token (its completed steps stay in the session).
        Works from any thread, also while the engine is still loading."""
        self._cancel.cancel()

    def _new_run(self) -> CancelToken:
        self._cancel = CancelToken()
        return self._cancel

    def reopen(self, run: RunInfo) -> PreparedRun:
        """How ``run`` continues: as it was started (``service.reopen``)."""
        return reopen_run(run, self.settings(), choice=self._given_choice())

    def _drive(
        self,
        cancel: CancelToken,
        start: Callable[[Researcher], Iterator[AgentEvent]],
        resumed_run: str | None = None,
        ask_user: AskUser | None = None,
    ) -> Iterator[AgentEvent]:
        run = self.prepare() if resumed_run is None else self.reopen(self.store.run(resumed_run))
        engine = self.engine(None if run.engine == GIVEN else run.engine)
        researcher = make_researcher(run, engine, self.tools(run), self.store)
        researcher.cancel = researcher.context.cancel = cancel
        if ask_user is not None:
            asker = ask_user
            researcher.context.confirm = lambda question: asker(question, cancel)
        with offline_guard(researcher, run.engine.base_url):
            yield from start(researcher)

    # ------------------------------------------------------------ sessions

    def sessions(self, search: str | None = None) -> list[SessionInfo]:
        return self.store.list_sessions(search or None)

    def rename(self, session_id: str, title: str) -> None:
        self.store.rename_session(session_id, title.strip() or "Untitled research")

    def delete(self, session_id: str) -> None:
        self.store.delete_session(session_id)

    def latest_run(self, session_id: str) -> RunInfo | None:
        runs = self.store.runs(session_id)
        return runs[-1] if runs else None

    def last_question(self, session_id: str) -> str:
        questions = self.store.questions(session_id)
        return questions[-1].text if questions else ""

    def replay(self, run_id: str) -> list[AgentEvent]:
        """A finished (or killed) run's stored steps as the events a live run would have shown."""
        return replay_run(self.store, run_id)

    def sources(self, run_id: str, report: str) -> list[Source]:
        # A follow-up's report may cite what earlier runs of the session found.
        return report_sources(report, self.store.session_evidence(self.store.run(run_id).session_id))

    @staticmethod
    def read_source(source: Source) -> ReadResult:
        """The cited part of a library file (raises ``LibraryError`` with the reason when it cannot)."""
        from deepresearch_local.library import Library

        with Library() as library:
            return library.read(source.source, source.location or None)

    # ------------------------------------------------------------ export

    @staticmethod
    def default_export_path(session_id: str) -> Path:
        return get_paths().data_dir / "exports" / f"report-{session_id}.md"

    def export_report(self, report: str, path: Path) -> Path:
        """Write ``report`` (Markdown) to ``path`` atomically; returns the absolute path."""
        path = path.expanduser().resolve()
        return atomic.write_text(path, report if report.endswith("\n") else report + "\n")

    def session_markdown(self, session_id: str) -> str:
        """The whole session (every question, answer and report) as one Markdown document."""
        from deepresearch_local.store.export import session_markdown

        return session_markdown(self.store, session_id)

    def close(self) -> None:
        if self._engine is not None and self._given_engine is None:
            self._engine.unload()
        self.store.close()
