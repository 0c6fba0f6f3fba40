"""Run the report pass after an answer and commit the finished report."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from deepresearch_local.agent import report as R
from deepresearch_local.agent import steps as S
from deepresearch_local.agent.events import AgentEvent, ReportReady, TokenDelta
from deepresearch_local.agent.repetition import RepetitionGuard
from deepresearch_local.agent.step_events import events_of
from deepresearch_local.agent.step_kinds import ReportStep
from deepresearch_local.engines.base import Finished, GenerationRequest, LinkedCancel, TextDelta
from deepresearch_local.errors import EngineError

if TYPE_CHECKING:
    from deepresearch_local.agent.runner import Researcher
    from deepresearch_local.agent.stats import RunStats


def write_report(
    researcher: Researcher, run_id: str, steps: list[S.Step], question: str, answer: str, stats: RunStats
) -> Iterator[AgentEvent]:
    engine = researcher.engine
    evidence = session_evidence(researcher, run_id)
    draft = S.latest_report(steps)

    def render(text: str) -> str:
        messages = [
            {"role": "system", "content": researcher.system_message(tools=False)},
            {"role": "user", "content": text},
        ]
        return engine.render(messages, enable_thinking=False)

    # The room for evidence is what the whole rendered prompt (system message included) leaves.
    base = render(R.report_prompt(question, answer, draft, []))
    room = researcher.budget - engine.count_tokens(base) - 64
    items = R.select_evidence(evidence, question, answer, max(room, 0), engine.count_tokens)
    findings = ""
    usage: dict[str, int] = {}
    notice = ""  # what the user is told about the report pass (shown with the report step)
    if items:
        prompt = render(R.report_prompt(question, answer, draft, items))
        used = engine.count_tokens(prompt)
        if used < (engine.context_size() or used + 1):
            request = GenerationRequest(
                prompt=prompt,
                max_tokens=max(
                    1, min(researcher.max_output, (engine.context_size() or 0) - used)
                ),
                sampling=researcher.config.sampling,
            )
            done: Finished | None = None
            guard = RepetitionGuard()
            cancel = LinkedCancel(researcher.cancel)
            try:
                with researcher.context.engine_lock:
                    for event in engine.generate(request, cancel):
                        if isinstance(event, TextDelta):
                            yield TokenDelta("report", event.text, event.decode_tps)
                            if guard.feed(event.text):
                                cancel.cancel()  # a model in a loop: stop it, keep what it wrote
                        elif isinstance(event, Finished):
                            done = event
            except EngineError as exc:
                # The answer stands: write the report from the evidence alone, and say why.
                notice = f"The report pass failed ({exc}); the report lists the evidence instead."
            else:
                if done is None or (done.reason == "cancelled" and not guard.tripped):
                    return
                if guard.tripped:
                    notice = (
                        "The model started repeating itself in the report; it was stopped and the "
                        "repeats were left out."
                    )
                usage = {
                    "prompt_tokens": used,
                    "reused_tokens": done.reused_tokens,
                    "completion_tokens": done.completion_tokens,
                }
                stats.count(used, done.reused_tokens, done.completion_tokens)
                findings = _without_prompt_lines(
                    _findings_text(guard.cleaned() if guard.tripped else done.text), prompt
                )
    report = R.compose(question, answer, findings, items)
    path = researcher.report_path_for(run_id)
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
    researcher._commit(run_id, steps, step.kind, step.to_dict())
    yield from events_of(step, turn=len(S.model_steps(steps)), max_steps=researcher.config.max_llm_calls)


def session_evidence(researcher: Researcher, run_id: str) -> list[dict[str, Any]]:
    """This run's evidence, then what earlier runs of the session found (duplicates once).

    A follow-up starts from the previous report; offering the evidence behind it lets the new
    report keep those citations instead of dropping them.
    """
    store = researcher.store
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


def replay_report(researcher: Researcher, run_id: str, step: S.Step) -> ReportReady:
    """The event of a report committed earlier, its file (re)written where this run reports."""
    path = researcher.report_path_for(run_id)
    markdown = str(step.data["markdown"])
    _write(path, markdown)
    return ReportReady(
        markdown, str(path), int(step.data.get("citations", 0)), int(step.data.get("dropped", 0))
    )


def _write(path: Path, markdown: str) -> None:
    """Atomically: a reader never sees half a report."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".md.tmp")
    tmp.write_text(markdown, "utf-8")
    tmp.replace(path)
