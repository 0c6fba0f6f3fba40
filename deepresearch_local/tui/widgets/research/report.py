"""The report pane: the working report of fold mode as it evolves, then the final cited report."""

from __future__ import annotations

import re

from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Markdown
from textual.widgets.markdown import MarkdownStream

TAGS = re.compile(r"</?(?:report|answer)>")
EMPTY = "_The report appears here as the research goes._"


class ReportView(VerticalScroll):
    """``show`` replaces the report; ``stream`` appends text the model is writing right now."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.markdown = ""
        """The report shown (the last complete one; "" before any)."""
        self._stream: MarkdownStream | None = None
        self._stream_kind = ""

    def compose(self) -> ComposeResult:
        yield Markdown(EMPTY, id="report-markdown")

    @property
    def view(self) -> Markdown:
        return self.query_one("#report-markdown", Markdown)

    async def show(self, markdown: str) -> None:
        await self._stop()
        self.markdown = markdown
        await self.view.update(markdown or EMPTY)

    async def stream(self, kind: str, text: str) -> None:
        """Text of kind "report" or "answer" as the model writes it (shown until the next ``show``)."""
        text = TAGS.sub("", text)
        if not text:
            return
        if self._stream is None or kind != self._stream_kind:
            await self._stop()
            await self.view.update("")
            self._stream = Markdown.get_stream(self.view)
            self._stream_kind = kind
            self.border_subtitle = "the answer, being written" if kind == "answer" else "being written"
        await self._stream.write(text)
        self.scroll_end(animate=False)

    @property
    def streaming(self) -> bool:
        return self._stream is not None

    async def settle(self, note: str) -> None:
        """The run ended while text was being written (cancelled, failed): keep it, say so."""
        await self._stop()
        self.border_subtitle = note

    async def _stop(self) -> None:
        if self._stream is not None:
            stream, self._stream = self._stream, None
            self._stream_kind = ""
            self.border_subtitle = ""
            await stream.stop()

    async def reset(self) -> None:
        await self.show("")
