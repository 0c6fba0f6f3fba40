"""Past runs for display: stored steps replayed as agent events, and the sources a report cites.

The terminal app shows a past run with the same code that shows a live one, so a run's steps
are turned back into the events (``agent.events``) the live run streamed, by the same
``agent.step_events.events_of`` the loop used as it committed each step.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from deepresearch_local.agent.events import (
    AgentEvent,
    Cancelled,
    ContextUsage,
    RunFinished,
    RunStarted,
    TokenDelta,
)
from deepresearch_local.agent.step_events import events_of
from deepresearch_local.agent.step_kinds import ModelStep, ReportStep, TypedStep, step_from_dict
from deepresearch_local.store.sessions import SessionStore

_SOURCE_LINE = re.compile(r"^(\d+)\.\s+(.*\S)\s*$")


@dataclass(frozen=True)
class Source:
    """One numbered source of a report: a URL or a library file, and where in it."""

    number: int
    source: str
    location: str
    title: str
    kind: str
    """"web", "file" or "computed"."""

    @property
    def is_url(self) -> bool:
        return self.source.startswith(("http://", "https://"))

    @property
    def label(self) -> str:
        where = f", {self.location}" if self.location else ""
        return f"[{self.number}] {self.source}{where}"


def _where(item: dict[str, Any]) -> str:
    location = f", {item['location']}" if item.get("location") else ""
    return f"{item['source']}{location}"


def report_sources(report: str, evidence: Sequence[dict[str, Any]]) -> list[Source]:
    """The entries of the report's "## Sources" list, matched to the run's evidence."""
    out: list[Source] = []
    in_sources = False
    by_length = sorted(evidence, key=lambda item: -len(_where(item)))
    for line in report.splitlines():
        if line.startswith("## "):
            in_sources = line.strip() == "## Sources"
            continue
        match = _SOURCE_LINE.match(line) if in_sources else None
        if match is None:
            continue
        text = match.group(2)
        item = next((e for e in by_length if text.endswith(_where(e))), None)
        if item is None:
            continue
        out.append(
            Source(
                int(match.group(1)),
                str(item["source"]),
                str(item.get("location") or ""),
                str(item.get("title") or ""),
                str(item.get("kind") or "web"),
            )
        )
    return out


def replay_run(store: SessionStore, run_id: str) -> list[AgentEvent]:
    """The events the live run of these steps showed: each step's come from ``events_of``, as they
    did live. The live-only events (``agent.step_events``) are stood in for: a model turn's
    ``ContextUsage`` from its prompt size and its thinking as one ``TokenDelta`` block."""
    run = store.run(run_id)
    config = run.config
    max_steps = int(config.get("max_llm_calls") or 0)
    started = config.get("started") or {}  # what RunStarted showed (runs stored before: the settings)
    budget = int(started.get("budget_tokens") or config.get("budget_tokens") or 0)
    meta = config.get("meta") or {}
    engine = (
        started
        or meta.get("display")
        or {"model": Path(str((meta.get("engine") or {}).get("model") or "")).name}
    )
    events: list[AgentEvent] = [
        RunStarted(
            run.session_id,
            run_id,
            run.question,
            run.mode,
            budget,
            int(started.get("context_tokens") or 0),
            max_steps,
            model=str(engine.get("model") or ""),
            backend=str(engine.get("backend") or ""),
        )
    ]
    turn = 0
    elapsed = 0.0
    report_path: str | None = None
    records = store.steps(run_id)
    for record in records:
        step = step_from_dict(record.kind, record.data)
        if isinstance(step, ModelStep):
            turn += 1
            elapsed = max(elapsed, step.elapsed)
        if isinstance(step, ReportStep):
            report_path = step.path
        shown = events_of(step, turn=turn, max_steps=max_steps)
        rest = events_of(step, turn=turn, max_steps=max_steps, announced=True)
        events.extend(shown[: len(shown) - len(rest)])
        events.extend(_stand_ins(step, turn, budget))
        events.extend(rest)
    if run.status == "running":
        return events
    if run.termination == "cancelled":
        events.append(Cancelled(len(records)))
    stats = run.stats
    events.append(
        RunFinished(
            run.termination or run.status,  # type: ignore[arg-type]
            run.answer,
            run.session_id,
            run_id,
            report_path if run.report else None,
            turn,
            int(stats.get("llm_calls", 0)),
            int(stats.get("max_prompt_tokens", 0)),
            float(stats.get("elapsed") or elapsed),
            int(stats.get("prompt_tokens", 0)),
            int(stats.get("reused_tokens", 0)),
            int(stats.get("completion_tokens", 0)),
        )
    )
    return events


def _stand_ins(step: TypedStep, turn: int, budget: int) -> list[AgentEvent]:
    """What replay shows for a model turn's live-only events (its prompt size, its thinking)."""
    if not isinstance(step, ModelStep):
        return []
    out: list[AgentEvent] = []
    if step.prompt_tokens:
        out.append(ContextUsage(turn, step.prompt_tokens, budget))
    if step.think:
        out.append(TokenDelta("thinking", step.think))
    return out
