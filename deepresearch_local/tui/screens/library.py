"""The library screen: folders with counts, indexing progress, coverage with the reasons files
failed, add / remove / re-index, and a search box to try queries.

Everything goes through ``deepresearch_local.library.Library`` (what ``deepresearch docs`` uses),
in thread workers; this screen only shows the results.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Label, Static, TabbedContent, TabPane

from deepresearch_local.tui.commands import register
from deepresearch_local.tui.widgets.library.coverage import CoverageView
from deepresearch_local.tui.widgets.library.folders import FolderTable, IndexProgress
from deepresearch_local.tui.widgets.library.search import SearchPane
from deepresearch_local.tui.widgets.path_bar import PathBar, short_path

if TYPE_CHECKING:
    from deepresearch_local.library import FileRecord, FolderInfo, Hit, IndexReport, Library, Progress

for _action, _title, _help in (
    ("add_folder", "Library: add a folder", "Index a folder of documents for research"),
    ("reindex", "Library: re-index the selected folder", "Only new or changed files are read"),
    ("remove_folder", "Library: remove the selected folder", "Forget its index; the files stay"),
    ("cycle_filter", "Library: show failed / skipped / indexed files", "Filter the coverage report"),
    ("search", "Library: try a search", "See what the agent's local search finds"),
    ("stop_indexing", "Library: stop indexing", "What was indexed so far is kept"),
):
    register("library", _title, _help, _action)


class LibraryScreen(Screen[None]):
    """Your folders of documents, what got indexed and why not, and a search to try them."""

    DEFAULT_CSS = """
    LibraryScreen .section { text-style: bold; padding: 0 1; }
    LibraryScreen FolderTable { height: auto; max-height: 9; }
    LibraryScreen #folder-root { padding: 0 1; height: auto; color: $text-muted; margin-bottom: 1; }
    LibraryScreen TabbedContent { height: 1fr; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("a", "add_folder", "Add folder"),
        Binding("r", "reindex", "Re-index"),
        Binding("delete,x", "remove_folder", "Remove"),
        Binding("f", "cycle_filter", "Filter"),
        Binding("slash", "search", "Search"),
        Binding("c", "stop_indexing", "Stop indexing", show=False),
    ]

    class Loaded(Message):
        def __init__(self, folders: list[FolderInfo], folder: str | None, records: list[FileRecord]) -> None:
            super().__init__()
            self.folders, self.folder, self.records = folders, folder, records

    class Indexed(Message):
        def __init__(self, folder: str | None, report: IndexReport | None, message: str) -> None:
            super().__init__()
            self.folder, self.report, self.message = folder, report, message

    class Step(Message):
        def __init__(self, progress: Progress) -> None:
            super().__init__()
            self.progress = progress

    class Embedded(Message):
        def __init__(self, done: int, total: int, model: str) -> None:
            super().__init__()
            self.done, self.total, self.model = done, total, model

    class Found(Message):
        def __init__(self, query: str, hits: list[Hit], empty: bool) -> None:
            super().__init__()
            self.query, self.hits, self.empty = query, hits, empty

    def __init__(self, *, name: str | None = None) -> None:
        super().__init__(name=name)
        self._library: Library | None = None
        self._opening = threading.Lock()
        self._stop = threading.Event()
        self.indexing = False

    def compose(self) -> ComposeResult:
        yield Header()
        yield Label("Folders", classes="section")
        yield FolderTable(id="folders")
        yield Static("", id="folder-root", markup=False)
        with TabbedContent(id="library-tabs"):
            with TabPane("Coverage", id="tab-coverage"):
                yield CoverageView(id="coverage")
            with TabPane("Search", id="tab-search"):
                yield SearchPane(id="search")
        yield IndexProgress(id="index-progress")
        yield PathBar("Add folder", "a folder of documents (sub-folders included)", id="add-folder")
        yield Footer()

    @property
    def library(self) -> Library:
        """The library database, opened by the first worker that needs it (one connection, locked)."""
        with self._opening:
            if self._library is None:
                from deepresearch_local.library import Library
                from deepresearch_local.library.embedding.configured import configured_embedder

                self._library = Library()
                self._library.use_embedder(configured_embedder(missing_ok=True))
            return self._library

    @property
    def folders(self) -> FolderTable:
        return self.query_one(FolderTable)

    def on_mount(self) -> None:
        self.folders.focus()
        self.refresh_folders()

    def on_unmount(self) -> None:
        self._stop.set()
        if self._library is not None and not self.indexing:
            self._library.close()

    # -- loading -----------------------------------------------------------------------------
    def refresh_folders(self, select: str | None = None) -> None:
        wanted = select or self.folders.selected_name()
        self.run_worker(lambda: self._load(wanted), thread=True, group="load", exclusive=True)

    def _load(self, wanted: str | None) -> None:
        folders = self.library.folders()
        names = [f.name for f in folders]
        name = wanted if wanted in names else (names[0] if names else None)
        records = self.library.coverage(name) if name else []
        self.post_message(self.Loaded(folders, name, records))
        if self.library.upgrade_pending():
            title = "Updating the index for this version (once)…"
            self.app.call_from_thread(self._start_indexing, title, upgrade=True)

    def on_library_screen_loaded(self, message: LibraryScreen.Loaded) -> None:
        self.folders.show(message.folders)
        if message.folder:
            self.folders.select(message.folder)
        self.query_one(CoverageView).show(message.folder, message.records)
        self._show_root(self.folders.selected())

    def _show_root(self, info: FolderInfo | None) -> None:
        self.query_one("#folder-root", Static).update(short_path(info.root) if info else "")

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.data_table is self.folders:
            info = self.folders.selected()
            self._show_root(info)
            if info is not None and info.name != self.query_one(CoverageView).folder:
                self.refresh_folders(info.name)

    # -- indexing ----------------------------------------------------------------------------
    def action_add_folder(self) -> None:
        self.query_one("#add-folder", PathBar).open()

    def on_path_bar_submitted(self, message: PathBar.Submitted) -> None:
        self.folders.focus()
        self._start_indexing(f"Adding {message.value}…", folder=message.value)

    def on_path_bar_closed(self, message: PathBar.Closed) -> None:
        self.folders.focus()

    def action_reindex(self) -> None:
        name = self.folders.selected_name()
        if name is None:
            self.notify("The library is empty: add a folder first (a).", severity="warning")
        else:
            self._start_indexing(f"Re-indexing {name}…", name=name)

    def _start_indexing(
        self, title: str, *, folder: str | None = None, name: str | None = None, upgrade: bool = False
    ) -> None:
        if self.indexing:
            if not upgrade:
                self.notify("Indexing is already running: wait for it, or stop it (c).", severity="warning")
            return
        self.indexing = True
        self._stop.clear()
        self.query_one(IndexProgress).begin(title)
        self.run_worker(lambda: self._index(folder, name, upgrade), thread=True, name="index")

    def _index(self, folder: str | None, name: str | None, upgrade: bool = False) -> None:
        def step(progress: Progress) -> None:
            self.post_message(self.Step(progress))

        try:
            if upgrade:
                reports = self.library.catch_up(step, should_stop=self._stop.is_set)
                if not reports:
                    self.post_message(self.Indexed(None, None, "The index is up to date."))
                    return
                report = reports[-1]
            elif folder is not None:
                report = self.library.add(folder, on_progress=step, should_stop=self._stop.is_set)
            else:
                report = self.library.reindex(name, on_progress=step, should_stop=self._stop.is_set)[0]
        except Exception as exc:
            self.post_message(self.Indexed(name, None, f"Not indexed: {exc}"))
            raise
        said = f"{report.folder}: {report.summary()} ({report.files} files, {report.chunks} chunks)"
        if report.notes:
            said += f"; {'; '.join(report.notes)}"
        said += self._embed()
        self.post_message(self.Indexed(report.folder, report, said))

    def _embed(self) -> str:
        """Embed the passages that have no vector yet (when an embedding model is set); what to add
        to the closing message. Stopping keeps what was embedded."""
        embedder = self.library.embedder
        if embedder is None or self._stop.is_set():
            return ""
        model = embedder.id

        def step(done: int, total: int) -> None:
            self.post_message(self.Embedded(done, total, model))

        try:
            made = self.library.embed_missing(embedder, step, should_stop=self._stop.is_set)
        except Exception as exc:  # the index is fine without vectors: say why search is keywords only
            return f"; not embedded ({exc}): search uses keywords"
        return f"; {made} passages embedded for search by meaning" if made else ""

    def on_library_screen_step(self, message: LibraryScreen.Step) -> None:
        self.query_one(IndexProgress).step(message.progress)

    def on_library_screen_embedded(self, message: LibraryScreen.Embedded) -> None:
        self.query_one(IndexProgress).embedding(message.done, message.total, message.model)

    def on_library_screen_indexed(self, message: LibraryScreen.Indexed) -> None:
        self.indexing = False
        self.query_one(IndexProgress).end(message.report, message.message)
        self.refresh_folders(message.folder)

    def action_stop_indexing(self) -> None:
        if self.indexing:
            self._stop.set()
            self.notify("Stopping after the current file; what was indexed is kept.")

    def action_remove_folder(self) -> None:
        info = self.folders.selected()
        if info is None:
            return
        if self.indexing:
            self.notify("Wait for the indexing to finish, or stop it (c).", severity="warning")
            return
        from deepresearch_local.tui.modals.confirm import ConfirmModal

        def done(yes: bool | None) -> None:
            if yes:
                removed = self.library.remove(info.name)
                self.notify(f"Removed {removed.name!r} from the library; its files were not touched.")
                self.refresh_folders()

        question = (
            f"Forget {info.name!r} ({short_path(info.root)}) and its index? The files stay where they are."
        )
        self.app.push_screen(ConfirmModal("Remove folder", question, "Remove"), done)

    def action_cycle_filter(self) -> None:
        self.query_one("#library-tabs", TabbedContent).active = "tab-coverage"
        shown = self.query_one(CoverageView).cycle_filter()
        self.notify(f"Showing {shown} files.", timeout=2)

    # -- search ------------------------------------------------------------------------------
    def action_search(self) -> None:
        self.query_one("#library-tabs", TabbedContent).active = "tab-search"
        self.query_one(SearchPane).input.focus()

    def on_search_pane_query(self, message: SearchPane.Query) -> None:
        def work() -> None:
            hits = self.library.search(message.text, k=10)
            self.post_message(self.Found(message.text, hits, not self.library.folders()))

        self.run_worker(work, thread=True, group="search", exclusive=True, name="search")

    def on_library_screen_found(self, message: LibraryScreen.Found) -> None:
        self.query_one(SearchPane).show(message.query, message.hits, message.empty)

    def on_search_pane_open(self, message: SearchPane.Open) -> None:
        hit = message.hit
        self.run_worker(lambda: self._open(hit), thread=True, name="read passage")

    def _open(self, hit: Hit) -> None:
        from deepresearch_local.session_replay import Source
        from deepresearch_local.tui.modals.source_viewer import SourceViewer

        source = Source(1, hit.path, str(hit.location), hit.title, "file")
        try:
            text, error = self.library.read(hit.path, str(hit.location)).rendered, ""
        except Exception as exc:  # a file moved since it was indexed: say so in the viewer
            text, error = "", str(exc)
        self.app.call_from_thread(self.app.push_screen, SourceViewer(source, text, error))
