"""Past runs for display: stored steps replayed as agent events, and the sources a report cites.

The terminal app shows a past run with the same code that shows a live one, so a run's steps
are turned back into the events (``agent.events``) the live run streamed.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from deepresearch_local.agent.events import (
    AgentEvent,
    AnswerReady,
    ContextUsage,
    Notice,
    ReportReady,
    ReportUpdated,
    RunFinished,
    RunStarted,
    StepStarted,
    TokenDelta,
    ToolCalled,
    ToolResulted,
)
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


def _first_line(text: str, limit: int = 160) -> str:
    for line in text.splitlines():
        if line.strip():
            line = line.strip()
            return line if len(line) <= limit else line[: limit - 1] + "…"
    return ""


def replay_run(store: SessionStore, run_id: str) -> list[AgentEvent]:
    """The events a live run of these steps would have streamed (token deltas as whole blocks)."""
    run = store.run(run_id)
    config = run.config
    max_steps = int(config.get("max_llm_calls") or 0)
    budget = int(config.get("budget_tokens") or 0)
    meta = config.get("meta") or {}
    engine = meta.get("display") or {"model": Path(str((meta.get("engine") or {}).get("model") or "")).name}
    events: list[AgentEvent] = [
        RunStarted(
            run.session_id,
            run_id,
            run.question,
            run.mode,
            budget,
            0,
            max_steps,
            model=str(engine.get("model") or ""),
            backend=str(engine.get("backend") or ""),
        )
    ]
    step = 0
    elapsed = 0.0
    for record in store.steps(run_id):
        data = record.data
        if record.kind == "model":
            step += 1
            elapsed = max(elapsed, float(data.get("elapsed") or 0.0))
            events.append(StepStarted(step, max_steps))
            if data.get("prompt_tokens"):
                events.append(ContextUsage(step, int(data["prompt_tokens"]), budget))
            if data.get("think"):
                events.append(TokenDelta("thinking", str(data["think"])))
            if data.get("report"):
                events.append(ReportUpdated(step, str(data["report"])))
            if data.get("answer"):
                events.append(AnswerReady(str(data["answer"])))
        elif record.kind == "tool":
            name = str(data.get("name", "?"))
            events.append(ToolCalled(step, name, dict(data.get("arguments") or {})))
            events.append(
                ToolResulted(
                    step,
                    name,
                    str(data.get("summary") or ""),
                    str(data.get("observation") or ""),
                    bool(data.get("error")),
                    [int(i) for i in data.get("evidence_ids") or []],
                )
            )
        elif record.kind == "notice":
            events.append(Notice(step, "Unusable reply: " + _first_line(str(data.get("text", "")))))
        elif record.kind == "forced":
            events.append(
                Notice(step, f"Limit reached ({data.get('reason', '?')}): asked for a final answer.")
            )
        elif record.kind == "summary" and not data.get("valid", True):
            events.append(Notice(step, f"The summary could not be used: {data.get('problem', '?')}."))
        elif record.kind == "summary":
            events.append(Notice(step, "Context nearly full: summarized and restarted."))
        elif record.kind == "report":
            events.append(
                ReportReady(
                    str(data.get("markdown", "")),
                    data.get("path"),
                    int(data.get("citations", 0)),
                    int(data.get("dropped", 0)),
                )
            )
    if run.status != "running":
        stats = run.stats
        events.append(
            RunFinished(
                run.termination or run.status,  # type: ignore[arg-type]
                run.answer,
                run.session_id,
                run_id,
                None,
                step,
                int(stats.get("llm_calls", 0)),
                int(stats.get("max_prompt_tokens", 0)),
                elapsed,
                int(stats.get("prompt_tokens", 0)),
                int(stats.get("reused_tokens", 0)),
                int(stats.get("completion_tokens", 0)),
            )
        )
    return events
