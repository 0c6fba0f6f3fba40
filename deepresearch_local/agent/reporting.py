"""Run the report pass after an answer and commit the finished report."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from deepresearch_local import atomic
from deepresearch_local.agent import report as R
from deepresearch_local.agent import steps as S
from deepresearch_local.agent.events import AgentEvent, ReportReady
from deepresearch_local.agent.generation import REPORT, Generated, stream
from deepresearch_local.agent.state import RunState
from deepresearch_local.agent.step_events import events_of
from deepresearch_local.agent.step_kinds import ReportStep
from deepresearch_local.errors import EngineError
from deepresearch_local.store.sessions import SessionStore


def write_report(state: RunState, answer: str) -> Iterator[AgentEvent]:
    """The report pass after ``answer``: the model writes the findings over the evidence, and the
    composed report is written to its file and committed."""
    engine, question = state.call.engine, state.question
    evidence = session_evidence(state.store, state.run_id)
    draft = S.latest_report(state.steps)

    def render(text: str) -> str:
        messages = [
            {"role": "system", "content": state.prompter.system_message(tools=False)},
            {"role": "user", "content": text},
        ]
        return engine.render(messages, enable_thinking=False)

    # The room for evidence is what the whole rendered prompt (system message included) leaves.
    base = render(R.report_prompt(question, answer, draft, []))
    room = state.prompter.budget - engine.count_tokens(base) - 64
    items = R.select_evidence(evidence, question, answer, max(room, 0), engine.count_tokens)
    findings = ""
    usage: dict[str, int] = {}
    notice = ""  # what the user is told about the report pass (shown with the report step)
    if items:
        prompt = render(R.report_prompt(question, answer, draft, items))
        used = engine.count_tokens(prompt)
        if used < (engine.context_size() or used + 1):
            result: Generated | None = None
            try:
                for event in stream(state.call, prompt, state.prompter.max_output, REPORT):
                    if isinstance(event, Generated):
                        result = event
                    else:
                        yield event
            except EngineError as exc:
                # The answer stands: write the report from the evidence alone, and say why.
                notice = f"The report pass failed ({exc}); the report lists the evidence instead."
            else:
                assert result is not None
                if result.cancelled:
                    return  # nothing committed: resume writes the report
                if result.reason == "repetition":
                    notice = (
                        "The model started repeating itself in the report; it was stopped and the "
                        "repeats were left out."
                    )
                usage = {
                    "prompt_tokens": used,
                    "reused_tokens": result.reused_tokens,
                    "completion_tokens": result.completion_tokens,
                }
                state.stats.add(result, used)
                findings = _without_prompt_lines(_findings_text(result.text), prompt)
    report = R.compose(question, answer, findings, items)
    path = state.report_path
    _write(path, report.markdown)
    step = ReportStep(
        report.markdown,
        str(path),
        report.citations,
        report.dropped,
        report.flagged,
        usage.get("prompt_tokens"),
        usage.get("completion_tokens"),
        usage.get("reused_tokens"),
        notice,
    )
    state.commit(step.kind, step.to_dict())
    yield from events_of(step, turn=state.turn, max_steps=state.config.max_llm_calls)


def session_evidence(store: SessionStore, run_id: str) -> list[dict[str, Any]]:
    """This run's evidence, then what earlier runs of the session found (duplicates once).

    A follow-up starts from the previous report; offering the evidence behind it lets the new
    report keep those citations instead of dropping them.
    """
    own = store.evidence(run_id)
    seen = {(e["source"], e["location"], e["text"]) for e in own}
    earlier = []
    for item in store.session_evidence(store.run(run_id).session_id):
        key = (item["source"], item["location"], item["text"])
        if item["run_id"] != run_id and key not in seen:
            seen.add(key)
            earlier.append({k: v for k, v in item.items() if k != "run_id"} | {"step_index": -1})
    return own + earlier


COPIED_LINE_CHARS = 40
"""A findings line this long found word for word in the prompt was copied, not written."""


def _without_prompt_lines(findings: str, prompt: str) -> str:
    """The findings without lines copied from the prompt (small models echo the instructions or
    the numbered evidence instead of writing). Empty findings make the report list the evidence."""
    plain = re.sub(r"<\|[^|]+\|>", "\n", prompt)  # chat-template markers share lines with the text
    copied = {" ".join(line.split()) for line in plain.splitlines() if len(line.strip()) >= COPIED_LINE_CHARS}
    kept = [line for line in findings.splitlines() if " ".join(line.split()) not in copied]
    return "\n".join(kept).strip()


def _findings_text(text: str) -> str:
    """The findings the model wrote, without its thinking or the tags a turn format taught it."""
    from deepresearch_local.agent.protocol import _between, _without_think

    text = _without_think(text) if "</think>" in text else text
    for tag in ("report", "answer"):
        inner = _between(text, tag, allow_unclosed=True)
        if inner:
            return inner
    return text


def replay_report(path: Path, step: S.Step) -> ReportReady:
    """The event of a report committed earlier, its file (re)written where this run reports."""
    markdown = str(step.data["markdown"])
    _write(path, markdown)
    return ReportReady(
        markdown, str(path), int(step.data.get("citations", 0)), int(step.data.get("dropped", 0))
    )


def _write(path: Path, markdown: str) -> None:
    """Atomically: a reader never sees half a report."""
    atomic.write_text(path, markdown)
