"""The sessions column over the real store: search, rename, delete, and a new session."""

from __future__ import annotations

import asyncio

from textual.widgets import Input

from deepresearch_local.service.sessions import SessionService
from deepresearch_local.tui.modals.confirm import ConfirmModal
from deepresearch_local.tui.modals.prompt import PromptModal
from deepresearch_local.tui.widgets.research.sessions import SessionItem
from tests.tui.app_support import Gate, make_app, make_service, research
from tests.tui.screens.host import until
from tests.tui.snapshot import SIZE

WATER = "What is the boiling point of water at sea level?"
IRON = "When does iron melt?"


def _session(service: SessionService, question: str) -> str:
    """Research ``question`` to the end (outside the app) and return its session."""
    events = list(service.ask(question))
    return events[0].session_id  # type: ignore[union-attr]


def _answered(text: str) -> str:
    return f"<think>Known.</think>\n<answer>{text}</answer>"


def test_search_rename_and_delete_sessions() -> None:
    service, _ = make_service(Gate(_answered("100 C."), _answered("At 1538 C.")))
    water = _session(service, WATER)
    iron = _session(service, IRON)

    async def scenario() -> None:
        app = make_app(service)
        async with app.run_test(size=SIZE) as pilot:
            screen = research(app)
            panel = screen.sessions
            assert panel.ids == [iron, water]  # newest first
            titles = [i.info.title for i in panel.list_view.query(SessionItem)]
            assert titles == [IRON, WATER]

            # Search: titles, questions and answers.
            await pilot.press("ctrl+f")
            await pilot.press(*"1538")
            await until(pilot, lambda: panel.ids == [iron], what="the search to filter")
            search = screen.query_one("#session-search", Input)
            search.value = ""
            await until(pilot, lambda: panel.ids == [iron, water], what="the search to clear")

            # Rename the open session (Ctrl+R opens a prompt with its title).
            app.call_later(screen.open_session, water)
            await until(pilot, lambda: screen.session_id == water, what="the session to open")
            await pilot.press("ctrl+r")
            await until(pilot, lambda: isinstance(app.screen, PromptModal), what="the rename prompt")
            field = app.screen.query_one(Input)
            assert field.value == WATER
            field.value = "Boiling water"
            await pilot.press("enter")
            await until(pilot, lambda: service.store.get_session(water).title == "Boiling water")
            await pilot.pause()
            # A rename counts as activity: the session moves to the top.
            assert [i.info.title for i in panel.list_view.query(SessionItem)] == ["Boiling water", IRON]

            # Delete from the list: Delete, then confirm.
            panel.list_view.focus()
            panel.list_view.index = panel.ids.index(iron)
            await pilot.press("delete")
            await until(pilot, lambda: isinstance(app.screen, ConfirmModal), what="the confirmation")
            await pilot.press("n")  # first say no: nothing happens
            await pilot.pause()
            assert len(service.sessions()) == 2 and isinstance(app.screen, type(screen))
            panel.list_view.focus()
            panel.list_view.index = panel.ids.index(iron)
            await pilot.press("delete")
            await until(pilot, lambda: isinstance(app.screen, ConfirmModal), what="the confirmation")
            await pilot.press("y")
            await until(pilot, lambda: panel.ids == [water], what="the list without the deleted session")
            assert [s.id for s in service.sessions()] == [water]

    asyncio.run(scenario())


def test_a_new_session_starts_empty_and_the_next_question_opens_it() -> None:
    service, _ = make_service(Gate(_answered("100 C."), _answered("At 1538 C.")))
    water = _session(service, WATER)

    async def scenario() -> None:
        app = make_app(service)
        async with app.run_test(size=SIZE) as pilot:
            screen = research(app)
            app.call_later(screen.open_session, water)
            await until(
                pilot, lambda: screen.panes.report.markdown.startswith(f"# {WATER}"), what="the report"
            )
            await pilot.press("ctrl+n")
            await pilot.pause()
            assert screen.session_id is None and screen.panes.report.markdown == ""
            assert screen.panes.trace.entries == 0
            screen.question.text = IRON
            await pilot.press("enter")
            await until(pilot, lambda: screen.session_id not in (None, water), what="a new session")
            await until(pilot, lambda: not screen.running, what="the run to finish")
            assert len(service.sessions()) == 2
            assert [q.text for q in service.store.questions(screen.session_id or "")] == [IRON]

    asyncio.run(scenario())


def test_an_interrupted_run_resumes_from_the_palette() -> None:
    from deepresearch_local.agent.events import ToolResulted
    from deepresearch_local.tui.commands import commands_for
    from tests.agent.conftest import call_turn

    service, _ = make_service(Gate(call_turn("search", query=["water"]), _answered("100 C.")))
    events = service.ask(WATER)
    seen = []
    for event in events:  # the app (or the machine) stops right after the first tool result
        seen.append(event)
        if isinstance(event, ToolResulted):
            break
    events.close()  # type: ignore[attr-defined]
    session = seen[0].session_id  # type: ignore[attr-defined]
    assert service.latest_run(session).status == "running"  # type: ignore[union-attr]
    resume = next(c for c in commands_for("research") if c.action == "resume_run")

    async def scenario() -> None:
        app = make_app(service)
        async with app.run_test(size=SIZE) as pilot:
            screen = research(app)
            app.call_later(screen.open_session, session)
            await until(pilot, lambda: screen.session_id == session, what="the session to open")
            await until(pilot, lambda: any("interrupted" in n.message for n in app._notifications))
            app.call_later(app.run_command, resume)
            await until(
                pilot,
                lambda: service.latest_run(session).status == "finished" and not screen.running,  # type: ignore[union-attr]
                what="the resumed run to finish",
            )
            await pilot.pause()
            run = service.latest_run(session)
            assert run is not None and (run.status, run.answer) == ("finished", "100 C.")
            assert [r.id for r in service.store.runs(session)] == [run.id]  # the same run went on
            assert screen.panes.report.markdown == run.report

    asyncio.run(scenario())


def test_keys_alone_open_a_past_session() -> None:
    """Ctrl+F, type, Enter to reach the list, Enter to open: no arrow key or mouse needed."""
    service, _ = make_service(Gate(_answered("100 C."), _answered("At 1538 C.")))
    water = _session(service, WATER)
    _session(service, IRON)

    async def scenario() -> None:
        app = make_app(service)
        async with app.run_test(size=SIZE) as pilot:
            screen = research(app)
            panel = screen.sessions
            await pilot.press("ctrl+f", *"boiling")
            await until(pilot, lambda: panel.ids == [water], what="the search to filter")
            await pilot.press("enter")
            assert app.focused is panel.list_view and panel.list_view.index == 0
            await pilot.press("enter")
            await until(pilot, lambda: screen.session_id == water, what="the session to open")

    asyncio.run(scenario())
