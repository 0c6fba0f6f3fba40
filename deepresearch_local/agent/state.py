"""What one run's helpers share: a small state instead of the whole ``Researcher``.

The runner builds a :class:`RunState` when it starts driving a run; the helpers (the model turn,
tool calls, reminders, ReSum, the report pass, the seed search) read what they need from it and
commit their steps through :meth:`RunState.commit`. None of them imports the runner.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from deepresearch_local.agent import steps as S
from deepresearch_local.agent.config import AgentConfig
from deepresearch_local.agent.generation import ModelCall
from deepresearch_local.agent.prompting import Prompter
from deepresearch_local.agent.stats import RunStats
from deepresearch_local.store.sessions import SessionStore
from deepresearch_local.tools.base import ToolContext, ToolRegistry


@dataclass
class RunState:
    run_id: str
    question: str
    prompt_question: str
    """The question as the prompts show it (a follow-up carries the previous report)."""
    steps: list[S.Step]
    """The committed steps, in order: the run's whole state."""
    store: SessionStore
    tools: ToolRegistry
    context: ToolContext
    """What tool calls may use (the engine lock, the cancel token, the privacy hooks)."""
    prompter: Prompter
    call: ModelCall
    report_path: Path
    stats: RunStats
    started: float
    """``time.monotonic()`` at the start, less the time the run had taken before a resume."""

    @staticmethod
    def clock_start(steps: list[S.Step]) -> float:
        """The ``started`` of a run that has committed ``steps`` (their last ``elapsed`` counts)."""
        return time.monotonic() - S.elapsed(steps)

    def elapsed(self) -> float:
        """Run seconds so far (a resumed run counts its earlier time)."""
        return time.monotonic() - self.started

    @property
    def config(self) -> AgentConfig:
        return self.prompter.config

    @property
    def offline(self) -> bool:
        return self.prompter.offline

    @property
    def turn(self) -> int:
        """Model turns committed so far (the step number events carry)."""
        return len(S.model_steps(self.steps))

    def tool_names(self) -> list[str]:
        return self.tools.names(self.offline)

    def commit(self, kind: str, data: dict[str, Any]) -> S.Step:
        """Store the next step, then add it to ``steps`` (a killed run resumes from the store)."""
        step = S.Step(len(self.steps), kind, data)
        self.store.add_step(self.run_id, step.index, kind, data)
        self.steps.append(step)
        return step
