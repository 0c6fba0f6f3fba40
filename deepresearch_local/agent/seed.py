"""Grounded from the first step: an offline run over a library opens with a search of it.

Before the model's first turn, the run searches the user's library for the question with the
app's own ``local_search``, committed as a ``seed`` step that holds a tool call in the model's own
format, and then as an ordinary tool result. The model's first prompt therefore shows the user's
documents (fold mode: as its latest action and result; react mode: as an assistant turn and its
``<tool_response>``), so every answer starts from them. ``AgentConfig.seed_library_search`` turns
it off. The seed is no model call: it counts toward no limit and no round.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from deepresearch_local.agent import prompts
from deepresearch_local.agent.step_kinds import SeedStep

if TYPE_CHECKING:
    from deepresearch_local.agent import steps as S
    from deepresearch_local.agent.state import RunState

TOOL = "local_search"


def wanted(state: RunState) -> bool:
    """On for offline runs whose library holds at least one folder (and the setting allows it)."""
    if not (state.config.seed_library_search and state.offline):
        return False
    if TOOL not in state.tool_names():
        return False
    from deepresearch_local.tools.local import LocalSearchTool

    tool = state.tools.get(TOOL)
    if not isinstance(tool, LocalSearchTool):
        return False
    try:
        return bool(tool.handle.get().folders())
    except Exception:  # an unreadable library: the model will find out with its own calls
        return False


def commit(state: RunState) -> S.Step:
    """The seed step: a search of the library for the question, written as the model writes calls."""
    call: dict[str, Any] = {"name": TOOL, "arguments": {"query": [" ".join(state.question.split())]}}
    body = json.dumps(call, ensure_ascii=False)
    think = prompts.load("seed_think")
    text = f"<think>\n{think}\n</think>\n<tool_call>\n{body}\n</tool_call>"
    step = SeedStep(text, think, call)  # shows nothing itself: its tool step shows the search
    return state.commit(step.kind, step.to_dict())
