"""The run's panes: the trace on the left, the report with its sources on the right."""

from __future__ import annotations

from collections.abc import Callable

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical

from deepresearch_local.agent.events import (
    AgentEvent,
    AnswerReady,
    ReportReady,
    ReportUpdated,
    RunFinished,
    RunStarted,
    TokenDelta,
)
from deepresearch_local.session_replay import Source
from deepresearch_local.tui.widgets.research.report import ReportView
from deepresearch_local.tui.widgets.research.sources import SourcesList
from deepresearch_local.tui.widgets.research.trace import TraceView

SourcesFor = Callable[[str, str], list[Source]]
"""(run id, report Markdown) → the report's sources."""


class RunPanes(Horizontal):
    def __init__(self, sources_for: SourcesFor, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.sources_for = sources_for
        self.run_id: str | None = None

    def compose(self) -> ComposeResult:
        yield TraceView(id="trace")
        with Vertical(id="report-column"):
            yield ReportView(id="report")
            yield SourcesList(id="sources")

    def on_mount(self) -> None:
        self.trace.border_title = "Trace"
        self.report.border_title = "Report"
        self.sources.set_sources([])

    @property
    def trace(self) -> TraceView:
        return self.query_one(TraceView)

    @property
    def report(self) -> ReportView:
        return self.query_one(ReportView)

    @property
    def sources(self) -> SourcesList:
        return self.query_one(SourcesList)

    async def reset(self, keep_report: bool = False) -> None:
        """Empty the trace and the sources (and the report unless ``keep_report``)."""
        self.run_id = None
        self.trace.clear()
        self.sources.set_sources([])
        if not keep_report:
            await self.report.reset()

    async def apply(self, event: AgentEvent, live: bool) -> None:
        """Show one event. ``live``: it comes from the run in progress (stream what is being written)."""
        self.trace.add(event)
        if isinstance(event, RunStarted):
            self.run_id = event.run_id
        elif isinstance(event, TokenDelta):
            if live and event.kind in ("report", "answer"):
                await self.report.stream(event.kind, event.text)
        elif isinstance(event, ReportUpdated):
            await self.report.show(event.report)
        elif isinstance(event, AnswerReady):
            await self.report.show(f"## Answer\n\n{event.answer}")
        elif isinstance(event, ReportReady):
            await self.report.show(event.markdown)
            if self.run_id:
                self.sources.set_sources(self.sources_for(self.run_id, event.markdown))
        elif isinstance(event, RunFinished) and self.report.streaming:
            await self.report.settle("stopped before it was finished")
