"""The report side of the research screen: copy and export the report, open its sources.

``ResearchScreen`` (``screens/research.py``) builds on this; it is split off to keep each module
about one job.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from textual.screen import Screen

from deepresearch_local.tui.modals.prompt import PromptModal
from deepresearch_local.tui.modals.source_viewer import SourceViewer
from deepresearch_local.tui.widgets.research.panes import RunPanes
from deepresearch_local.tui.widgets.research.sources import SourcesList

if TYPE_CHECKING:
    from deepresearch_local.service.sessions import SessionService
    from deepresearch_local.session_replay import Source


class ReportActions(Screen[None]):
    session_id: str | None = None

    @property
    def service(self) -> SessionService:
        service: SessionService = getattr(self.app, "service")  # noqa: B009  (any App with a service)
        return service

    @property
    def panes(self) -> RunPanes:
        return self.query_one(RunPanes)

    def _report_or_warn(self) -> str | None:
        if not self.panes.report.markdown.strip():
            self.notify("There is no report to use yet: ask a question first.", severity="warning")
            return None
        return self.panes.report.markdown

    def action_copy_report(self) -> None:
        report = self._report_or_warn()
        if report is not None:
            self.app.copy_to_clipboard(report)
            self.notify("The report is on the clipboard.")

    def action_export_report(self) -> None:
        report = self._report_or_warn()
        if report is not None:
            self._export(report, self.service.default_export_path(self.session_id or "new"))

    def action_export_session(self) -> None:
        if not self.session_id:
            self.notify("Open a session first.", severity="warning")
            return
        markdown = self.service.session_markdown(self.session_id)
        default = self.service.default_export_path(self.session_id)
        self._export(markdown, default.with_name(f"session-{self.session_id}.md"))

    def _export(self, markdown: str, default: Path) -> None:
        def done(value: str | None) -> None:
            if value:
                path = self.service.export_report(markdown, Path(value))
                self.notify(f"Saved to {path}")

        self.app.push_screen(PromptModal("Export to this Markdown file", str(default)), done)

    def action_focus_sources(self) -> None:
        if not self.panes.sources.sources:
            self.notify("The report shown cites no sources yet.", severity="warning")
            return
        self.panes.sources.focus()
        if self.panes.sources.highlighted is None:
            self.panes.sources.highlighted = 0

    def on_sources_list_open(self, message: SourcesList.Open) -> None:
        source = message.source
        if source.is_url:
            self.app.push_screen(SourceViewer(source))
            return
        self.run_worker(lambda: self._read_source(source), name="read-source", thread=True)

    def _read_source(self, source: Source) -> None:
        from deepresearch_local.library import LibraryError

        try:
            text, error = self.service.read_source(source).rendered, ""
        except LibraryError as exc:
            text, error = "", str(exc)
        self.app.call_from_thread(self.app.push_screen, SourceViewer(source, text, error))
