"""Token and call counts of one run, the same whether it ran live or was rebuilt from its steps."""

from __future__ import annotations

from typing import TYPE_CHECKING

from deepresearch_local.agent import steps as S

if TYPE_CHECKING:
    from deepresearch_local.agent.generation import Generated


class RunStats:
    def __init__(self) -> None:
        self.llm_calls = 0
        self.max_prompt_tokens = 0
        self.prompt_tokens = 0
        self.reused_tokens = 0
        self.completion_tokens = 0

    @classmethod
    def from_steps(cls, steps: list[S.Step]) -> RunStats:
        """The same numbers a live run counted (a report step counts when the model wrote it)."""
        stats = cls()
        for step in steps:
            if step.kind in ("model", "summary") or (step.kind == "report" and "prompt_tokens" in step.data):
                stats.count(
                    int(step.data.get("prompt_tokens", 0)),
                    int(step.data.get("reused_tokens", 0)),
                    int(step.data.get("completion_tokens", 0)),
                )
        return stats

    def count(self, prompt_tokens: int, reused_tokens: int, completion_tokens: int) -> None:
        self.llm_calls += 1
        self.max_prompt_tokens = max(self.max_prompt_tokens, prompt_tokens)
        self.prompt_tokens += prompt_tokens
        self.reused_tokens += reused_tokens
        self.completion_tokens += completion_tokens

    def add(self, result: Generated, prompt_tokens: int) -> None:
        self.count(prompt_tokens, result.reused_tokens, result.completion_tokens)

    def to_dict(self) -> dict[str, int]:
        return dict(vars(self))
