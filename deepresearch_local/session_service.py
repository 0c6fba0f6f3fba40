"""Research sessions for the terminal app, without any UI.

``SessionService`` builds the engine, the tools and a ``Researcher`` from the saved settings
(``config.load_settings``), runs questions as event streams, and answers everything the app
shows about past sessions: their runs replayed as events, the sources a report cites, reading
a cited file, exporting a report. The TUI only renders what this returns.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from deepresearch_local.agent.config import AgentConfig
from deepresearch_local.agent.events import AgentEvent
from deepresearch_local.config import Settings, load_settings
from deepresearch_local.engines.base import CancelToken, Engine, Sampling
from deepresearch_local.errors import DeepResearchError
from deepresearch_local.paths import get_paths
from deepresearch_local.session_replay import Source, replay_run, report_sources
from deepresearch_local.store.records import RunInfo, SessionInfo
from deepresearch_local.store.sessions import SessionStore
from deepresearch_local.tools.base import ToolRegistry

if TYPE_CHECKING:
    from deepresearch_local.agent.runner import Researcher
    from deepresearch_local.library import ReadResult

__all__ = ["EngineChoice", "SessionService", "Source", "report_sources"]

ToolsFactory = Callable[[bool], ToolRegistry]
"""Builds the tools of one run from its offline flag."""

AskUser = Callable[[str, CancelToken], bool]
"""Asks the user a yes/no question on a run's behalf (from the run's worker thread) and waits for
the answer; it answers False once the run's token is cancelled. Tools call it through
``ToolContext.confirm`` to allow what they would otherwise refuse."""


@dataclass(frozen=True)
class EngineChoice:
    """What the settings ask the engine to be (compared to reuse a loaded engine)."""

    backend: str | None
    model: str | None
    context_tokens: int | None
    base_url: str | None


def saved_engine_choice(saved: dict[str, object]) -> EngineChoice | None:
    """The engine a run stored in its metadata (by the app or by ``deepresearch ask``), or None
    when it stored none this app can open (then the settings decide). The app opens engines by
    model, backend, server and context: a ``--gpu-layers`` or ``--kv-type`` given to ``ask`` is
    not carried over (``deepresearch sessions resume`` does carry them)."""
    model = str(saved["model"]) if saved.get("model") else None
    base_url = str(saved["base_url"]) if saved.get("base_url") else None
    backend = str(saved["backend"]) if saved.get("backend") else None
    context = saved.get("context")
    context_tokens = int(context) if isinstance(context, int) and context > 0 else None
    if saved.get("scripted") or not (model or base_url):
        return None
    from deepresearch_local.run_policy import uses_server

    if uses_server(backend, base_url):
        return EngineChoice("openai", model, context_tokens, base_url)
    from deepresearch_local.weights.registry import resolve_model

    return EngineChoice(backend, str(resolve_model(model)), context_tokens, None)


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
        """The engine the settings name; the model is resolved (registry, default, path)."""
        settings = settings or self.settings()
        context = settings.context_tokens or None
        if settings.backend == "openai":
            return EngineChoice("openai", settings.model or None, context, settings.base_url or None)
        from deepresearch_local.weights.registry import resolve_model

        path = resolve_model(settings.model or None)
        backend = None if settings.backend == "auto" else settings.backend
        return EngineChoice(backend, str(path), context, None)

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
        if choice.backend == "openai":
            return "openai", choice.model or "the server's model"
        from deepresearch_local.engines.factory import EngineSpec, guess_backend

        try:
            backend = guess_backend(EngineSpec(choice.model, choice.backend))
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
            from deepresearch_local.engines.factory import EngineSpec, open_engine

            engine = open_engine(
                EngineSpec(choice.model, choice.backend, choice.context_tokens, choice.base_url)
            )
            engine.load()
            self._engine, self._choice = engine, choice
            return engine

    def agent_config(self, settings: Settings | None = None) -> AgentConfig:
        if self._config is not None:
            return self._config
        settings = settings or self.settings()
        if settings.mode == "auto":
            from deepresearch_local.run_policy import machine_mode

            mode = machine_mode()
        else:
            mode = settings.mode
        sampling = Sampling(
            temperature=settings.sampling.temperature,
            top_p=settings.sampling.top_p,
            presence_penalty=settings.sampling.presence_penalty,
        )
        return AgentConfig(mode=mode, max_llm_calls=settings.max_steps, sampling=sampling)  # type: ignore[arg-type]

    def offline(self, settings: Settings | None = None) -> bool:
        """Offline when set (or given), and automatically when the network cannot be reached."""
        if self._offline is not None:
            return self._offline
        settings = settings or self.settings()
        from deepresearch_local.run_policy import decide_run_offline

        # Like ``deepresearch ask``: the saved server URL counts only with the openai backend.
        base_url = settings.base_url if settings.backend == "openai" else None
        decision = decide_run_offline(
            requested=False, setting=settings.offline, backend=settings.backend, base_url=base_url or None
        )
        return decision.offline

    def tools(self, offline: bool, settings: Settings | None = None) -> ToolRegistry:
        if self._tools is not None:
            return self._tools(offline)
        import argparse

        from deepresearch_local.agent.toolset import build_tools

        settings = settings or self.settings()
        args = argparse.Namespace(search_region=settings.search_region, json=True)
        return build_tools(offline=offline, args=args)

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
        ``deepresearch sessions resume``: its mode, limits and sampling, its offline flag and its
        engine, whatever the settings say now."""
        cancel = self._new_run()
        return self._drive(cancel, lambda researcher: researcher.resume(run_id), run_id, ask_user)

    def cancel(self) -> None:
        """Stop the run in progress at the next token (its completed steps stay in the session).
        Works from any thread, also while the engine is still loading."""
        self._cancel.cancel()

    def _new_run(self) -> CancelToken:
        self._cancel = CancelToken()
        return self._cancel

    def _drive(
        self,
        cancel: CancelToken,
        start: Callable[[Researcher], Iterator[AgentEvent]],
        resumed_run: str | None = None,
        ask_user: AskUser | None = None,
    ) -> Iterator[AgentEvent]:
        if resumed_run is None:
            researcher = self._researcher_for_run(cancel)
        else:
            researcher = self._researcher_for_resume(cancel, resumed_run)
        if ask_user is not None:
            asker = ask_user
            researcher.context.confirm = lambda question: asker(question, cancel)
        with self._guard(researcher):
            yield from start(researcher)

    def _researcher_for_run(self, cancel: CancelToken) -> Researcher:
        from deepresearch_local.agent.runner import Researcher

        settings = self.settings()
        engine = self.engine()
        offline = self.offline(settings)
        config = self.agent_config(settings)
        researcher = Researcher(engine, self.tools(offline, settings), self.store, config, offline=offline)
        researcher.cancel = researcher.context.cancel = cancel
        researcher.context.allow_composed_urls = settings.allow_composed_urls
        researcher.context.allow_unisolated_python = settings.allow_unisolated_python
        researcher.meta = self._run_meta(engine)
        return researcher

    def _researcher_for_resume(self, cancel: CancelToken, run_id: str) -> Researcher:
        """A researcher set up from what the run stored when it started (``run.config``)."""
        from deepresearch_local.agent.runner import Researcher

        stored = self.store.run(run_id).config
        meta = dict(stored.get("meta") or {})
        engine = self.engine(saved_engine_choice(meta.get("engine") or {}))
        offline = bool(stored.get("offline"))
        config = AgentConfig.from_dict(stored)
        researcher = Researcher(engine, self.tools(offline), self.store, config, offline=offline)
        researcher.cancel = researcher.context.cancel = cancel
        researcher.meta = meta or self._run_meta(engine)
        return researcher

    def _run_meta(self, engine: Engine) -> dict[str, object]:
        """Stored with the run: how ``deepresearch sessions resume`` reopens the engine, and its names."""
        choice = self._choice if self._given_engine is None else EngineChoice(None, None, None, None)
        assert choice is not None
        saved: dict[str, object] = dict(model=choice.model, backend=choice.backend, base_url=choice.base_url)
        saved.update(context=choice.context_tokens, gpu_layers=None, kv_type=None, scripted=None)
        shown = {"model": engine.info.model, "backend": engine.info.backend}
        return {"engine": saved, "display": shown, "docs": []}

    def _guard(self, researcher: Researcher) -> AbstractContextManager[object]:
        """Offline runs may not reach anything but loopback (and the configured server)."""
        if not researcher.offline:
            return nullcontext()
        from urllib.parse import urlsplit

        from deepresearch_local.tools.network import BlockedConnection, NetworkGuard

        def log(blocked: BlockedConnection) -> None:
            if researcher.run_id:
                self.store.add_network(
                    researcher.run_id, "blocked", blocked.target, blocked.event, False, "offline"
                )

        base_url = (self._choice.base_url if self._choice else None) or self.settings().base_url
        allow = [urlsplit(base_url).hostname or ""] if base_url else []
        return NetworkGuard(allow_hosts=[h for h in allow if h], on_block=log)

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
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(report if report.endswith("\n") else report + "\n", "utf-8")
        tmp.replace(path)
        return path

    def session_markdown(self, session_id: str) -> str:
        """The whole session (every question, answer and report) as one Markdown document."""
        from deepresearch_local.store.export import session_markdown

        return session_markdown(self.store, session_id)

    def close(self) -> None:
        if self._engine is not None and self._given_engine is None:
            self._engine.unload()
        self.store.close()
