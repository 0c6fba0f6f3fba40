"""The typed event stream one research run produces; the CLI and the TUI both consume it."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal, TypeAlias

DeltaKind: TypeAlias = Literal["thinking", "action", "report", "answer", "text"]
Termination: TypeAlias = Literal[
    "answer",  # the model answered
    "forced_answer",  # a limit was reached and the model answered when told to
    "loop_forced_answer",  # the model repeated itself and answered when told to
    "max_llm_calls",  # stopped by the call limit without an answer
    "timeout",  # stopped by the time limit without an answer
    "context_exhausted",  # the context could not hold another step
    "no_answer",  # the model never produced a usable answer
    "cancelled",
    "error",
]


@dataclass(frozen=True)
class _Event:
    @property
    def type(self) -> str:
        name = type(self).__name__
        return "".join("_" + c.lower() if c.isupper() else c for c in name).lstrip("_")

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type, **asdict(self)}


@dataclass(frozen=True)
class RunStarted(_Event):
    session_id: str
    run_id: str
    question: str
    mode: str
    budget_tokens: int
    context_tokens: int
    max_steps: int
    resumed: bool = False
    model: str = ""
    backend: str = ""


@dataclass(frozen=True)
class StepStarted(_Event):
    step: int
    max_steps: int


@dataclass(frozen=True)
class TokenDelta(_Event):
    kind: DeltaKind
    text: str
    decode_tps: float = 0.0
    """The engine's decode speed so far in this call (0 where it does not say)."""


@dataclass(frozen=True)
class ContextUsage(_Event):
    step: int
    used_tokens: int
    budget_tokens: int
    reused_tokens: int = 0
    decode_tps: float = 0.0
    prefill_tps: float = 0.0


@dataclass(frozen=True)
class ToolCalled(_Event):
    step: int
    name: str
    arguments: dict[str, Any]


@dataclass(frozen=True)
class ToolResulted(_Event):
    step: int
    name: str
    summary: str
    text: str
    error: bool = False
    evidence_ids: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class Notice(_Event):
    """Something the loop told the model or decided (format problem, loop, budget)."""

    step: int
    message: str


@dataclass(frozen=True)
class ReportUpdated(_Event):
    step: int
    report: str


@dataclass(frozen=True)
class AnswerReady(_Event):
    answer: str


@dataclass(frozen=True)
class ReportReady(_Event):
    markdown: str
    path: str | None
    citations: int
    dropped_citations: int


@dataclass(frozen=True)
class ErrorEvent(_Event):
    message: str

    @property
    def type(self) -> str:
        return "error"


@dataclass(frozen=True)
class Cancelled(_Event):
    step: int


@dataclass(frozen=True)
class RunFinished(_Event):
    termination: Termination
    answer: str | None
    session_id: str
    run_id: str
    report_path: str | None
    steps: int
    llm_calls: int
    max_prompt_tokens: int
    elapsed_seconds: float
    prompt_tokens_total: int = 0
    reused_tokens_total: int = 0
    completion_tokens_total: int = 0

    @property
    def type(self) -> str:
        return "finished"


AgentEvent: TypeAlias = (
    RunStarted
    | StepStarted
    | TokenDelta
    | ContextUsage
    | ToolCalled
    | ToolResulted
    | Notice
    | ReportUpdated
    | AnswerReady
    | ReportReady
    | ErrorEvent
    | Cancelled
    | RunFinished
)
