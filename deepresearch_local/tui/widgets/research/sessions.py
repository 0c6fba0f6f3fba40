"""The sessions column: search, pick, rename and delete past research."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

from textual import events
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.content import Content
from textual.message import Message
from textual.widgets import Input, Label, ListItem, ListView

from deepresearch_local.store.records import SessionInfo

ENDINGS = {
    None: "",
    "answer": "answered",
    "forced_answer": "answered at a limit",
    "loop_forced_answer": "answered",
    "cancelled": "cancelled",
    "error": "failed",
}


def describe(info: SessionInfo) -> str:
    questions = f"{info.questions} question" + ("s" if info.questions != 1 else "")
    ending = ENDINGS.get(info.last_termination, (info.last_termination or "").replace("_", " "))
    return f"{questions} · {ending}" if ending else questions


class SessionItem(ListItem):
    def __init__(self, info: SessionInfo) -> None:
        super().__init__(
            Label(Content(info.title or "Untitled research"), classes="session-title"),
            Label(Content(describe(info)), classes="session-meta"),
        )
        self.info = info


class SessionsPanel(Vertical):
    """``load(search)`` gives the sessions to list (newest first)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("delete", "delete", "Delete session", show=False),
    ]

    @dataclass
    class Chosen(Message):
        session_id: str

    @dataclass
    class Action(Message):
        """Rename or delete was asked for on the highlighted session."""

        action: str
        session_id: str

    def __init__(self, load: Callable[[str], list[SessionInfo]], *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.load = load
        self.current: str | None = None
        self._reloading = asyncio.Lock()
        self.border_title = "Sessions"

    def compose(self) -> ComposeResult:
        yield Input(placeholder="Search sessions", id="session-search")
        yield ListView(id="session-list")

    @property
    def list_view(self) -> ListView:
        return self.query_one("#session-list", ListView)

    @property
    def query_text(self) -> str:
        return self.query_one("#session-search", Input).value

    async def reload(self, current: str | None = None) -> None:
        """List the sessions matching the search box, highlighting ``current``."""
        async with self._reloading:  # the screen and the search box may both ask at once
            self.current = current
            sessions = self.load(self.query_text.strip())
            view = self.list_view
            await view.clear()
            await view.extend([SessionItem(info) for info in sessions])
            ids = [info.id for info in sessions]
            view.index = ids.index(current) if current in ids else None
            self.border_title = f"Sessions ({len(sessions)})"

    @property
    def ids(self) -> list[str]:
        return [item.info.id for item in self.list_view.query(SessionItem)]

    async def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        await self.reload(self.current)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.list_view.focus()

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        """Arriving in the list (Tab, or Enter in the search box): the first session is ready for Enter."""
        view = self.list_view
        if event.widget is view and view.index is None and view.children:
            view.index = 0

    def on_list_view_selected(self, event: ListView.Selected) -> None:
        event.stop()
        if isinstance(event.item, SessionItem):
            self.post_message(self.Chosen(event.item.info.id))

    def _highlighted(self) -> str | None:
        item = self.list_view.highlighted_child
        return item.info.id if isinstance(item, SessionItem) else None

    def action_delete(self) -> None:
        session_id = self._highlighted()
        if session_id:
            self.post_message(self.Action("delete", session_id))

    def action_rename(self) -> None:
        session_id = self._highlighted()
        if session_id:
            self.post_message(self.Action("rename", session_id))
