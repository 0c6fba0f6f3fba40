"""The headless research front end shared by ``ask`` and ``sessions resume``: arguments in
(``request_from_args``), progress lines out (``consume``), exit codes. Runs are built by
``deepresearch_local.service``, as in the terminal app."""

from __future__ import annotations

import argparse
import json
import signal
import sys
from collections.abc import Iterator
from pathlib import Path
from types import FrameType
from typing import Any

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
from deepresearch_local.agent.toolset import IndexNote
from deepresearch_local.config import load_settings
from deepresearch_local.errors import EXIT_ANSWERED, EXIT_CANCELLED, EXIT_FAILED, EXIT_LIMIT
from deepresearch_local.service.build import PreparedRun, make_researcher, prepare_run, run_tools
from deepresearch_local.service.engine import open_engine_for
from deepresearch_local.service.guard import offline_guard
from deepresearch_local.service.request import RunRequest
from deepresearch_local.store.sessions import SessionStore

_FIELDS = (
    "model", "backend", "base_url", "context", "gpu_layers", "cpu_moe_layers", "kv_type", "scripted", "mode",
    "constrain_tool_calls",
    "max_steps",
    "max_minutes", "budget", "near_budget", "max_output_tokens", "fold_keep_fraction", "temperature",
    "preset",
)  # fmt: skip


def request_from_args(args: argparse.Namespace) -> RunRequest:
    """The run the flags ask for (flags a command does not have are left to the settings)."""
    values: dict[str, Any] = {name: getattr(args, name, None) for name in _FIELDS}
    output = getattr(args, "output", None)
    return RunRequest(
        **values,
        offline=bool(getattr(args, "offline", False)),
        docs=tuple(Path(d) for d in getattr(args, "docs", None) or []),
        output=Path(output).expanduser() if output else None,
        allow_composed_urls=bool(getattr(args, "allow_composed_urls", False)),
    )


class Interrupts:
    """First Ctrl-C cancels the run cleanly (the session keeps every step); a second one quits."""

    def __init__(self, researcher: Researcher) -> None:
        self.researcher = researcher
        self.previous: Any = None

    def __enter__(self) -> Interrupts:
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


def consume(events: Iterator[AgentEvent], *, json_lines: bool, output: str | None) -> int:
    """Print progress (or, ``json_lines``, every event as JSON); say where the report went
    (``output``, else stdout); return the exit code."""
    state: dict[str, Any] = {}
    finished: RunFinished | None = None
    report: str | None = None
    for event in events:
        if json_lines:
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
    if not json_lines:
        if finished.answer and not output:
            print(report or finished.answer)
        elif finished.answer:
            print(f"Report written to {output}", file=sys.stderr)
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


def show_indexing(note: IndexNote) -> None:
    if note.finished:
        print(
            f"\r  {note.folder}: {note.indexed} indexed, {note.skipped} skipped, "
            f"{note.failed} failed{' ' * 30}",
            file=sys.stderr,
        )
    else:
        print(f"\r  indexing [{note.done}/{note.total}] {note.current[:60]:<60}", end="", file=sys.stderr)


def start_run(run: PreparedRun, quiet: bool) -> Researcher:
    """Open and load the run's engine, index its folders, and build its researcher (with progress
    on stderr unless ``quiet``)."""
    if run.offline_note and not quiet:
        print(f"Offline: {run.offline_note}. Only local documents and tools are used.", file=sys.stderr)
    engine = open_engine_for(run.engine)
    if not quiet:
        print("Loading the model...", file=sys.stderr, flush=True)
    engine.load()
    tools = run_tools(run, on_index=None if quiet else show_indexing)
    return make_researcher(run, engine, tools, SessionStore())


def run_question(args: argparse.Namespace) -> int:
    if not args.question.strip():
        from deepresearch_local.errors import UsageError

        raise UsageError('The question is empty: deepresearch ask "your question"')
    run = prepare_run(load_settings(), request_from_args(args))
    researcher = start_run(run, quiet=args.json)
    session = researcher.store.resolve_id(args.session) if args.session else None
    with Interrupts(researcher), offline_guard(researcher, run.engine.base_url):
        return consume(researcher.ask(args.question, session), json_lines=args.json, output=args.output)
