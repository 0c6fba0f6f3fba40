"""One frozen dataclass per kind of committed step, each with its own serialization.

The store keeps a step as its ``kind`` and a JSON object (``to_dict``); ``step_from_dict`` reads
it back. Fields added after a kind was first stored have defaults, so every row an older version
wrote still reads (no migration: the rows are not rewritten, the defaults stand in for what they
lack). ``agent.step_events.events_of`` turns a typed step into the events a run shows for it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, TypeAlias


def _str(data: Mapping[str, Any], key: str) -> str:
    value = data.get(key)
    return "" if value is None else str(value)


def _int(data: Mapping[str, Any], key: str) -> int:
    return int(data.get(key) or 0)


def _call(value: Any) -> dict[str, Any] | None:
    """A stored tool call ({name, arguments}), or None."""
    if not isinstance(value, Mapping) or "name" not in value:
        return None
    return {"name": str(value["name"]), "arguments": dict(value.get("arguments") or {})}


@dataclass(frozen=True)
class ModelStep:
    """One model turn, parsed (``text`` is the turn as the next prompts replay it)."""

    kind: ClassVar[str] = "model"
    text: str
    think: str = ""
    tool_call: dict[str, Any] | None = None
    answer: str | None = None
    report: str | None = None
    report_complete: bool = True
    """False: the report was cut off."""
    problems: list[str] = field(default_factory=list)
    extra_tool_calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    reused_tokens: int = 0
    finish: str = ""
    """Why generation stopped ("stop", "length", "repetition", ...)."""
    elapsed: float = 0.0
    """Run seconds so far."""
    forced: bool = False
    """This was the forced final call."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "think": self.think,
            "answer": self.answer,
            "report": self.report,
            "report_complete": self.report_complete,
            "tool_call": self.tool_call,
            "problems": list(self.problems),
            "extra_tool_calls": self.extra_tool_calls,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "reused_tokens": self.reused_tokens,
            "finish": self.finish,
            "elapsed": self.elapsed,
            "forced": self.forced,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ModelStep:
        return cls(
            text=_str(data, "text"),
            think=_str(data, "think"),
            tool_call=_call(data.get("tool_call")),
            answer=str(data["answer"]) if data.get("answer") is not None else None,
            report=str(data["report"]) if data.get("report") is not None else None,
            report_complete=bool(data.get("report_complete", True)),
            problems=[str(p) for p in data.get("problems") or []],
            extra_tool_calls=int(data.get("extra_tool_calls") or 0),
            prompt_tokens=_int(data, "prompt_tokens"),
            completion_tokens=_int(data, "completion_tokens"),
            reused_tokens=_int(data, "reused_tokens"),
            finish=_str(data, "finish"),
            elapsed=float(data.get("elapsed") or 0.0),
            forced=bool(data.get("forced")),
        )


@dataclass(frozen=True)
class SeedStep:
    """The run's opening library search, written like a model turn (no model call)."""

    kind: ClassVar[str] = "seed"
    text: str
    think: str
    tool_call: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {"text": self.text, "think": self.think, "tool_call": self.tool_call}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SeedStep:
        call = _call(data.get("tool_call")) or {"name": "local_search", "arguments": {}}
        return cls(_str(data, "text"), _str(data, "think"), call)


@dataclass(frozen=True)
class ToolStep:
    """A tool's result. ``observation`` ends with ``notes`` (what the loop told the model)."""

    kind: ClassVar[str] = "tool"
    name: str
    arguments: dict[str, Any]
    observation: str
    summary: str = ""
    error: bool = False
    key: str = ""
    """The call's identity (name and arguments), for spotting repeats."""
    notes: str = ""
    loop_notice: bool = False
    evidence_ids: list[int] = field(default_factory=list)
    links: list[str] = field(default_factory=list)
    """URLs met outside the observation (``ToolResult.links``): rebuilt into the run's web links on resume."""

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "name": self.name,
            "arguments": self.arguments,
            "key": self.key,
            "error": self.error,
            "summary": self.summary,
            "observation": self.observation,
            "notes": self.notes,
            "evidence_ids": list(self.evidence_ids),
        }
        if self.loop_notice:
            data["loop_notice"] = True
        if self.links:
            data["links"] = list(self.links)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ToolStep:
        return cls(
            name=str(data.get("name") or "?"),
            arguments=dict(data.get("arguments") or {}),
            observation=_str(data, "observation"),
            summary=_str(data, "summary"),
            error=bool(data.get("error")),
            key=_str(data, "key"),
            notes=_str(data, "notes"),
            loop_notice=bool(data.get("loop_notice")),
            evidence_ids=[int(i) for i in data.get("evidence_ids") or []],
            links=[str(u) for u in data.get("links") or []],
        )


_PROBLEMS = re.compile(r"could not be used: (.*?)\. (?:Reply|Your report)", re.DOTALL)


@dataclass(frozen=True)
class NoticeStep:
    """Said to the model: a format reminder (``reason`` "format") or, in fold mode, a request for
    the report a turn left out ("report")."""

    kind: ClassVar[str] = "notice"
    text: str
    reason: str = "format"
    problems: str = ""
    """What was wrong with the reply, as the user was told."""

    def to_dict(self) -> dict[str, Any]:
        return {"text": self.text, "reason": self.reason, "problems": self.problems}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> NoticeStep:
        text = _str(data, "text")
        problems = _str(data, "problems")
        if not problems:  # rows written before it was stored: the reminder names the problems
            match = _PROBLEMS.search(text)
            problems = match.group(1) if match else ""
        return cls(text, _str(data, "reason") or "format", problems)


