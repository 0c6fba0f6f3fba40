"""Settings plus a ``RunRequest`` become a prepared run, and a prepared run becomes a ``Researcher``.

Every front end builds runs here, so the same settings give the same run whichever one asks.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from deepresearch_local.agent.config import AgentConfig
from deepresearch_local.config import Settings
from deepresearch_local.engines.base import Sampling
from deepresearch_local.errors import UsageError
from deepresearch_local.service.engine import EngineChoice, choose_engine
from deepresearch_local.service.meta import Permissions, RunMeta
from deepresearch_local.service.presets import apply_preset, check_preset
from deepresearch_local.service.request import RunRequest

if TYPE_CHECKING:
    from deepresearch_local.agent.runner import Researcher
    from deepresearch_local.agent.toolset import IndexCallback
    from deepresearch_local.engines.base import Engine
    from deepresearch_local.library import Library
    from deepresearch_local.store.sessions import SessionStore
    from deepresearch_local.tools.base import ToolRegistry
    from deepresearch_local.tools.network import NetworkStatus


@dataclass(frozen=True)
class PreparedRun:
    """Everything a run is started (or resumed) with, before anything is loaded."""

    engine: EngineChoice
    config: AgentConfig
    offline: bool
    offline_note: str | None = None
    """Why the run went offline by itself (None: asked for, or online): for the user to read."""
    docs: tuple[Path, ...] = ()
    permissions: Permissions = field(default_factory=Permissions)
    search_region: str = "auto"
    report_path: Path | None = None

    def meta(self, engine: Engine | None = None) -> dict[str, Any]:
        """What the run stores about itself (``service.meta``); ``engine``: the loaded one's names."""
        model = engine.info.model if engine else Path(self.engine.model or "").name
        backend = engine.info.backend if engine else (self.engine.backend or "")
        docs = tuple(str(d.expanduser().resolve()) for d in self.docs)
        return RunMeta(self.engine, model, backend, docs, self.permissions, self.search_region).to_dict()


def agent_config(settings: Settings, request: RunRequest | None = None) -> AgentConfig:
    """The run's agent settings: the saved settings, then the preset, then the request's overrides."""
    request = request or RunRequest()
    mode = request.mode or settings.mode
    if mode == "auto":
        from deepresearch_local.service.run_policy import machine_mode

        mode = machine_mode()
    config = AgentConfig(
        mode=mode,  # type: ignore[arg-type]
        max_llm_calls=settings.max_steps,
        max_output_tokens=settings.max_output_tokens or None,
        fold_keep_fraction=settings.fold_keep_fraction,
        seed_library_search=settings.seed_library_search,
        sampling=Sampling(
            temperature=settings.sampling.temperature,
            top_p=settings.sampling.top_p,
            presence_penalty=settings.sampling.presence_penalty,
        ),
    )
    config = apply_preset(config, check_preset(request.preset or settings.preset))
    changes: dict[str, Any] = {}
    for name, field_name in (
        ("mode", "mode"),
        ("max_steps", "max_llm_calls"),
        ("max_minutes", "max_minutes"),
        ("budget", "budget_tokens"),
        ("near_budget", "near_budget"),
        ("max_output_tokens", "max_output_tokens"),
        ("fold_keep_fraction", "fold_keep_fraction"),
    ):
        value = getattr(request, name)
        if value is not None:
            changes[field_name] = value
    if request.temperature is not None:
        changes["sampling"] = dataclasses.replace(config.sampling, temperature=request.temperature)
    return dataclasses.replace(config, **changes)


def decide_offline(
    settings: Settings,
    request: RunRequest,
    choice: EngineChoice,
    check: Callable[[], NetworkStatus] | None = None,
) -> tuple[bool, str | None]:
    """(offline, why it went offline by itself): asked for by the request or the settings, or no
    network where a check is needed (``run_policy.decide_run_offline``)."""
    from deepresearch_local.service.run_policy import decide_run_offline

    decision = decide_run_offline(
        requested=request.offline,
        setting=settings.offline,
        backend=choice.backend,
        base_url=choice.base_url,
        scripted=bool(choice.scripted),
        check=check,
    )
    by_itself = decision.offline and not (request.offline or settings.offline)
    return decision.offline, decision.reason if by_itself else None


def prepare_run(
    settings: Settings,
    request: RunRequest | None = None,
    *,
    choice: EngineChoice | None = None,
    offline: bool | None = None,
    config: AgentConfig | None = None,
) -> PreparedRun:
    """A new run from the settings and ``request``. ``choice``, ``offline`` and ``config`` replace
    what would be derived (an engine the caller already holds; tests)."""
    request = request or RunRequest()
    choice = choice or choose_engine(settings, request)
    note = None
    if offline is None:
        offline, note = decide_offline(settings, request, choice)
    return PreparedRun(
        engine=choice,
        config=config or agent_config(settings, request),
        offline=offline,
        offline_note=note,
        docs=request.docs,
        permissions=Permissions(
            allow_composed_urls=request.allow_composed_urls or settings.allow_composed_urls,
            allow_unisolated_python=request.allow_unisolated_python or settings.allow_unisolated_python,
        ),
        search_region=settings.search_region,
        report_path=request.output,
    )


def run_tools(
    run: PreparedRun, *, library: Library | None = None, on_index: IndexCallback | None = None
) -> ToolRegistry:
    """The tools ``run`` declares, its folders indexed first (into ``library``, else the user's)."""
    from deepresearch_local.agent.toolset import build_tools

    docs = [d.expanduser() for d in run.docs]
    return build_tools(run.offline, docs, search_region=run.search_region, library=library, on_index=on_index)


DATE_VARIABLE = "DEEPRESEARCH_DATE"


def prompt_date(environ: Mapping[str, str] | None = None) -> date | None:
    """The date the model is told (``Current date:`` in its system prompt): ``DEEPRESEARCH_DATE``
    (YYYY-MM-DD) when set, else None for today. Pinning it makes a greedy run repeatable from one
    day to the next: the prompt, and so a small model's choices, would otherwise change at midnight."""
    value = (os.environ if environ is None else environ).get(DATE_VARIABLE, "").strip()
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise UsageError(
            f"{DATE_VARIABLE}={value!r} is not a date: use YYYY-MM-DD, or unset it for today."
        ) from None


def make_researcher(run: PreparedRun, engine: Engine, tools: ToolRegistry, store: SessionStore) -> Researcher:
    """A ``Researcher`` for ``run`` on ``engine`` (loaded or not), with its permissions and metadata."""
    from deepresearch_local.agent.runner import Researcher

    researcher = Researcher(
        engine, tools, store, run.config, offline=run.offline, today=prompt_date(),
        report_path=run.report_path,
    )  # fmt: skip
    researcher.context.allow_composed_urls = run.permissions.allow_composed_urls
    researcher.context.allow_unisolated_python = run.permissions.allow_unisolated_python
    researcher.meta = run.meta(engine)
    return researcher
