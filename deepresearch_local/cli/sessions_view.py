"""Plain-text views of sessions for ``deepresearch sessions list|show`` (JSON views are the records)."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import datetime
from typing import Any

from deepresearch_local.cli.output import table
from deepresearch_local.store import QuestionInfo, RunInfo, SessionInfo, StepRecord


def local_time(stamp: str | None) -> str:
    """A stored UTC timestamp as local ``YYYY-MM-DD HH:MM``."""
    if not stamp:
        return "-"
    try:
        return datetime.fromisoformat(stamp).astimezone().strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return stamp


def one_line(text: str, limit: int = 100) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def step_summary(kind: str, data: dict[str, Any]) -> str:
    """A short description of a step: its ``summary``, its tool call, or the start of its text."""
    summary = data.get("summary")
    if isinstance(summary, str) and summary.strip():
        return one_line(summary)
    tool = data.get("tool") or data.get("name")
    if isinstance(tool, str) and tool:
        arguments = data.get("arguments", data.get("args"))
        shown = "" if arguments in (None, {}, "") else " " + json.dumps(arguments, ensure_ascii=False)
        return one_line(tool + shown)
    for key in ("text", "content", "output", "answer", "report", "error"):
        value = data.get(key)
        if isinstance(value, str) and value.strip():
            return one_line(value)
    return one_line(json.dumps(data, ensure_ascii=False)) if data else kind


def sessions_table(sessions: list[SessionInfo]) -> str:
    rows = [
        (s.id, local_time(s.updated_at), str(s.questions), s.last_termination or "-", one_line(s.title, 60))
        for s in sessions
    ]
    return table(rows, header=("id", "updated", "questions", "last run", "title"))


def step_json(step: StepRecord) -> dict[str, Any]:
    return {
        "index": step.index,
        "kind": step.kind,
        "summary": step_summary(step.kind, step.data),
        "created_at": step.created_at,
        "data": step.data,
    }


def show_json(
    info: SessionInfo,
    questions: list[QuestionInfo],
    runs: list[RunInfo],
    steps: dict[str, list[StepRecord]] | None,
    network: list[dict[str, Any]] | None,
) -> dict[str, Any]:
    out: dict[str, Any] = {"session": asdict(info), "questions": []}
    for question in questions:
        entries = []
        for run in runs:
            if run.question_id != question.id:
                continue
            entry = asdict(run)
            if steps is not None:
                entry["steps"] = [step_json(s) for s in steps.get(run.id, [])]
            entries.append(entry)
        out["questions"].append({**asdict(question), "runs": entries})
    if network is not None:
        out["network"] = network
    return out


def show_text(
    info: SessionInfo,
    questions: list[QuestionInfo],
    runs: list[RunInfo],
    steps: dict[str, list[StepRecord]] | None,
    network: list[dict[str, Any]] | None,
) -> str:
    lines = [
        f"Session {info.id}: {info.title}",
        f"Started {local_time(info.created_at)}, updated {local_time(info.updated_at)}, "
        f"{info.questions} question{'s' if info.questions != 1 else ''}",
    ]
    for number, question in enumerate(questions, 1):
        lines += ["", f"Question {number}: {one_line(question.text, 300)}"]
        mine = [r for r in runs if r.question_id == question.id]
        if not mine:
            lines.append("  (not researched yet)")
        for run in mine:
            ended = f"{run.status}, {run.termination}" if run.termination else run.status
            lines.append(f"  run {run.id}  {run.mode}  {ended}  started {local_time(run.started_at)}")
            if run.answer:
                lines.append(f"  Answer: {one_line(run.answer, 300)}")
            elif run.status == "running":
                lines.append(
                    f"  Not finished (interrupted?): resume with `deepresearch sessions resume {info.id}`"
                )
            if steps is not None:
                rows = [(str(s.index), s.kind, step_summary(s.kind, s.data)) for s in steps.get(run.id, [])]
                lines += ["    " + row for row in table(rows).splitlines()] if rows else ["    (no steps)"]
    if network is not None:
        lines += ["", f"Network: {len(network)} request{'s' if len(network) != 1 else ''} left this machine"]
        events = [
            (
                local_time(e["created_at"]),
                str(e["kind"]),
                str(e["tool"]),
                "ok" if e["ok"] else "failed",
                str(e["target"]),
            )
            for e in network
        ]
        if events:
            lines += [
                "  " + row
                for row in table(events, header=("when", "kind", "tool", "result", "target")).splitlines()
            ]
    return "\n".join(lines)
