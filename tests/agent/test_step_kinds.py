"""Typed steps: every kind reads the rows older versions stored, and writes what it reads back.

The old rows below are the data the loop committed before steps were typed (the shapes of the
former ``agent.steps`` docstring), some older still (without the keys added later). They go
through the real store, so a database written before keeps replaying.
"""

from __future__ import annotations

from typing import Any

import pytest

from deepresearch_local.agent.events import (
    AnswerReady,
    Notice,
    ReportReady,
    ReportUpdated,
    StepStarted,
    ToolCalled,
    ToolResulted,
)
from deepresearch_local.agent.stats import RunStats
from deepresearch_local.agent.step_events import events_of
from deepresearch_local.agent.step_kinds import (
    ForcedStep,
    ModelStep,
    NoticeStep,
    ReportStep,
    SeedStep,
    SummaryStep,
    ToolStep,
    UnknownStep,
    step_from_dict,
)
from deepresearch_local.agent.steps import Step, latest_report, unusable_streak
from deepresearch_local.session_replay import replay_run
from deepresearch_local.store.sessions import SessionStore

REMINDER = (
    "Your last reply could not be used: the answer was not closed with </answer>. Reply with "
    "<think>...</think> followed by exactly one <tool_call>{...}</tool_call>. Available tools: search."
)
FOLD_REMINDER = (
    "Your last reply could not be used: no action (the reply reached the 256-token limit: keep the "
    "thinking short). Your report and the latest result are shown again. Reply with ..."
)
CALL = {"name": "search", "arguments": {"query": ["boiling point"]}}

OLD_ROWS: list[tuple[str, dict[str, Any]]] = [
    ("seed", {"text": "<think>x</think>\n<tool_call>{}</tool_call>", "think": "x", "tool_call": {
        "name": "local_search", "arguments": {"query": ["q"]}}}),
    ("tool", {"name": "local_search", "arguments": {"query": ["q"]}, "key": "k0", "error": False,
              "summary": "1 passage", "observation": "one passage", "evidence_ids": [1]}),
    ("model", {"text": "t1", "think": "Look it up.", "answer": None, "report": "- F1 [1]",
               "tool_call": CALL, "problems": [], "prompt_tokens": 900, "completion_tokens": 40,
               "reused_tokens": 10, "elapsed": 2.5, "forced": False}),
    ("tool", {"name": "search", "arguments": {"query": ["boiling point"]}, "key": "k1", "error": False,
              "summary": "3 results", "observation": "A search found 3 results", "notes": "",
              "evidence_ids": [2, 3], "loop_notice": True}),
    ("model", {"text": "junk", "think": "", "answer": None, "report": None, "report_complete": False,
               "tool_call": None, "problems": ["the answer was not closed with </answer>"],
               "extra_tool_calls": 0, "prompt_tokens": 950, "completion_tokens": 256, "reused_tokens": 0,
               "finish": "length", "elapsed": 4.0, "forced": False}),
    ("notice", {"text": REMINDER, "reason": "format"}),
    ("notice", {"text": FOLD_REMINDER}),
    ("notice", {"text": "Your reply left out its <report>.", "reason": "report"}),
    ("summary", {"summary": "- what was found", "valid": True, "problem": None, "text": "<summary>",
                 "tools": True, "prompt_tokens": 800, "completion_tokens": 30, "reused_tokens": 5}),
    ("summary", {"summary": "", "valid": False, "problem": "it called a tool instead of summarizing"}),
    ("summary", {"summary": "- the oldest rows had the summary alone"}),
    ("forced", {"reason": "max_llm_calls", "text": "You have reached the limit of this research."}),
    ("forced", {"reason": "unusable", "text": f"{REMINDER}\n\nAnswer now."}),
    ("model", {"text": "a", "think": "Enough.", "answer": "100 C", "report": None, "tool_call": None,
               "problems": [], "prompt_tokens": 1000, "completion_tokens": 20, "reused_tokens": 900,
               "elapsed": 6.0, "forced": True}),
    ("report", {"markdown": "# Report\n100 C [1]", "citations": 1, "dropped": 0, "flagged": 0,
                "path": "/r/run.md", "prompt_tokens": 1200, "reused_tokens": 0, "completion_tokens": 60}),
]  # fmt: skip


