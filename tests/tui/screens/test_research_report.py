"""The report of a run over a real library folder: its sources open (a file at the cited lines, a
web address shown), and it exports to Markdown and copies to the clipboard."""

from __future__ import annotations

import asyncio
from pathlib import Path

from textual.widgets import Input, Static, TextArea

from deepresearch_local.library import Library
from deepresearch_local.session_replay import Source
from deepresearch_local.tools.base import ToolRegistry
from deepresearch_local.tools.local import local_tools
from deepresearch_local.tui.modals.prompt import PromptModal
from deepresearch_local.tui.modals.source_viewer import SourceViewer
from tests.agent.conftest import call_turn
from tests.tui.app_support import Gate, ask, finished, make_app, make_service, research
from tests.tui.screens.host import until
from tests.tui.snapshot import SIZE

QUESTION = "Which shelf holds the blue archive box?"
LINE = "The blue archive box is kept on shelf 14 in the north storage room."


def _library(tmp_path: Path) -> Path:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "archive.md").write_text(
        "# Archive handbook\n\n## Storage\n\n" + LINE + "\nThe red archive box moved to shelf 3 in 2024.\n"
    )
    with Library() as library:
        library.add(docs)
    return docs / "archive.md"


def _tools() -> ToolRegistry:
    return ToolRegistry(local_tools())


def test_a_cited_file_opens_at_its_location_and_the_report_exports(tmp_path: Path) -> None:
    path = _library(tmp_path)
    turns = (
        call_turn("local_search", query=["blue archive box shelf"]),
        "<think>Found it.</think>\n<answer>Shelf 14.</answer>",
    )
    service, _ = make_service(Gate(*turns, findings="- The blue box is on shelf 14 [1]."), tools=_tools)

    async def scenario() -> None:
        app = make_app(service)
        async with app.run_test(size=SIZE) as pilot:
            screen = research(app)
            await ask(pilot, QUESTION)
            await finished(pilot)
            report = screen.panes.report.markdown
            sources = screen.panes.sources.sources
            assert len(sources) == 1
            source = sources[0]
            assert (source.source, source.kind) == (str(path.resolve()), "file")
            assert (source.title, source.location) == ("Archive handbook", "§ Archive handbook, lines 1-6")
            assert report.endswith(
                f"## Sources\n\n1. Archive handbook: {path.resolve()}, {source.location}\n"
            )

            # Ctrl+O goes to the sources; Enter opens the file at the cited location.
            await pilot.press("ctrl+o")
            assert app.focused is screen.panes.sources
            await pilot.press("enter")
            await until(pilot, lambda: isinstance(app.screen, SourceViewer), what="the source viewer")
            viewer = app.screen
            assert str(viewer.query_one("#source-path", Static).content) == source.source
            assert str(viewer.query_one("#source-location", Static).content) == f"at {source.location}"
            shown = viewer.query_one("#source-text", TextArea).text
            assert LINE in shown and "5| " + LINE in shown  # with its line number, as the model read it
            await pilot.press("escape")
            await until(pilot, lambda: app.screen is screen, what="the viewer to close")

            # Copy, then export to a chosen file.
            await pilot.press("ctrl+t")
            assert app.clipboard == report
            await pilot.press("ctrl+s")
            await until(pilot, lambda: isinstance(app.screen, PromptModal), what="the export prompt")
            field = app.screen.query_one(Input)
            assert field.value == str(service.default_export_path(screen.session_id or ""))
            target = tmp_path / "out" / "shelf.md"
            field.value = str(target)
            await pilot.press("enter")
            await until(pilot, target.exists, what="the exported file")
            assert target.read_text("utf-8") == report + ("" if report.endswith("\n") else "\n")

    asyncio.run(scenario())


def test_a_web_source_shows_its_address() -> None:
    source = Source(2, "https://example.test/page", "chars 10-90", "A page", "web")

    async def scenario() -> None:
        service, _ = make_service(Gate())
        app = make_app(service)
        async with app.run_test(size=SIZE) as pilot:
            await app.push_screen(SourceViewer(source))
            await pilot.pause()
            viewer = app.screen
            assert str(viewer.query_one("#source-path", Static).content) == "https://example.test/page"
            assert not viewer.query("#source-text")
            await pilot.press("c")
            assert app.clipboard == "https://example.test/page"

    asyncio.run(scenario())


def test_export_and_copy_without_a_report_only_warn() -> None:
    async def scenario() -> None:
        service, _ = make_service(Gate())
        app = make_app(service)
        async with app.run_test(size=SIZE) as pilot:
            screen = research(app)
            await pilot.press("ctrl+s")
            await pilot.press("ctrl+t")
            await pilot.pause()
            assert app.screen is screen and app.clipboard == ""
            messages = [n.message for n in app._notifications]
            assert messages.count("There is no report to use yet: ask a question first.") == 2

    asyncio.run(scenario())
