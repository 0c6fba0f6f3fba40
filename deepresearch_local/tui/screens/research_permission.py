"""Questions a run asks the user while it works: the research screen's answer to ``ToolContext.confirm``.

A tool calls it in the run's worker thread (``visit`` for a URL the model composed after local
documents were read, PythonInterpreter where no OS sandbox holds). The question goes to the UI
thread as a message, which shows a :class:`PermissionModal`; the worker waits for the answer, or
for the run to be cancelled (Esc in the modal, the palette, quitting), which counts as a no.
Nothing here blocks the UI thread, so a closing app never waits on a worker.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from textual.message import Message

from deepresearch_local.engines.base import CancelToken
from deepresearch_local.tui.modals.permission import PermissionModal
from deepresearch_local.tui.screens.research_report import ReportActions

POLL_SECONDS = 0.1
"""How often a waiting worker looks at the run's cancel token."""


@dataclass
class PermissionAsked(Message):
    """Posted by the worker: show ``question`` and put the user's answer in ``answer``."""

    question: str
    answered: threading.Event = field(default_factory=threading.Event)
    answer: bool | None = None
    """True: allowed; False: refused; None: the user cancelled the run."""
    modal: PermissionModal | None = None


@dataclass
class PermissionWithdrawn(Message):
    """Posted by the worker when the run was cancelled while its question was open."""

    request: PermissionAsked


class PermissionPrompts(ReportActions):
    """The research screen's part that asks the user for permission on a run's behalf."""

    def ask_user(self, question: str, cancel: CancelToken) -> bool:
        """Worker thread: ask ``question`` in a modal and wait; False when refused or cancelled."""
        if cancel.cancelled:
            return False
        request = PermissionAsked(question)
        self.post_message(request)
        while not request.answered.wait(POLL_SECONDS):
            if cancel.cancelled:
                self.post_message(PermissionWithdrawn(request))
                return False
        return request.answer is True and not cancel.cancelled

    def on_permission_asked(self, request: PermissionAsked) -> None:
        def done(answer: bool | None) -> None:
            if request.answered.is_set():
                return
            request.answer = answer
            request.answered.set()
            if answer is None:
                self.action_cancel_run()

        request.modal = PermissionModal(request.question)
        self.app.push_screen(request.modal, done)

    def on_permission_withdrawn(self, message: PermissionWithdrawn) -> None:
        modal = message.request.modal
        message.request.answered.set()  # a late click on the modal no longer counts
        if modal is not None and self.app.screen is modal:
            modal.dismiss(False)

    def action_cancel_run(self) -> None:
        """Stop the run in progress (the research screen defines it)."""
        raise NotImplementedError
