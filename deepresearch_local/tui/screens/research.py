"""The research screen: sessions on the left; the live trace, the report and its sources; the question
box and the status bar. All the work is done by ``SessionService`` in a thread worker."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Footer, Header
from textual.worker import Worker, WorkerState

from deepresearch_local.agent.events import AgentEvent, RunFinished, RunStarted
from deepresearch_local.tui.commands import register
from deepresearch_local.tui.modals.confirm import ConfirmModal
from deepresearch_local.tui.modals.prompt import PromptModal
from deepresearch_local.tui.screens.research_permission import PermissionPrompts
from deepresearch_local.tui.widgets.research.panes import RunPanes
from deepresearch_local.tui.widgets.research.question import QuestionInput
from deepresearch_local.tui.widgets.research.sessions import SessionsPanel
from deepresearch_local.tui.widgets.research.status import StatusBar

for _title, _help, _action in (
    ("New research", "Start a new session (the next question opens it)", "new_session"),
    ("Cancel the run", "Stop the research in progress; the question comes back for editing", "cancel_run"),
    ("Export the report", "Save the report shown as a Markdown file", "export_report"),
    ("Export the whole session", "Save every question, answer and report of the session", "export_session"),
    ("Copy the report", "Copy the report shown to the clipboard", "copy_report"),
    ("Open a source", "Move to the report's sources (Enter opens one)", "focus_sources"),
    ("Search sessions", "Find past research by title, question or answer", "search_sessions"),
    ("Rename the session", "Give the open session a new title", "rename_session"),
    ("Delete the session", "Delete the open session with all its runs", "delete_session"),
    ("Ask a question", "Move to the question box", "focus_question"),
    ("Resume the interrupted run", "Continue the open session's run where it stopped", "resume_run"),
):
    register("research", _title, _help, _action)


@dataclass
class RunEvent(Message):
    """One event of the run in progress, posted from the worker thread."""

    event: AgentEvent


class ResearchScreen(PermissionPrompts):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel_run", "Cancel run", priority=True),
        Binding("ctrl+n", "new_session", "New session", priority=True),
        Binding("ctrl+s", "export_report", "Export", priority=True),
        Binding("ctrl+t", "copy_report", "Copy", priority=True),
        Binding("ctrl+o", "focus_sources", "Sources", priority=True),
        Binding("ctrl+f", "search_sessions", "Search", show=False, priority=True),
        Binding("ctrl+r", "rename_session", "Rename", show=False, priority=True),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.session_id: str | None = None
        self.asked = ""
        """The question of the run in progress (Esc puts it back in the box)."""
        self.running = False

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="research-body"):
            yield SessionsPanel(self.service.sessions, id="sessions")
            with Vertical(id="research-main"):
                yield RunPanes(self.service.sources, id="research-panes")
                yield QuestionInput(id="question")
        yield StatusBar(id="status")
        yield Footer(compact=True)

    async def on_mount(self) -> None:
        self.status.backend, self.status.model = self.service.engine_label()
        await self.sessions.reload()
        self.question.focus()

    def on_screen_resume(self) -> None:
        """Back from first-run setup, Models or Settings: show the model a new question would use."""
        if not self.running:
            self.status.backend, self.status.model = self.service.engine_label()

    # ------------------------------------------------------------ parts

    @property
    def sessions(self) -> SessionsPanel:
        return self.query_one(SessionsPanel)

    @property
    def status(self) -> StatusBar:
        return self.query_one(StatusBar)

    @property
    def question(self) -> QuestionInput:
        return self.query_one(QuestionInput)

    # ------------------------------------------------------------ asking

    async def on_question_input_submitted(self, message: QuestionInput.Submitted) -> None:
        session, text = self.session_id, message.text
        await self._start(text, lambda: self.service.ask(text, session, ask_user=self.ask_user))

    async def _start(self, question: str, events: Callable[[], Iterator[AgentEvent]]) -> None:
        if self._busy():
            return
        self.asked = question
        self.question.clear()
        self.running = True
        await self.panes.reset(keep_report=True)
        self.status.reset()
        self.status.start_clock()
        self.run_worker(lambda: self._research(events), name="research", thread=True)

    def _research(self, events: Callable[[], Iterator[AgentEvent]]) -> None:
        """Worker thread: stream the run's events to the screen."""
        for event in events():
            self.post_message(RunEvent(event))

    async def on_run_event(self, message: RunEvent) -> None:
        await self.apply(message.event, live=True)

    async def apply(self, event: AgentEvent, live: bool) -> None:
        """Show one event in the panes and the status bar; keep track of the session."""
        await self.panes.apply(event, live)
        self.status.apply(event)
        if live and isinstance(event, RunStarted) and event.session_id != self.session_id:
            self.session_id = event.session_id
            await self.sessions.reload(self.session_id)
        if live and isinstance(event, RunFinished):
            self.running = False
            await self.sessions.reload(self.session_id)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """The run's worker ended: a failure is shown by the app's error modal; the question comes back."""
        if event.worker.name != "research" or event.state not in (WorkerState.ERROR, WorkerState.CANCELLED):
            return
        self.running = False
        self.status.stop_clock()
        if not self.question.text.strip():
            self.question.restore(self.asked)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "cancel_run":
            return self.running
        return True

    async def action_resume_run(self) -> None:
        """Continue the open session's latest run when it was interrupted (app closed, machine slept)."""
        run = self.service.latest_run(self.session_id) if self.session_id else None
        if run is None or run.status != "running":
            self.notify("The open session has no interrupted run to resume.", severity="warning")
            return
        await self._start(run.question, lambda: self.service.resume(run.id, ask_user=self.ask_user))

    def action_cancel_run(self) -> None:
        if not self.running:
            return
        self.service.cancel()
        self.question.restore(self.asked)
        self.notify("Cancelling: the steps so far stay in the session.")

    # ------------------------------------------------------------ sessions

    async def action_new_session(self) -> None:
        if self._busy():
            return
        self.session_id = None
        await self.panes.reset()
        await self.sessions.reload()
        self.question.focus()

    async def on_sessions_panel_chosen(self, message: SessionsPanel.Chosen) -> None:
        await self.open_session(message.session_id)

    async def open_session(self, session_id: str) -> None:
        """Show the session's latest run: its trace, report and sources."""
        if self._busy():
            return
        self.session_id = session_id
        await self.panes.reset()
        self.status.reset()
        run = self.service.latest_run(session_id)
        if run is not None:
            for event in self.service.replay(run.id):
                await self.apply(event, live=False)
            if run.status == "running":
                self.notify("This run was interrupted: Ctrl+P, then Resume, continues it.", timeout=10)
        self.question.focus()

    def _busy(self) -> bool:
        if self.running:
            self.notify("A research is running: wait for it, or press Esc to cancel it.", severity="warning")
        return self.running

    def action_search_sessions(self) -> None:
        self.query_one("#session-search").focus()

    def action_focus_question(self) -> None:
        self.question.focus()

    def action_rename_session(self) -> None:
        if self.session_id:
            self._rename(self.session_id)

    def action_delete_session(self) -> None:
        if self.session_id:
            self._delete(self.session_id)

    def on_sessions_panel_action(self, message: SessionsPanel.Action) -> None:
        if message.action == "rename":
            self._rename(message.session_id)
        elif message.action == "delete":
            self._delete(message.session_id)

    def _rename(self, session_id: str) -> None:
        title = self.service.store.get_session(session_id).title

        async def done(value: str | None) -> None:
            if value:
                self.service.rename(session_id, value)
                await self.sessions.reload(self.session_id)

        self.app.push_screen(PromptModal("Rename the session", title), done)

    def _delete(self, session_id: str) -> None:
        if self.running and session_id == self.session_id:
            self.notify("This session is running: cancel the run first (Esc).", severity="warning")
            return
        title = self.service.store.get_session(session_id).title

        async def done(yes: bool | None) -> None:
            if not yes:
                return
            self.service.delete(session_id)
            if session_id == self.session_id:
                await self.action_new_session()
            else:
                await self.sessions.reload(self.session_id)
            self.notify(f"Deleted {title!r}.")

        question = f"Delete {title!r} with all its runs?"
        self.app.push_screen(ConfirmModal("Delete the session", question, "Delete"), done)
