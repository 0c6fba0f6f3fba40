"""The headless research front end shared by ``ask`` and ``sessions resume``."""

from __future__ import annotations

import argparse
import dataclasses
import json
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import Any

from deepresearch_local.agent.config import AgentConfig
from deepresearch_local.agent.events import (
    AgentEvent,
    AnswerReady,
    Cancelled,
    ContextUsage,
    ErrorEvent,
    Notice,
    ReportReady,
    RunFinished,
    RunStarted,
    StepStarted,
    ToolCalled,
    ToolResulted,
)
from deepresearch_local.agent.runner import Researcher
from deepresearch_local.cli.ask_cmd import EXIT_ANSWERED, EXIT_CANCELLED, EXIT_FAILED, EXIT_LIMIT
from deepresearch_local.config import load_settings
from deepresearch_local.engines.base import Engine, Sampling
from deepresearch_local.errors import ModelError
from deepresearch_local.run_policy import machine_mode

ENGINE_ARGS = ("model", "backend", "base_url", "context", "gpu_layers", "kv_type", "scripted")


def open_engine_from_args(args: argparse.Namespace) -> Engine:
    """The engine the arguments name: scripted (tests), a server, a path or a registered model."""
    if getattr(args, "scripted", None):
        from deepresearch_local.engines.scripted_file import scripted_from_file

        return scripted_from_file(Path(args.scripted))
    from deepresearch_local.engines.factory import EngineSpec, open_engine

    model = args.model
    if not args.base_url:
        model = str(resolve_model_arg(model))
    cap = getattr(args, "context_cap", None) or 32768
    spec = EngineSpec(
        model, args.backend, args.context, args.base_url, args.gpu_layers, args.kv_type or "f16"
    )
    return open_engine(dataclasses.replace(spec, context_cap=cap))


def resolve_model_arg(model: str | None) -> Path:
    """A path as given, or a registered/downloaded model (the registry lands with the models issue)."""
    if model and Path(model).expanduser().exists():
        return Path(model).expanduser()
    try:
        from deepresearch_local.weights.registry import resolve_model
    except ImportError:
        where = f"at {model}" if model else "given"
        raise ModelError(f"No model {where}. Pass --model PATH to a .gguf file or an MLX folder.") from None
    path: Path = resolve_model(model)
    return path


def config_from_args(args: argparse.Namespace, base: AgentConfig | None = None) -> AgentConfig:
    """The run's settings: the saved settings, overridden by the flags given."""
    settings = load_settings()
    config = base or AgentConfig(
        mode=machine_mode() if settings.mode == "auto" else settings.mode,  # type: ignore[arg-type]
        max_llm_calls=settings.max_steps,
        max_output_tokens=settings.max_output_tokens or None,
        seed_library_search=settings.seed_library_search,
        sampling=Sampling(
            temperature=settings.sampling.temperature,
            top_p=settings.sampling.top_p,
            presence_penalty=settings.sampling.presence_penalty,
        ),
    )
    if base is None:
        from deepresearch_local.presets import apply_preset

        config = apply_preset(config, getattr(args, "preset", None) or settings.preset)
    changes: dict[str, Any] = {}
    for arg, field in (
        ("mode", "mode"),
        ("max_steps", "max_llm_calls"),
        ("max_minutes", "max_minutes"),
        ("budget", "budget_tokens"),
        ("near_budget", "near_budget"),
        ("max_output_tokens", "max_output_tokens"),
    ):
        value = getattr(args, arg, None)
        if value is not None:
            changes[field] = value
    if getattr(args, "temperature", None) is not None:
        changes["sampling"] = dataclasses.replace(config.sampling or Sampling(), temperature=args.temperature)
    return dataclasses.replace(config, **changes)


def apply_settings(args: argparse.Namespace) -> None:
    """Fill what the flags left open from the saved settings (model, backend, server, context, offline)."""
    settings = load_settings()
    if not getattr(args, "model", None) and settings.model:
        args.model = settings.model
    if not getattr(args, "backend", None) and settings.backend != "auto":
        args.backend = settings.backend
    if not getattr(args, "base_url", None) and settings.base_url and args.backend == "openai":
        args.base_url = settings.base_url
    from deepresearch_local.presets import check_preset, context_cap

    args.preset = check_preset(getattr(args, "preset", None) or settings.preset)
    args.context_cap = context_cap(args.preset)
    if not getattr(args, "context", None) and settings.context_tokens and args.preset != "upstream":
        args.context = settings.context_tokens  # the upstream preset takes the most that fits instead
    if settings.offline and hasattr(args, "offline"):
        args.offline = True
    if settings.allow_composed_urls and hasattr(args, "allow_composed_urls"):
        args.allow_composed_urls = True
    args.allow_unisolated_python = settings.allow_unisolated_python
    args.search_region = settings.search_region


class _Interrupts:
    """First Ctrl-C cancels the run cleanly (the session keeps every step); a second one quits."""

    def __init__(self, researcher: Researcher) -> None:
        self.researcher = researcher
        self.previous: Any = None

    def __enter__(self) -> _Interrupts:
        self.previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        signal.signal(signal.SIGINT, self.previous)

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.researcher.cancel.cancelled:
            raise KeyboardInterrupt
        print("\nCancelling (Ctrl-C again to quit now)...", file=sys.stderr)
        self.researcher.cancel.cancel()


