"""The prompts of a run: the system message, each turn's messages, and the sizes they must fit."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from typing import Any

from deepresearch_local.agent import fold, prompts, react
from deepresearch_local.agent import steps as S
from deepresearch_local.agent.budget import TurnSizes, turn_sizes
from deepresearch_local.agent.config import AgentConfig
from deepresearch_local.engines.base import Engine
from deepresearch_local.tools.base import ToolRegistry


@dataclass(frozen=True)
class Prompter:
    """Builds a run's prompts for one engine, one configuration and one set of tools."""

    engine: Engine
    config: AgentConfig
    tools: ToolRegistry
    offline: bool
    today: date

    @property
    def sizes(self) -> TurnSizes:
        return turn_sizes(self.engine.context_size(), self.config)

    @property
    def budget(self) -> int:
        """The configured budget, never more than the engine's real context minus the output limit."""
        return self.sizes.budget

    @property
    def max_output(self) -> int:
        """Tokens one turn may generate (``agent.budget`` sizes it with the budget)."""
        return self.sizes.max_output

    def schemas(self) -> list[dict[str, Any]]:
        """The tools this run may call (the offline ones only, offline)."""
        return self.tools.schemas(offline=self.offline)

    def system_message(self, tools: bool = True) -> str:
        """Upstream's system message: the role, the tools block, then ``Current date: YYYY-MM-DD`` last.

        The tools are written into the message (as upstream does) rather than passed to the chat
        template, so the date comes after them for every engine, a server's included."""
        text = prompts.load("role")
        if self.config.mode == "fold":
            text += "\n\n" + prompts.load("fold")
        schemas = self.schemas() if tools else []
        if schemas:
            lines = "\n".join(json.dumps(s, ensure_ascii=False) for s in schemas)
            text += "\n\n" + prompts.render("tools", tools=lines)
        return f"{text}\n\nCurrent date: {self.today.isoformat()}"

    def render(self, messages: list[dict[str, Any]]) -> str:
        """A prompt as the engine sees it (the tools are inside the system message already)."""
        return self.engine.render(messages, enable_thinking=self.config.enable_thinking)

    def observation(self, share: float) -> react.Observation:
        """React mode shows each observation within ``share`` of the budget (the store keeps it whole)."""
        limit = int(self.budget * share)
        return lambda step: fold.capped_observation(step, limit, self.engine.count_tokens)

    def messages(
        self, question: str, steps: list[S.Step], share: float | None = None
    ) -> list[dict[str, Any]]:
        system = self.system_message()
        share = self.config.observation_share if share is None else share
        if self.config.mode == "react":
            return react.messages(system, question, steps, self.observation(share))
        overhead = self.engine.count_tokens(self.render([{"role": "system", "content": system}]))
        sizes = self.sizes
        return fold.messages(
            system,
            question,
            steps,
            budget=sizes.budget,
            max_rounds=self.config.max_llm_calls,
            observation_share=share,
            report_cap=sizes.report_cap,
            count=self.engine.count_tokens,
            fixed_overhead=overhead,
            keep_fraction=self.config.fold_keep_fraction,
        )

    def fitted(self, question: str, steps: list[S.Step], limit: int) -> str:
        """The prompt, with the observations shown smaller (as ReSum's request does) until it fits
        ``limit`` tokens or they are down to a note each."""
        share = self.config.observation_share
        while True:
            prompt = self.render(self.messages(question, steps, share))
            if self.engine.count_tokens(prompt) <= limit or share < 0.01:
                return prompt
            share /= 2
