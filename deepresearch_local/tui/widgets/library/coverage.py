"""The coverage report of one folder: every file, indexed, skipped or failed, and why."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import DataTable, Label

from deepresearch_local.library.coverage import breakdown_line
from deepresearch_local.tui.widgets.table_fill import refill

if TYPE_CHECKING:
    from deepresearch_local.library import FileRecord

FILTERS = ("all", "failed", "skipped", "indexed")
EMPTY = "The library is empty: a adds a folder of documents."
STATUS_STYLE = {"indexed": "green", "skipped": "yellow", "failed": "bold red"}


def coverage_summary(records: list[FileRecord]) -> str:
    """``12 of 15 files indexed, 2 skipped, 1 failed`` and, when files were skipped, why in groups
    (``Skipped: 451 duplicates, 2 generated files``), as ``docs coverage`` prints it."""
    counts = {s: sum(r.status == s for r in records) for s in ("indexed", "skipped", "failed")}
    line = (
        f"{counts['indexed']} of {len(records)} files indexed, "
        f"{counts['skipped']} skipped, {counts['failed']} failed"
    )
    groups = breakdown_line(records)
    return f"{line}. {groups}" if groups else line


class CoverageView(Vertical):
    """A summary line and a table; ``cycle_filter`` narrows it to failed, skipped or indexed files."""

    DEFAULT_CSS = """
    CoverageView { height: 1fr; }
    CoverageView > #coverage-summary { padding: 0 1; height: auto; }
    CoverageView > DataTable { height: 1fr; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.records: list[FileRecord] = []
        self.filter = "all"
        self.folder: str | None = None

    def compose(self) -> ComposeResult:
        yield Label("", id="coverage-summary", markup=False)
        yield DataTable[str | Text](id="coverage-table", cursor_type="row", zebra_stripes=True)

    @property
    def table(self) -> DataTable[str | Text]:
        return self.query_one("#coverage-table", DataTable)

    def on_mount(self) -> None:
        self._render_rows()

    def show(self, folder: str | None, records: list[FileRecord]) -> None:
        self.folder, self.records = folder, records
        self._render_rows()

    def cycle_filter(self) -> str:
        self.filter = FILTERS[(FILTERS.index(self.filter) + 1) % len(FILTERS)]
        self._render_rows()
        return self.filter

    def shown(self) -> list[FileRecord]:
        return [r for r in self.records if self.filter == "all" or r.status == self.filter]

    def _render_rows(self) -> None:
        rows = []
        for r in self.shown():
            chunks = f"{r.chunks} chunk{'' if r.chunks == 1 else 's'}"
            why = r.reason or chunks
            if r.status == "indexed" and r.reason:
                why = f"{chunks}; {r.reason}"
            rows.append((r.path, (Text(r.status, style=STATUS_STYLE.get(r.status, "")), r.rel, why)))
        refill(self.table, (("status", "status"), ("file", "file"), ("reason", "why / chunks")), rows)
        summary = coverage_summary(self.records) if self.folder else EMPTY
        if self.folder and self.filter != "all":
            summary += f" (showing {self.filter} files: f shows more)"
        label = self.query_one("#coverage-summary", Label)
        label.update(f"{self.folder}: {summary}" if self.folder else summary)
