"""Run the tool a committed model turn asked for, and commit its result (or the problem)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from deepresearch_local.agent import prompts
from deepresearch_local.agent import steps as S
from deepresearch_local.agent.events import AgentEvent, ToolCalled
from deepresearch_local.agent.state import RunState
from deepresearch_local.agent.step_events import events_of
from deepresearch_local.agent.step_kinds import ForcedStep, ToolStep
from deepresearch_local.tools.base import ToolRegistry, ToolResult, missing_arguments

MAX_OBSERVATION_CHARS = 60_000
"""A hard cap before any token budgeting (a tool that returns megabytes is cut here)."""


def _call_key(call: dict[str, Any]) -> str:
    import json

    return str(call["name"]) + json.dumps(call["arguments"], sort_keys=True, ensure_ascii=False)


def _problem_observation(tools: ToolRegistry, offline: bool, model_step: S.Step) -> str | None:
    """The observation for a turn whose tool call cannot run, or None when it can."""
    call = model_step.data.get("tool_call")
    problems = list(model_step.data.get("problems") or [])
    names = tools.names(offline)
    if call is None:
        return None
    tool = tools.get(call["name"])
    if tool is None or call["name"] not in names:
        why = "is not available offline" if tool is not None else "does not exist"
        return f"Error: the tool {call['name']!r} {why}. Available tools: {', '.join(names)}."
    missing = missing_arguments(tool, call["arguments"])
    if missing:
        return (
            f"Error: {call['name']} needs the argument(s) {', '.join(missing)}. {'; '.join(problems)}".strip()
        )
    return None


def run_tool(state: RunState, model_step: S.Step) -> Iterator[AgentEvent]:
    """Run the call ``model_step`` (a model turn or the seed) holds; commit its ``tool`` step."""
    call = model_step.data.get("tool_call")
    steps = state.steps
    index = state.turn
    if call is None:  # a turn with neither call nor answer was answered by a notice already
        return
    yield ToolCalled(index, str(call["name"]), dict(call["arguments"]))
    key = _call_key(call)
    problem = _problem_observation(state.tools, state.offline, model_step)
    if problem is not None:
        result = ToolResult(problem, error=True, summary=problem.split(". ")[0])
    else:
        tool = state.tools.get(call["name"])
        assert tool is not None
        try:
            result = tool.call(call["arguments"], state.context)
        except Exception as exc:  # a tool bug must not end the research
            result = ToolResult(f"Error: {call['name']} failed: {type(exc).__name__}: {exc}", error=True)
    observation = result.text
    if len(observation) > MAX_OBSERVATION_CHARS:
        observation = (
            observation[:MAX_OBSERVATION_CHARS] + f"\n[... cut at {MAX_OBSERVATION_CHARS} characters]"
        )
    notes = ""  # what the loop adds for the model; kept apart so fold mode never truncates it away
    if model_step.data.get("extra_tool_calls"):
        notes += "\n(Only your first tool call was run: make one call per turn.)"
    repeats = S.repeated_calls(steps, key)
    loop_notice = repeats + 1 >= state.config.loop_repeats
    if loop_notice:
        notes += "\n\n" + prompts.render("loop_notice", call=call["name"])
    store, run_id = state.store, state.run_id
    evidence_ids = [
        store.add_evidence(run_id, model_step.index, e.source, e.location, e.text, e.title, e.kind)
        for e in result.evidence
    ]
    for event in result.network:
        store.add_network(run_id, event.kind, event.target, event.tool, event.ok, event.detail)
    step = ToolStep(
        name=str(call["name"]),
        arguments=dict(call["arguments"]),
        observation=observation + notes,
        summary=result.summary or _summarize(observation),
        error=result.error,
        key=key,
        notes=notes,
        loop_notice=loop_notice,
        evidence_ids=evidence_ids,
        links=list(dict.fromkeys(result.links)),
    )
    state.commit(step.kind, step.to_dict())
    max_steps = state.config.max_llm_calls
    yield from events_of(step, turn=index, max_steps=max_steps, announced=True)
    repeating = loop_notice and S.loop_notices(steps) >= state.config.loop_notices
    if repeating and S.forced_reason(steps) is None:
        text = prompts.render("forced_answer", reason="repeating the same action")
        forced = ForcedStep("loop", text, "The model keeps repeating itself: asking for a final answer.")
        state.commit(forced.kind, forced.to_dict())
        yield from events_of(forced, turn=index, max_steps=max_steps)


def _summarize(observation: str) -> str:
    first = observation.strip().splitlines()[0] if observation.strip() else "(empty result)"
    return first[:120]