FORCED_MESSAGES = {
    "max_llm_calls": "Limit reached (the maximum number of model calls): asking for a final answer.",
    "timeout": "Limit reached (the time limit): asking for a final answer.",
    "context": "Context nearly full: asking for a final answer.",
    "loop": "The model keeps repeating itself: asking for a final answer.",
    "unusable": "Too many unusable replies in a row: asking for a final answer.",
}
"""What rows stored without a ``message`` show (the live run may have said it in more detail)."""


@dataclass(frozen=True)
class ForcedStep:
    """The loop asks for a final answer (``text``, said to the model) because of ``reason``:
    "max_llm_calls", "timeout", "loop", "context" or "unusable"."""

    kind: ClassVar[str] = "forced"
    reason: str
    text: str
    message: str = ""
    """What the user was told."""

    def to_dict(self) -> dict[str, Any]:
        return {"reason": self.reason, "text": self.text, "message": self.message}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ForcedStep:
        reason = _str(data, "reason") or "max_llm_calls"
        message = _str(data, "message") or FORCED_MESSAGES.get(
            reason, f"Limit reached ({reason}): asking for a final answer."
        )
        return cls(reason, _str(data, "text"), message)


@dataclass(frozen=True)
class SummaryStep:
    """A ReSum attempt: the history restarts from ``summary`` when ``valid``; ``problem`` says why
    an invalid one was refused. ``used``/``budget``: the prompt that no longer fit, and the budget."""

    kind: ClassVar[str] = "summary"
    summary: str
    valid: bool = True
    problem: str | None = None
    text: str = ""
    tools: bool = True
    """The request showed the tools."""
    prompt_tokens: int = 0
    completion_tokens: int = 0
    reused_tokens: int = 0
    used: int = 0
    budget: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "summary": self.summary,
            "valid": self.valid,
            "problem": self.problem,
            "text": self.text,
            "tools": self.tools,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "reused_tokens": self.reused_tokens,
            "used": self.used,
            "budget": self.budget,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SummaryStep:
        problem = data.get("problem")
        return cls(
            summary=_str(data, "summary"),
            valid=bool(data.get("valid", True)),
            problem=None if problem is None else str(problem),
            text=_str(data, "text"),
            tools=bool(data.get("tools", True)),
            prompt_tokens=_int(data, "prompt_tokens"),
            completion_tokens=_int(data, "completion_tokens"),
            reused_tokens=_int(data, "reused_tokens"),
            used=_int(data, "used"),
            budget=_int(data, "budget"),
        )


@dataclass(frozen=True)
class ReportStep:
    """The finished report. The token counts are set when the model wrote its findings (None: the
    report lists the evidence alone); ``notice``: what the user was told about the report pass."""

    kind: ClassVar[str] = "report"
    markdown: str
    path: str | None = None
    citations: int = 0
    dropped: int = 0
    flagged: int = 0
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    reused_tokens: int | None = None
    notice: str = ""

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "markdown": self.markdown,
            "citations": self.citations,
            "dropped": self.dropped,
            "flagged": self.flagged,
            "path": self.path,
        }
        if self.prompt_tokens is not None:  # RunStats counts a report only when the model wrote it
            data["prompt_tokens"] = self.prompt_tokens
            data["reused_tokens"] = self.reused_tokens or 0
            data["completion_tokens"] = self.completion_tokens or 0
        if self.notice:
            data["notice"] = self.notice
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ReportStep:
        wrote = "prompt_tokens" in data
        return cls(
            markdown=_str(data, "markdown"),
            path=str(data["path"]) if data.get("path") else None,
            citations=_int(data, "citations"),
            dropped=_int(data, "dropped"),
            flagged=_int(data, "flagged"),
            prompt_tokens=_int(data, "prompt_tokens") if wrote else None,
            completion_tokens=_int(data, "completion_tokens") if wrote else None,
            reused_tokens=_int(data, "reused_tokens") if wrote else None,
            notice=_str(data, "notice"),
        )


@dataclass(frozen=True)
class UnknownStep:
    """A row of a kind this version does not know (written by a newer one): kept, shown as nothing."""

    kind_name: str
    data: dict[str, Any]

    @property
    def kind(self) -> str:
        return self.kind_name

    def to_dict(self) -> dict[str, Any]:
        return dict(self.data)


TypedStep: TypeAlias = (
    ModelStep | SeedStep | ToolStep | NoticeStep | ForcedStep | SummaryStep | ReportStep | UnknownStep
)
KINDS: dict[str, Any] = {
    cls.kind: cls for cls in (ModelStep, SeedStep, ToolStep, NoticeStep, ForcedStep, SummaryStep, ReportStep)
}


def step_from_dict(kind: str, data: Mapping[str, Any]) -> TypedStep:
    """The typed step of a stored row (``kind`` and its JSON data), old rows included."""
    cls = KINDS.get(kind)
    if cls is None:
        return UnknownStep(kind, dict(data))
    step: TypedStep = cls.from_dict(data)
    return step
