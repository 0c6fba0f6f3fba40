"""React mode: upstream's full-history ReAct prompt, with ReSum restarts near the budget."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from deepresearch_local.agent import prompts
from deepresearch_local.agent.protocol import tool_response
from deepresearch_local.agent.steps import Step, valid_summary

Observation = Callable[[Step], str]
"""How a tool step's observation is shown (the runner caps it to a share of the budget)."""


def _whole(step: Step) -> str:
    return str(step.data["observation"])


def history_messages(steps: Sequence[Step], observation: Observation = _whole) -> list[dict[str, Any]]:
    """Assistant turns and the user turns that answered them, in order."""
    out: list[dict[str, Any]] = []
    for step in steps:
        if step.kind in ("model", "seed"):
            out.append({"role": "assistant", "content": step.data["text"]})
        elif step.kind == "tool":
            out.append({"role": "user", "content": tool_response(observation(step))})
        elif step.kind == "notice":  # the loop's word on the last turn comes back like a tool's
            out.append({"role": "user", "content": tool_response(step.data["text"])})
        elif step.kind == "forced":
            out.append({"role": "user", "content": step.data["text"]})
    return _merge_user_turns(out)


def _merge_user_turns(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Two user turns in a row (a tool result, then a notice) become one."""
    merged: list[dict[str, Any]] = []
    for message in messages:
        if merged and merged[-1]["role"] == "user" and message["role"] == "user":
            merged[-1] = {"role": "user", "content": merged[-1]["content"] + "\n\n" + message["content"]}
        else:
            merged.append(message)
    return merged


def messages(
    system: str, question: str, steps: Sequence[Step], observation: Observation = _whole
) -> list[dict[str, Any]]:
    """The whole prompt: system, the question (or the last summary), then the turns since."""
    start = 0
    opening = question
    for i, step in enumerate(steps):
        if valid_summary(step):  # a refused summary is skipped: the history stays whole
            start = i + 1
            opening = prompts.render("resum_restart", question=question, summary=step.data["summary"])
    out = [{"role": "system", "content": system}, {"role": "user", "content": opening}]
    history = history_messages(steps[start:], observation)
    if history and history[0]["role"] == "user":  # a notice right after the restart
        out[-1] = {"role": "user", "content": opening + "\n\n" + history[0]["content"]}
        history = history[1:]
    return out + history


def summary_request(
    system: str, question: str, steps: Sequence[Step], observation: Observation = _whole
) -> list[dict[str, Any]]:
    """The prompt that asks for a ReSum summary of the history so far."""
    msgs = messages(system, question, steps, observation)
    ask = prompts.load("resum")
    if msgs[-1]["role"] == "user":
        msgs[-1] = {"role": "user", "content": msgs[-1]["content"] + "\n\n" + ask}
    else:
        msgs.append({"role": "user", "content": ask})
    return msgs
