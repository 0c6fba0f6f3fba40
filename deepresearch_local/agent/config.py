"""Settings of one research run. Defaults follow upstream Tongyi where a laptop allows."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any, Literal

from deepresearch_local.engines.base import Sampling


@dataclass(frozen=True)
class AgentConfig:
    mode: Literal["react", "fold"] = "fold"
    """``fold``: rounds that carry only a report (flat context). ``react``: upstream's full history."""
    max_llm_calls: int = 40
    """Model calls per run (upstream: 100)."""
    max_minutes: float = 60.0
    """Wall-clock limit per run (upstream: 150)."""
    budget_tokens: int | None = None
    """Prompt-token budget; None: the engine's allocated context minus ``max_output_tokens``."""
    max_output_tokens: int | None = None
    """Tokens one model turn may generate, reserved out of the context. None: sized from the
    context (``agent.budget``): fold mode the report cap plus ``think_tokens``, react mode
    upstream's 10,000 where the context allows."""
    think_tokens: int = 2048
    """Fold mode: the output a turn needs besides its report (thinking and the next call)."""
    unusable_retries: int = 2
    """Fold mode: unusable turns re-asked with the same report and result before an answer is forced."""
    near_budget: Literal["summarize", "force_answer"] = "summarize"
    """React mode near the budget: ReSum-style summarize-and-restart, or upstream's forced answer."""
    summarize_at: float = 0.9
    """Share of the budget at which react mode summarizes (or forces an answer)."""
    loop_repeats: int = 2
    """Identical consecutive tool calls before the model is told it is looping."""
    loop_notices: int = 2
    """Loop notices after which an answer is forced."""
    observation_share: float = 0.45
    """The largest share of the budget one observation may take in a prompt (the store keeps it whole)."""
    report_share: float = 0.3
    """Fold mode: the largest share of the budget the carried report may take."""
    fold_keep_fraction: float = 0.9
    """Fold mode: earlier rounds stay in the prompt (reused from the KV cache, as in react mode)
    while it is under this share of the budget; past it the round folds to the question, the report
    and the latest result. 0: fold every round."""
    enable_thinking: bool = True
    sampling: Sampling = field(default_factory=Sampling)
    seed_library_search: bool = True
    """Offline runs over a library start with a ``local_search`` of the question (``agent.seed``)."""
    write_report: bool = True
    """Run the report pass after the answer."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AgentConfig:
        """Rebuild from ``to_dict`` output (unknown keys, such as run metadata, are ignored)."""
        names = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in names}
        if isinstance(values.get("sampling"), dict):
            values["sampling"] = Sampling(**values["sampling"])
        return cls(**values)
