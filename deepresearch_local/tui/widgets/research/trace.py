"""The live trace of a run: each step, its thinking (folded), each tool call with its arguments,
and each result as a one-line summary that unfolds into the full observation."""

from __future__ import annotations

import json
import re

from textual.containers import VerticalScroll
from textual.markup import escape
from textual.widget import Widget
from textual.widgets import Collapsible, Static

from deepresearch_local.agent.events import (
    AgentEvent,
    AnswerReady,
    Cancelled,
    ErrorEvent,
    Notice,
    ReportReady,
    RunFinished,
    RunStarted,
    StepStarted,
    TokenDelta,
    ToolCalled,
    ToolResulted,
)

TAGS = re.compile(r"</?(?:think|tool_call|answer|report|code|summary)>")
HINT = "Each step of a research shows up here: the model's thinking, the searches it runs, what it reads."
SHOWN_CHARS = 6000
"""A result shows at most this much; the session keeps all of it."""


def arguments_text(arguments: dict[str, object]) -> str:
    code = arguments.get("code")
    rest = {k: v for k, v in arguments.items() if k != "code"}
    text = json.dumps(rest, ensure_ascii=False) if rest else ""
    if isinstance(code, str):
        text = (text + "\n" if text else "") + code
    return text


def cut(text: str, limit: int = SHOWN_CHARS) -> str:
    return text if len(text) <= limit else text[:limit] + f"\n… ({len(text) - limit:,} more characters)"


class Thinking(Collapsible):
    """The model's thinking for one step, folded by default; grows as tokens stream in."""

    def __init__(self) -> None:
        self.body = Static("", markup=False, classes="thinking-text")
        super().__init__(self.body, title="thinking…", collapsed=True, classes="trace-thinking")
        self.text = ""

    def add(self, text: str) -> None:
        self.text += TAGS.sub("", text)
        self.body.update(self.text.strip())
        words = len(self.text.split())
        self.title = f"thinking ({words} word{'s' if words != 1 else ''})"


class TraceView(VerticalScroll):
    """Feed it agent events with ``add``; it keeps following the newest entry unless scrolled up."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._thinking: Thinking | None = None
        self.entries = 0

    def on_mount(self) -> None:
        self._hint()

    def _hint(self) -> None:
        self.mount(Static(HINT, classes="trace-hint", markup=False))

    def clear(self) -> None:
        self._thinking = None
        self.entries = 0
        self.remove_children()
        self._hint()

    def _mount(self, widget: Widget) -> None:
        follow = self.scroll_y >= self.max_scroll_y - 1
        self.query(".trace-hint").remove()
        self.mount(widget)
        self.entries += 1
        if follow:
            self.call_after_refresh(self.scroll_end, animate=False)

    def _line(self, text: str, classes: str) -> None:
        self._mount(Static(text, markup=False, classes=f"trace-line {classes}"))

    def add(self, event: AgentEvent) -> None:
        if isinstance(event, RunStarted):
            what = "Resuming" if event.resumed else "Question"
            self._line(f"{what}: {event.question}", "trace-question")
        elif isinstance(event, StepStarted):
            self._thinking = None
            self._line(f"Step {event.step} of {event.max_steps}", "trace-step")
        elif isinstance(event, TokenDelta):
            if event.kind in ("thinking", "text") and TAGS.sub("", event.text):
                if self._thinking is None:
                    self._thinking = Thinking()
                    self._mount(self._thinking)
                self._thinking.add(event.text)
        elif isinstance(event, ToolCalled):
            self._thinking = None
            args = arguments_text(event.arguments)
            self._line(f"▶ {event.name} {args}", "trace-call")
        elif isinstance(event, ToolResulted):
            mark = "✗" if event.error else "✓"
            body = Static(cut(event.text) or "(empty result)", markup=False, classes="result-text")
            title = escape(f"{mark} {event.summary or event.name}")
            classes = "trace-result trace-error" if event.error else "trace-result"
            self._mount(Collapsible(body, title=title, collapsed=True, classes=classes))
        elif isinstance(event, Notice):
            self._line(f"• {event.message}", "trace-notice")
        elif isinstance(event, AnswerReady):
            self._thinking = None
            self._line("Answered; writing the report…", "trace-answer")
        elif isinstance(event, ReportReady):
            self._line(f"Report ready: {event.citations} sources cited.", "trace-answer")
        elif isinstance(event, ErrorEvent):
            self._line(f"Error: {event.message}", "trace-error")
        elif isinstance(event, Cancelled):
            self._line("Cancelled: the steps so far are kept in the session.", "trace-notice")
        elif isinstance(event, RunFinished):
            self._line(
                f"Finished ({event.termination}): {event.steps} steps, {event.llm_calls} model calls.",
                "trace-finished",
            )
