"""Run the report pass after an answer and commit the finished report."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from deepresearch_local.agent import report as R
from deepresearch_local.agent import steps as S
from deepresearch_local.agent.events import AgentEvent, ReportReady, TokenDelta
from deepresearch_local.engines.base import Finished, GenerationRequest, TextDelta

if TYPE_CHECKING:
    from deepresearch_local.agent.runner import Researcher, _Stats


def write_report(
    researcher: Researcher, run_id: str, steps: list[S.Step], question: str, answer: str, stats: _Stats
) -> Iterator[AgentEvent]:
    engine = researcher.engine
    evidence = researcher.store.evidence(run_id)
    draft = S.latest_report(steps)
    base = R.report_prompt(question, answer, draft, [])
    room = researcher.budget - engine.count_tokens(base) - 64
    items = R.select_evidence(evidence, question, answer, max(room, 0), engine.count_tokens)
    findings = ""
    if items:
        prompt_text = R.report_prompt(question, answer, draft, items)
        messages = [
            {"role": "system", "content": researcher.system_message()},
            {"role": "user", "content": prompt_text},
        ]
        prompt = engine.render(messages, enable_thinking=False)
        used = engine.count_tokens(prompt)
        if used < (engine.context_size() or used + 1):
            request = GenerationRequest(
                prompt=prompt,
                max_tokens=max(
                    1, min(researcher.config.max_output_tokens, (engine.context_size() or 0) - used)
                ),
                sampling=researcher.config.sampling,
            )
            done: Finished | None = None
            with researcher.context.engine_lock:
                for event in engine.generate(request, researcher.cancel):
                    if isinstance(event, TextDelta):
                        yield TokenDelta("report", event.text)
                    elif isinstance(event, Finished):
                        done = event
            if done is None or done.reason == "cancelled":
                return
            stats.llm_calls += 1
            stats.max_prompt_tokens = max(stats.max_prompt_tokens, used)
            from deepresearch_local.agent.protocol import _without_think

            findings = _without_think(done.text) if "</think>" in done.text else done.text
    report = R.compose(question, answer, findings, items)
    path = researcher.report_path_for(run_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".md.tmp")
    tmp.write_text(report.markdown, "utf-8")
    tmp.replace(path)
    researcher._commit(
        run_id,
        steps,
        "report",
        {
            "markdown": report.markdown,
            "citations": report.citations,
            "dropped": report.dropped,
            "flagged": report.flagged,
            "path": str(path),
        },
    )
    yield ReportReady(report.markdown, str(path), report.citations, report.dropped)
