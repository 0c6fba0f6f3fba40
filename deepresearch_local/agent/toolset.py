"""The tools one run gets: the web tools unless offline, the local library, and the Python sandbox.

Tool names and schemas are the ones Tongyi was trained on (``search``, ``google_scholar``,
``visit``, ``PythonInterpreter``, ``parse_file``) plus ``local_search`` and ``local_read``. An
offline run never declares the web tools, so the model only sees what it can use.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from deepresearch_local.tools.base import ToolRegistry


def index_folders(docs: Sequence[Path], quiet: bool = False) -> None:
    """Add ``docs`` to the library (incremental: unchanged files are skipped), with progress."""
    if not docs:
        return
    from deepresearch_local.library import Library, Progress

    def show(event: Progress) -> None:
        if not quiet:
            print(f"\r  indexing [{event.done}/{event.total}] {event.rel[:60]:<60}", end="", file=sys.stderr)

    with Library() as library:
        for folder in docs:
            report = library.add(folder, on_progress=show)
            if not quiet:
                print(
                    f"\r  {folder}: {report.indexed} indexed, {report.skipped} skipped, "
                    f"{report.failed} failed{' ' * 30}",
                    file=sys.stderr,
                )


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
    args: argparse.Namespace | None = None,
    *,
    python: bool = True,
    progress: Callable[[str], None] | None = None,
) -> ToolRegistry:
    """Index ``docs`` into the library, then declare every tool this run can use."""
    registry = ToolRegistry()
    if not offline:
        from deepresearch_local.tools.search import ScholarTool, SearchSettings, WebSearchTool
        from deepresearch_local.tools.visit import VisitTool

        region = getattr(args, "search_region", None) or "auto"
        registry.register(WebSearchTool(SearchSettings(region=region)))
        registry.register(ScholarTool(SearchSettings(region=region)))
        registry.register(VisitTool())
    index_folders(docs, quiet=bool(args is not None and getattr(args, "json", False)))
    if docs or library_has_folders():
        from deepresearch_local.tools.local import local_tools

        for tool in local_tools():
            registry.register(tool)
    if python:
        from deepresearch_local.tools.python_sandbox import PythonInterpreter

        registry.register(PythonInterpreter())
    return registry