def _progress_line(event: AgentEvent, state: dict[str, Any]) -> str | None:
    if isinstance(event, RunStarted):
        what = "Resuming" if event.resumed else "Researching"
        return (
            f"{what} with {event.model} ({event.backend}), {event.mode} mode, "
            f"budget {event.budget_tokens:,} of {event.context_tokens:,} tokens. Session {event.session_id}."
        )
    if isinstance(event, StepStarted):
        state["step"] = f"step {event.step}/{event.max_steps}"
    elif isinstance(event, ContextUsage) and event.decode_tps:
        state["speed"] = (
            f"{event.decode_tps:.1f} tok/s, context {event.used_tokens:,}/{event.budget_tokens:,}"
        )
    elif isinstance(event, ToolCalled):
        args = json.dumps(event.arguments, ensure_ascii=False)
        state["call"] = f"{event.name} {args[:100]}"
    elif isinstance(event, ToolResulted):
        mark = "!" if event.error else "->"
        call = state.pop("call", event.name)
        return f"{state.get('step', '')}  {call}  {mark} {event.summary}  [{state.get('speed', '')}]"
    elif isinstance(event, Notice):
        return f"{state.get('step', '')}  note: {event.message}"
    elif isinstance(event, AnswerReady):
        return f"{state.get('step', '')}  answered [{state.get('speed', '')}]; writing the report..."
    elif isinstance(event, ErrorEvent):
        return f"error: {event.message}"
    elif isinstance(event, Cancelled):
        return "cancelled: the session keeps every completed step (deepresearch sessions resume ID)"
    return None


def consume(events: Iterator[AgentEvent], args: argparse.Namespace) -> int:
    """Print progress or JSON lines; write the report; return the exit code."""
    state: dict[str, Any] = {}
    finished: RunFinished | None = None
    report: str | None = None
    for event in events:
        if args.json:
            print(json.dumps(event.to_dict(), ensure_ascii=False), flush=True)
        else:
            line = _progress_line(event, state)
            if line:
                print(line, file=sys.stderr, flush=True)
        if isinstance(event, ReportReady):
            report = event.markdown
        if isinstance(event, RunFinished):
            finished = event
    if finished is None:
        return EXIT_FAILED
    if not args.json:
        if finished.answer and not args.output:
            print(report or finished.answer)
        elif finished.answer:
            print(f"Report written to {args.output}", file=sys.stderr)
        print(
            f"{finished.termination}: {finished.steps} steps, {finished.llm_calls} model calls, "
            f"max prompt {finished.max_prompt_tokens:,} tokens, {finished.elapsed_seconds:.0f}s. "
            f"Session {finished.session_id}.",
            file=sys.stderr,
        )
    if finished.termination == "cancelled":
        return EXIT_CANCELLED
    if finished.answer:
        return EXIT_ANSWERED
    if finished.termination in ("max_llm_calls", "timeout", "context_exhausted", "no_answer"):
        return EXIT_LIMIT
    return EXIT_FAILED


def build_researcher(
    args: argparse.Namespace, config: AgentConfig, engine: Engine | None = None
) -> Researcher:
    from deepresearch_local.agent.toolset import build_tools
    from deepresearch_local.store.sessions import SessionStore

    engine = engine or open_engine_from_args(args)
    print("Loading the model...", file=sys.stderr, flush=True) if not args.json else None
    engine.load()
    offline = bool(getattr(args, "offline", False))
    tools = build_tools(offline=offline, docs=[Path(d) for d in getattr(args, "docs", [])], args=args)
    report_path = Path(args.output).expanduser() if getattr(args, "output", None) else None
    researcher = Researcher(engine, tools, SessionStore(), config, offline=offline, report_path=report_path)
    researcher.context.allow_composed_urls = bool(getattr(args, "allow_composed_urls", False))
    researcher.context.allow_unisolated_python = bool(getattr(args, "allow_unisolated_python", False))
    researcher.meta = {
        "engine": {name: getattr(args, name, None) for name in ENGINE_ARGS},
        "docs": [str(Path(d).expanduser().resolve()) for d in getattr(args, "docs", [])],
    }
    return researcher


def decide_offline(args: argparse.Namespace) -> None:
    """``--offline``, or automatically offline when the network cannot be reached (the rule the
    terminal app applies too: ``run_policy.decide_run_offline``)."""
    from deepresearch_local.run_policy import decide_run_offline

    decision = decide_run_offline(
        requested=bool(getattr(args, "offline", False)),
        setting=False,  # apply_settings already turned the setting into args.offline
        backend=getattr(args, "backend", None),
        base_url=getattr(args, "base_url", None),
        scripted=bool(getattr(args, "scripted", None)),
    )
    if decision.offline and not args.offline and not args.json:
        print(f"Offline: {decision.reason}. Only local documents and tools are used.", file=sys.stderr)
    args.offline = decision.offline


@contextmanager
def offline_guard(researcher: Researcher, args: argparse.Namespace) -> Iterator[None]:
    """In offline runs nothing may leave the machine: refuse (and log) any non-loopback connection."""
    if not researcher.offline:
        yield
        return
    from urllib.parse import urlsplit

    from deepresearch_local.tools.network import BlockedConnection, NetworkGuard

    def log(blocked: BlockedConnection) -> None:
        if researcher.run_id:
            researcher.store.add_network(
                researcher.run_id, "blocked", blocked.target, blocked.event, False, "offline"
            )

    allow = [urlsplit(args.base_url).hostname or ""] if getattr(args, "base_url", None) else []
    with NetworkGuard(allow_hosts=[h for h in allow if h], on_block=log):
        yield


def run_question(args: argparse.Namespace) -> int:
    if not args.question.strip():
        from deepresearch_local.errors import UsageError

        raise UsageError('The question is empty: deepresearch ask "your question"')
    apply_settings(args)
    decide_offline(args)
    researcher = build_researcher(args, config_from_args(args))
    session = None
    if args.session:
        session = researcher.store.resolve_id(args.session)
    with _Interrupts(researcher), offline_guard(researcher, args):
        return consume(researcher.ask(args.question, session), args)
