"""The tools one run gets: the web tools unless offline, the local library, and the Python sandbox.

Tool names and schemas are the ones Tongyi was trained on (``search``, ``google_scholar``,
``visit``, ``PythonInterpreter``, ``parse_file``) plus ``local_search`` and ``local_read``. An
offline run never declares the web tools, so the model only sees what it can use.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from deepresearch_local.tools.base import ToolRegistry

if TYPE_CHECKING:
    from deepresearch_local.library import Library
    from deepresearch_local.library.model import IndexReport, Progress, ProgressCallback


@dataclass(frozen=True)
class IndexNote:
    """Indexing a run's folders: one file handled (``finished`` False), or a folder done."""

    folder: Path
    done: int = 0
    total: int = 0
    current: str = ""
    finished: bool = False
    indexed: int = 0
    skipped: int = 0
    failed: int = 0


IndexCallback = Callable[[IndexNote], None]


def _notes(
    folder: Path, on_index: IndexCallback | None
) -> tuple[ProgressCallback, Callable[[IndexReport], None]]:
    """The indexer's progress and its final report for ``folder``, told to ``on_index`` as notes."""

    def each(event: Progress) -> None:
        if on_index is not None:
            on_index(IndexNote(folder, event.done, event.total, event.rel))

    def done(report: IndexReport) -> None:
        if on_index is not None:
            on_index(IndexNote(folder, finished=True, indexed=report.indexed, skipped=report.skipped,
                               failed=report.failed))  # fmt: skip

    return each, done


def index_folders(docs: Sequence[Path], library: Library, on_index: IndexCallback | None = None) -> None:
    """Add ``docs`` to ``library`` (incremental: unchanged files are skipped)."""
    for folder in docs:
        each, done = _notes(folder, on_index)
        done(library.add(folder, on_progress=each))


def catch_up_library(library: Library, on_index: IndexCallback | None = None) -> None:
    """Read again, with progress, the folders an upgrade of the index marked, before the run starts
    (else the first library search of the run would do it, silently, inside a tool call), and
    bring the kept postings of common words up to date."""
    roots = {info.name: Path(info.root) for info in library.folders()}
    for name in library.upgrade_pending():
        folder = roots[name]
        if not folder.is_dir():
            continue
        each, done = _notes(folder, on_index)
        for report in library.catch_up(each, only=name):
            done(report)
    if roots:  # a library indexed before common words were kept gets them now, once, with progress
        each, _ = _notes(library.store.path, on_index)
        library.prepare_search(each)


def _prepare_library(library: Library, docs: Sequence[Path], on_index: IndexCallback | None) -> None:
    """Folders an upgrade marked read again first (so a marked folder in ``docs`` is read once),
    then ``docs`` added."""
    catch_up_library(library, on_index)
    index_folders(docs, library, on_index)


def library_has_folders() -> bool:
    from deepresearch_local.library import Library
    from deepresearch_local.paths import get_paths

    if not get_paths().library_db.exists():
        return False
    with Library() as library:
        return bool(library.folders())


def build_tools(
    offline: bool,
    docs: Sequence[Path] = (),
    *,
    search_region: str = "auto",
    python: bool = True,
    library: Library | None = None,
    on_index: IndexCallback | None = None,
) -> ToolRegistry:
    """Index ``docs`` into the library (the user's, or ``library``), then declare every tool this
    run can use; ``on_index`` hears how indexing goes."""
    registry = ToolRegistry()
    if not offline:
        from deepresearch_local.tools.search import ScholarTool, SearchSettings, WebSearchTool
        from deepresearch_local.tools.visit import VisitTool

        registry.register(WebSearchTool(SearchSettings(region=search_region)))
        registry.register(ScholarTool(SearchSettings(region=search_region)))
        registry.register(VisitTool())
    if docs or (library is None and library_has_folders()):
        from deepresearch_local.tools.local import local_tools

        if library is not None:
            _prepare_library(library, docs, on_index)
        else:
            from deepresearch_local.library import Library

            with Library() as own:
                _prepare_library(own, docs, on_index)
        for tool in local_tools(library):
            registry.register(tool)
    if python:
        from deepresearch_local.tools.python_sandbox import PythonInterpreter

        registry.register(PythonInterpreter())
    return registry
