"""The research screen's parts on their own: the report pane streaming and settling, the trace's
entries, and the status bar's readings."""

from __future__ import annotations

import asyncio

from textual.app import App, ComposeResult
from textual.widgets import Collapsible, Static
from textual.widgets._collapsible import CollapsibleTitle

from deepresearch_local.agent.events import (
    ContextUsage,
    RunFinished,
    RunStarted,
    StepStarted,
    TokenDelta,
    ToolCalled,
    ToolResulted,
)
from deepresearch_local.tui.widgets.research.report import EMPTY, ReportView
from deepresearch_local.tui.widgets.research.status import StatusBar, clock, gauge
from deepresearch_local.tui.widgets.research.trace import HINT, SHOWN_CHARS, Thinking, TraceView


class Parts(App[None]):
    def compose(self) -> ComposeResult:
        yield ReportView(id="report")
        yield TraceView(id="trace")
        yield StatusBar(id="status")


def test_the_report_streams_what_is_written_then_settles_on_the_report() -> None:
    async def scenario() -> None:
        app = Parts()
        async with app.run_test() as pilot:
            report = app.query_one(ReportView)
            assert report.view.source == EMPTY and report.markdown == ""
            await report.show("# Working report")
            for piece in ("<report>", "\n- First", " fact", "\n- Second fact", "</report>"):
                await report.stream("report", piece)
            await pilot.pause()
            assert report.view.source == "\n- First fact\n- Second fact"
            assert report.border_subtitle == "being written"
            assert report.markdown == "# Working report"  # the last complete report stays known
            await report.stream("answer", "<answer>Shelf 14")
            assert report.view.source == "Shelf 14" and report.border_subtitle == "the answer, being written"
            await report.show("# Final\n\nShelf 14 [1].")
            assert report.view.source == "# Final\n\nShelf 14 [1]." and report.border_subtitle == ""
            await pilot.pause()
            shown = [str(block.source_range) for block in report.view.children]
            assert len(shown) == 2  # the heading and the paragraph

    asyncio.run(scenario())


def test_the_trace_folds_thinking_and_results() -> None:
    long_text = "x" * (SHOWN_CHARS + 50)

    async def scenario() -> None:
        app = Parts()
        async with app.run_test() as pilot:
            trace = app.query_one(TraceView)
            trace.add(StepStarted(1, 4))
            for piece in ("<think>", "Check the ", "handbook.", "</think>"):
                trace.add(TokenDelta("thinking", piece))
            trace.add(TokenDelta("action", "<tool_call>"))  # the call shows once, from ToolCalled
            trace.add(ToolCalled(1, "PythonInterpreter", {"code": "print(6 * 7)"}))
            trace.add(ToolResulted(1, "PythonInterpreter", "ran [b]1 line", long_text))
            trace.add(ToolCalled(1, "local_read", {"path": "gone.md"}))
            trace.add(ToolResulted(1, "local_read", "no such file", "Error: no file gone.md", error=True))
            await pilot.pause()
            thinking = trace.query_one(Thinking)
            assert thinking.text == "Check the handbook." and thinking.collapsed
            assert thinking.title == "thinking (3 words)"
            lines = [str(w.content) for w in trace.query(".trace-line").results(Static)]
            assert lines == [
                "Step 1 of 4",
                "▶ PythonInterpreter print(6 * 7)",
                '▶ local_read {"path": "gone.md"}',
            ]
            results = list(trace.query(".trace-result").results(Collapsible))
            labels = [r.query_one(CollapsibleTitle).label.plain for r in results]  # type: ignore[union-attr]
            assert labels == ["✓ ran [b]1 line", "✗ no such file"]  # shown as written, not as markup
            assert results[1].has_class("trace-error") and all(r.collapsed for r in results)
            body = str(results[0].query_one(".result-text", Static).content)
            assert body == "x" * SHOWN_CHARS + "\n… (50 more characters)"
            assert trace.entries == 6
            trace.clear()
            await pilot.pause()
            assert trace.entries == 0
            assert [str(w.content) for w in trace.query(Static)] == [HINT]

    asyncio.run(scenario())


def test_the_status_bar_follows_a_run() -> None:
    assert gauge(1024, 4096) == "██░░░░░░░░ 25%" and gauge(5, 0) == "░" * 10
    assert (clock(83), clock(3725)) == ("1:23", "1:02:05")

    async def scenario() -> None:
        app = Parts()
        async with app.run_test() as pilot:
            status = app.query_one(StatusBar)
            status.apply(
                RunStarted("s", "r", "Q?", "fold", 4096, 8192, 4, model="m.gguf", backend="llama.cpp")
            )
            status.apply(StepStarted(2, 4))
            status.apply(TokenDelta("thinking", "Let me", 17.26))  # live, before the step ends
            await pilot.pause()
            live = {w.id: str(w.content) for w in status.query(".status-cell").results(Static)}
            assert live["status-speed"] == "17.3 tok/s"
            status.apply(TokenDelta("thinking", " look", 0.0))  # an engine that does not say keeps it
            assert status.tps == 17.3
            status.apply(ContextUsage(2, 1024, 4096, decode_tps=21.5))
            status.apply(RunFinished("answer", "A", "s", "r", None, 2, 3, 1024, 83.0))
            await pilot.pause()
            cells = {w.id: str(w.content) for w in status.query(".status-cell").results(Static)}
            assert cells["status-engine"] == "llama.cpp · m.gguf"
            assert cells["status-speed"] == "21.5 tok/s"
            assert cells["status-context"] == "ctx ██░░░░░░░░ 25% 1,024/4,096"
            assert cells["status-elapsed"] == "time 1:23" and cells["status-step"] == "step 2/4"
            assert cells["status-memory"].startswith("mem ") and cells["status-memory"].endswith(" MiB")
            assert not status.running

    asyncio.run(scenario())
