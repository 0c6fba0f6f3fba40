"""The library screen over the real library database: add a folder, watch it index, read the
coverage with the reasons files were skipped or failed, filter it, try a search and open a hit,
re-index after a change, remove the folder."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from textual.widgets import Label, OptionList, TextArea

from deepresearch_local.library import Library
from deepresearch_local.tui.modals.error import ErrorModal
from deepresearch_local.tui.modals.source_viewer import SourceViewer
from deepresearch_local.tui.screens.library import LibraryScreen
from deepresearch_local.tui.widgets.library.coverage import CoverageView
from deepresearch_local.tui.widgets.library.folders import FolderTable, IndexProgress
from deepresearch_local.tui.widgets.library.search import SearchPane
from deepresearch_local.tui.widgets.path_bar import PathBar
from tests.tui.screens.host import Host, until
from tests.tui.snapshot import SIZE


def make_docs(root: Path) -> Path:
    docs = root / "docs"
    (docs / "guide").mkdir(parents=True)
    (docs / "guide" / "install.md").write_text(
        "# Installing\n\nRun the installer.\n\n## Tuning\n\nSet the flux capacitor to 88 before starting.\n"
    )
    (docs / "notes.txt").write_text("Meeting notes: the quarterly review moved to Thursday.\n")
    (docs / "empty.txt").write_text("")
    (docs / "photo.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(64))
    (docs / "broken.pdf").write_bytes(b"%PDF-1.4\nthis is not really a pdf\n")
    return docs


def _rows(view: CoverageView) -> list[tuple[str, str, str]]:
    table = view.table
    return [tuple(str(c) for c in table.get_row_at(i)) for i in range(table.row_count)]  # type: ignore[misc]


def test_add_a_folder_index_coverage_search_reindex_remove(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))  # paths show as ~/docs
    docs = make_docs(tmp_path)

    async def scenario() -> None:
        app = Host(LibraryScreen)
        async with app.run_test(size=SIZE) as pilot:
            screen = app.screen
            folders = screen.query_one(FolderTable)
            coverage = screen.query_one(CoverageView)
            await pilot.pause()
            assert folders.row_count == 0
            summary = coverage.query_one("#coverage-summary", Label)
            assert str(summary.render()) == "The library is empty: a adds a folder of documents."

            await pilot.press("a")
            bar = screen.query_one(PathBar)
            assert bar.input.has_focus
            bar.input.value = "~/docs"
            await pilot.press("enter")
            await until(pilot, lambda: folders.row_count == 1 and not screen.indexing, what="indexing")
            with Library() as lib:
                (info,) = lib.folders()
                records = lib.coverage("docs")
            assert (info.name, info.root, info.indexed, info.skipped, info.failed) == (
                "docs",
                str(docs),
                2,
                2,
                1,
            )
            cells = [str(c) for c in folders.get_row("docs")]
            assert cells == ["docs", "2", "2", "1", str(info.chunks), "just now"]
            assert str(screen.query_one("#folder-root").render()) == "~/docs"
            progress = str(screen.query_one(IndexProgress).query_one("#index-title", Label).render())
            assert progress == f"docs: 2 indexed, 2 skipped, 1 failed (5 files, {info.chunks} chunks)"
            await until(pilot, lambda: coverage.folder == "docs", what="coverage")
            assert str(summary.render()) == (
                "docs: 2 of 5 files indexed, 2 skipped, 1 failed. "
                "Skipped: 1 empty or no text, 1 unsupported or binary"
            )
            by_file = {rel: (status, why) for status, rel, why in _rows(coverage)}
            assert (
                set(by_file)
                == {r.rel for r in records}
                == {
                    "broken.pdf",
                    "empty.txt",
                    "guide/install.md",
                    "notes.txt",
                    "photo.png",
                }
            )
            assert by_file["empty.txt"] == ("skipped", "empty file")
            assert by_file["photo.png"] == ("skipped", "unsupported type .png (binary format)")
            broken = next(r for r in records if r.rel == "broken.pdf")
            assert by_file["broken.pdf"] == ("failed", broken.reason) and broken.reason
            install = next(r for r in records if r.rel == "guide/install.md")
            assert install.chunks == 1 and by_file["guide/install.md"] == ("indexed", "1 chunk")

            await pilot.press("f")  # only the failed files
            assert _rows(coverage) == [("failed", "broken.pdf", broken.reason)]
            assert str(summary.render()).endswith("(showing failed files: f shows more)")
            for _ in range(3):
                await pilot.press("f")
            assert len(_rows(coverage)) == 5

            await pilot.press("slash")
            search = screen.query_one(SearchPane)
            assert search.input.has_focus
            search.input.value = "flux capacitor setting"
            await pilot.press("enter")
            await until(pilot, lambda: search.hits, what="search hits")
            with Library() as lib:
                expected = lib.search("flux capacitor setting", k=10)
            assert [(h.path, str(h.location)) for h in search.hits] == [
                (h.path, str(h.location)) for h in expected
            ]
            assert search.hits[0].path == str(docs / "guide" / "install.md")
            options = search.query_one(OptionList)
            assert str(options.get_option_at_index(0).prompt).startswith(
                f"1. ~/docs/guide/install.md:{search.hits[0].location}  (score "
            )
            options.focus()
            options.highlighted = 0
            await pilot.press("enter")
            await until(pilot, lambda: isinstance(app.screen, SourceViewer), what="the passage")
            assert "flux capacitor to 88" in app.screen.query_one(TextArea).text
            await pilot.press("escape")
            await until(pilot, lambda: app.screen is screen, what="the viewer to close")

            (docs / "notes.txt").write_text("")  # now empty: skipped on re-index
            folders.focus()
            await pilot.press("r")
            await until(pilot, lambda: not screen.indexing and folders.get_row("docs")[1] == "1")
            assert [str(c) for c in folders.get_row("docs")][1:4] == ["1", "3", "1"]

            await pilot.press("x")
            await until(pilot, lambda: app.screen is not screen, what="the confirmation")
            await pilot.press("y")
            await until(pilot, lambda: folders.row_count == 0, what="the removal")
        assert app.errors == []

    asyncio.run(scenario())
    with Library() as lib:
        assert lib.folders() == []
    assert (docs / "guide" / "install.md").exists()  # the files themselves are untouched


def test_adding_something_that_is_not_a_folder_reports_why(tmp_path: Path) -> None:
    async def scenario() -> None:
        app = Host(LibraryScreen)
        async with app.run_test(size=SIZE) as pilot:
            screen = app.screen
            await pilot.press("a")
            screen.query_one(PathBar).input.value = str(tmp_path / "nowhere")
            await pilot.press("enter")
            await until(pilot, lambda: not screen.indexing, what="the failure")
            title = str(screen.query_one(IndexProgress).query_one("#index-title", Label).render())
            assert title == f"Not indexed: {why}"
        assert [str(e) for e in app.errors] == [why]  # the app's error handler shows it

    why = f"{tmp_path / 'nowhere'} is not a folder. Give the path of a folder of documents."

    asyncio.run(scenario())


def test_in_the_app_a_failed_add_opens_the_error_modal(tmp_path: Path) -> None:
    from tests.tui.app_support import Gate, make_app, make_service

    async def scenario() -> None:
        app = make_app(make_service(Gate())[0])
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("f4")
            await until(pilot, lambda: isinstance(app.screen, LibraryScreen), what="the library")
            screen = app.screen
            await pilot.press("a")
            screen.query_one(PathBar).input.value = str(tmp_path / "nowhere")
            await pilot.press("enter")
            await until(pilot, lambda: isinstance(app.screen, ErrorModal), what="the error modal")
            modal = app.screen
            assert isinstance(modal, ErrorModal)
            assert (modal.error_title, modal.message) == (
                "Library problem",
                f"{tmp_path / 'nowhere'} is not a folder. Give the path of a folder of documents.",
            )
            await pilot.press("escape")
            await until(pilot, lambda: app.screen is screen, what="the modal to close")
            assert app.is_running and not screen.indexing

    asyncio.run(scenario())