def test_every_old_row_reads_as_its_typed_step() -> None:
    typed = [step_from_dict(kind, data) for kind, data in OLD_ROWS]
    assert [type(s) for s in typed] == [
        SeedStep, ToolStep, ModelStep, ToolStep, ModelStep, NoticeStep, NoticeStep, NoticeStep,
        SummaryStep, SummaryStep, SummaryStep, ForcedStep, ForcedStep, ModelStep, ReportStep,
    ]  # fmt: skip
    assert [s.kind for s in typed] == [kind for kind, _ in OLD_ROWS]
    model = typed[2]
    assert isinstance(model, ModelStep)
    assert (model.tool_call, model.report, model.report_complete, model.finish) == (
        CALL,
        "- F1 [1]",
        True,
        "",
    )
    assert typed[3] == ToolStep(
        "search", {"query": ["boiling point"]}, "A search found 3 results", "3 results", False, "k1", "",
        True, [2, 3],
    )  # fmt: skip
    # The problems of a reminder stored before they were kept apart are read from its text.
    assert typed[5] == NoticeStep(REMINDER, "format", "the answer was not closed with </answer>")
    assert typed[6] == NoticeStep(
        FOLD_REMINDER, "format", "no action (the reply reached the 256-token limit: keep the thinking short)"
    )
    assert typed[7] == NoticeStep("Your reply left out its <report>.", "report", "")
    assert typed[10] == SummaryStep("- the oldest rows had the summary alone")
    forced = typed[11]
    assert isinstance(forced, ForcedStep) and forced.message.startswith("Limit reached")
    report = typed[14]
    assert isinstance(report, ReportStep) and (report.prompt_tokens, report.path) == (1200, "/r/run.md")


def test_typed_steps_write_what_they_read() -> None:
    for kind, data in OLD_ROWS:
        step = step_from_dict(kind, data)
        assert step_from_dict(kind, step.to_dict()) == step
        # The keys the loop's helpers read keep their meaning in what a typed step writes.
        written = step.to_dict()
        for key, value in data.items():
            if key in written and value is not None:
                assert written[key] == value, (kind, key)


def test_a_report_the_model_did_not_write_counts_no_call() -> None:
    listed = ReportStep("# Report", "/r.md", 0, 0, 0)
    assert "prompt_tokens" not in listed.to_dict()
    rows = [Step(0, "report", listed.to_dict()), Step(1, *OLD_ROWS[-1])]
    assert RunStats.from_steps(rows).llm_calls == 1


def test_the_loop_helpers_read_typed_rows_like_old_ones() -> None:
    old = [Step(i, kind, data) for i, (kind, data) in enumerate(OLD_ROWS[:6])]
    new = [Step(s.index, s.kind, s.typed.to_dict()) for s in old]
    assert latest_report(new) == latest_report(old) == "- F1 [1]"
    assert unusable_streak(new[:5]) == unusable_streak(old[:5]) == 1


def test_an_unknown_kind_is_kept_and_shows_nothing() -> None:
    step = step_from_dict("thought", {"text": "from a newer version"})
    assert isinstance(step, UnknownStep) and step.kind == "thought"
    assert step.to_dict() == {"text": "from a newer version"}
    assert events_of(step, turn=1, max_steps=9) == []


@pytest.fixture
def old_run() -> tuple[SessionStore, str]:
    store = SessionStore()
    session = store.create_session("old")
    question = store.add_question(session, "How hot does water boil?")
    run_id = store.start_run(session, question, "fold", {"max_llm_calls": 9, "budget_tokens": 4000})
    for index, (kind, data) in enumerate(OLD_ROWS):
        assert store.add_step(run_id, index, kind, data)
    stats = {"llm_calls": 3, "max_prompt_tokens": 1000, "prompt_tokens": 2850}
    store.finish_run(run_id, "finished", "forced_answer", "100 C", "# Report\n100 C [1]", stats)
    return store, run_id


def test_a_database_written_before_replays(old_run: tuple[SessionStore, str]) -> None:
    store, run_id = old_run
    shown = replay_run(store, run_id)
    notices = [e.message for e in shown if isinstance(e, Notice)]
    assert notices == [
        "The model repeated the same search call.",
        "Unusable reply: the answer was not closed with </answer>.",  # not the reminder's first line
        "Unusable reply: no action (the reply reached the 256-token limit: keep the thinking short).",
        "The reply left out its report: asking again.",
        "Context nearly full: summarizing and restarting.",
        "Context nearly full: summarizing and restarting.",
        "The summary could not be used: it called a tool instead of summarizing.",
        "Context nearly full: summarizing and restarting.",
        "Limit reached (the maximum number of model calls): asking for a final answer.",
        "Too many unusable replies in a row: asking for a final answer.",
    ]
    assert [e.step for e in shown if isinstance(e, StepStarted)] == [1, 2, 3]
    calls = [(e.step, e.name) for e in shown if isinstance(e, (ToolCalled, ToolResulted))]
    assert calls == [(0, "local_search"), (0, "local_search"), (1, "search"), (1, "search")]
    assert [e.report for e in shown if isinstance(e, ReportUpdated)] == ["- F1 [1]"]
    assert [e.answer for e in shown if isinstance(e, AnswerReady)] == ["100 C"]
    ready = [e for e in shown if isinstance(e, ReportReady)]
    assert [(r.path, r.citations) for r in ready] == [("/r/run.md", 1)]
    end = shown[-1]
    assert end.type == "finished" and end.report_path == "/r/run.md"  # type: ignore[union-attr]
    assert end.elapsed_seconds == 6.0  # type: ignore[union-attr]  # no stored run time: the last turn's
