"""A session as one Markdown document: each question, its answer and its report."""

from __future__ import annotations

import re

from deepresearch_local.store.records import RunInfo
from deepresearch_local.store.sessions import SessionStore

_HEADING = re.compile(r"^(#{1,6})(\s)")
_FENCE = re.compile(r"^\s{0,3}(```|~~~)")


def demote_headings(markdown: str, levels: int) -> str:
    """Push every ATX heading down ``levels`` (at most ``######``), leaving code blocks alone."""
    out: list[str] = []
    fence: str | None = None
    for line in markdown.splitlines():
        marker = _FENCE.match(line)
        if marker:
            if fence is None:
                fence = marker.group(1)
            elif marker.group(1) == fence:
                fence = None
        elif fence is None:
            line = _HEADING.sub(lambda m: "#" * min(6, len(m.group(1)) + levels) + m.group(2), line)
        out.append(line)
    return "\n".join(out)


def _chosen_run(runs: list[RunInfo]) -> RunInfo | None:
    """The question's latest run that answered, else its latest run."""
    answered = [r for r in runs if r.answer is not None or r.report is not None]
    if answered:
        return answered[-1]
    return runs[-1] if runs else None


def _quote(text: str) -> list[str]:
    return [f"> {line}".rstrip() for line in text.strip().splitlines()] or [">"]


def session_markdown(store: SessionStore, session_id: str) -> str:
    info = store.get_session(session_id)
    runs = store.runs(session_id)
    lines = [
        f"# {info.title.strip() or 'Untitled research'}",
        "",
        f"_Session `{info.id}` · started {info.created_at[:16].replace('T', ' ')} UTC · "
        f"updated {info.updated_at[:16].replace('T', ' ')} UTC_",
    ]
    for number, question in enumerate(store.questions(session_id), 1):
        lines += ["", f"## Question {number}", "", *_quote(question.text)]
        run = _chosen_run([r for r in runs if r.question_id == question.id])
        if run is None:
            lines += ["", "_Not researched yet._"]
            continue
        ended = run.termination or run.status
        lines += ["", f"_Run `{run.id}` · {run.mode} · {ended}_"]
        if run.answer is None and run.report is None:
            if run.status == "running":
                why = f"the run did not finish; resume it with `deepresearch sessions resume {info.id}`"
            else:
                why = {"cancelled": "the run was cancelled", "failed": "the run failed"}.get(
                    run.status, "the run ended without one"
                )
            lines += ["", f"_No answer: {why}._"]
            continue
        if run.answer is not None:
            lines += ["", "### Answer", "", run.answer.strip()]
        if run.report is not None:
            lines += ["", "### Report", "", demote_headings(run.report.strip(), 2)]
    return "\n".join(lines) + "\n"
