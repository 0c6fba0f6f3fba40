"""The library's folders with their counts, and the indexing progress line."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.coordinate import Coordinate
from textual.widgets import DataTable, Label, ProgressBar

from deepresearch_local.tui.widgets.table_fill import refill

if TYPE_CHECKING:
    from deepresearch_local.library import FolderInfo, IndexReport, Progress


def ago(stamp: float | None, now: float | None = None) -> str:
    """``just now``, ``5 min ago``, ``3 h ago``, ``2 days ago``; ``never`` for None."""
    if stamp is None:
        return "never"
    seconds = max(0.0, (now if now is not None else time.time()) - stamp)
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return f"{int(seconds // 60)} min ago"
    if seconds < 86400:
        return f"{int(seconds // 3600)} h ago"
    days = int(seconds // 86400)
    return f"{days} day{'s' if days > 1 else ''} ago"


FOLDER_COLUMNS = ("folder", "indexed", "skipped", "failed", "chunks", "indexed when")


class FolderTable(DataTable[str | Text]):
    """One row per library folder: what got indexed, skipped and failed."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=True)
        self.folders: dict[str, FolderInfo] = {}

    def on_mount(self) -> None:
        self.show([])

    def show(self, folders: list[FolderInfo]) -> None:
        keep = self.selected_name()
        self.folders = {f.name: f for f in folders}
        rows = [
            (
                f.name,
                (
                    f.name,
                    str(f.indexed),
                    str(f.skipped),
                    Text(str(f.failed), style="bold red" if f.failed else ""),
                    str(f.chunks),
                    ago(f.indexed_at),
                ),
            )
            for f in folders
        ]
        refill(self, [(name, name) for name in FOLDER_COLUMNS], rows)
        if keep in self.folders:
            self.move_cursor(row=self.get_row_index(keep))

    def selected_name(self) -> str | None:
        if not self.folders or not 0 <= self.cursor_row < self.row_count:
            return None
        key = self.coordinate_to_cell_key(Coordinate(self.cursor_row, 0)).row_key.value
        return str(key) if key is not None else None

    def selected(self) -> FolderInfo | None:
        name = self.selected_name()
        return self.folders.get(name) if name else None

    def select(self, name: str) -> None:
        if name in self.folders:
            self.move_cursor(row=self.get_row_index(name))


class IndexProgress(Vertical):
    """``[12/40] indexed guide/install.md (5 chunks)`` over a progress bar; hidden when idle."""

    DEFAULT_CSS = """
    IndexProgress { height: auto; display: none; padding: 0 1; }
    IndexProgress ProgressBar { width: 1fr; }
    IndexProgress ProgressBar Bar { width: 1fr; }
    """

    def compose(self) -> ComposeResult:
        yield Label("", id="index-title", markup=False)
        yield ProgressBar(show_eta=False)
        yield Label("", id="index-file", markup=False)

    def begin(self, title: str) -> None:
        self.display = True
        self.query_one("#index-title", Label).update(title)
        self.query_one("#index-file", Label).update("listing files…")
        self.query_one(ProgressBar).update(total=None, progress=0)

    def step(self, p: Progress) -> None:
        self.query_one(ProgressBar).update(total=max(p.total, 1), progress=p.done)
        line = f"[{p.done}/{p.total}] {p.status} {p.rel}"
        if p.status == "indexed":
            line += f" ({p.chunks} chunks)"
        if p.reason:
            line += f": {p.reason}"
        self.query_one("#index-file", Label).update(line)

    def embedding(self, done: int, total: int, model: str) -> None:
        """Second phase: passages embedded for search by meaning."""
        self.query_one("#index-title", Label).update(f"Embedding passages for search by meaning ({model})…")
        self.query_one(ProgressBar).update(total=max(total, 1), progress=done)
        self.query_one("#index-file", Label).update(f"[{done}/{total}] passages")

    def downloading(self, done: int, total: int, model: str) -> None:
        """A model download (the embedding model chosen in first-run setup)."""
        from deepresearch_local.units import human_bytes

        self.query_one("#index-title", Label).update(f"Downloading {model} for search by meaning…")
        self.query_one(ProgressBar).update(total=max(total, 1), progress=done)
        self.query_one("#index-file", Label).update(f"{human_bytes(done)} of {human_bytes(total)}")

    def end(self, report: IndexReport | None, message: str) -> None:
        self.query_one("#index-title", Label).update(message)
        if report is not None:
            self.query_one(ProgressBar).update(total=max(report.files, 1), progress=max(report.files, 1))
        self.query_one("#index-file", Label).update("")
