"""The research screen with a scripted model and the real session store: a run's steps and report
as they happen, Esc to cancel, a follow-up in the same session, keys while a run goes on, a past
session replayed, and a failing run ending in the error modal."""

from __future__ import annotations

import asyncio
import time

from textual.widgets import Collapsible

from deepresearch_local.errors import ModelError
from deepresearch_local.tui.modals.error import ErrorModal
from deepresearch_local.tui.modals.help import HelpModal
from deepresearch_local.tui.widgets.research.sessions import SessionItem
from deepresearch_local.tui.widgets.research.trace import Thinking
from tests.agent.conftest import ANSWER, ANSWER_TURN, call_turn, tool_call
from tests.tui.app_support import Gate, ask, finished, make_app, make_service, research, texts
from tests.tui.screens.host import until
from tests.tui.snapshot import SIZE

QUESTION = "What is the boiling point of water at sea level?"
WORKING = "- Working note: the question is about boiling water."
FINAL_NOTE = "- Water boils at 100 C [https://example.test/boiling-point-of-water/1]"
FOLD_FIRST = f"<think>Look it up first.</think>\n<report>\n{WORKING}\n</report>\n" + tool_call(
    "search", query=["boiling point of water"]
)
FOLD_ANSWER = f"<think>Enough.</think>\n<report>\n{FINAL_NOTE}\n</report>\n<answer>{ANSWER}</answer>"


def test_a_run_shows_its_steps_and_the_report_as_it_evolves() -> None:
    gate = Gate(FOLD_FIRST, FOLD_ANSWER, hold_at=1)
    service, _ = make_service(gate, mode="fold")

    async def scenario() -> None:
        app = make_app(service)
        async with app.run_test(size=SIZE) as pilot:
            screen = research(app)
            await ask(pilot, QUESTION)
            await until(pilot, gate.waiting.is_set, what="the second model call")
            await until(pilot, lambda: screen.panes.report.markdown == WORKING, what="the working report")
            lines = texts(screen, ".trace-line")
            assert lines[:4] == [
                f"Question: {QUESTION}",
                "Step 1 of 5",
                '▶ search {"query": ["boiling point of water"]}',
                "Step 2 of 5",
            ]
            results = list(screen.query(".trace-result").results(Collapsible))
            assert [r.title for r in results] == ["✓ 3 results for 1 queries"]
            assert results[0].collapsed
            thinking = list(screen.query(Thinking))
            assert [t.text.strip() for t in thinking] == ["Look it up first."] and thinking[0].collapsed
            assert (screen.status.step, screen.status.max_steps) == (2, 5)
            assert screen.status.running

            gate.release()
            await finished(pilot)
            run = service.latest_run(screen.session_id or "")
            assert run is not None and run.termination == "answer" and run.report
            assert screen.panes.report.markdown == run.report
            assert screen.panes.report.view.source == run.report
            labels = [s.label for s in screen.panes.sources.sources]
            assert labels == ["[1] https://example.test/boiling-point-of-water/1, search snippet"]
            assert texts(screen, ".trace-line")[-1] == "Finished (answer): 2 steps, 3 model calls."
            assert not screen.status.running
            # A result unfolds into the full observation.
            await pilot.click(results[0].query_one("CollapsibleTitle"))
            assert not results[0].collapsed
            body = str(results[0].query_one(".result-text").content)  # type: ignore[attr-defined]
            assert body.startswith("A search for 'boiling point of water' found 3 results:")

    asyncio.run(scenario())


def test_esc_cancels_the_run_and_gives_the_question_back() -> None:
    gate = Gate(call_turn("search", query=["water"]), ANSWER_TURN, hold_at=0)
    service, _ = make_service(gate)

    async def scenario() -> None:
        app = make_app(service)
        async with app.run_test(size=SIZE) as pilot:
            screen = research(app)
            await ask(pilot, QUESTION)
            await until(pilot, gate.waiting.is_set, what="the first model call")
            assert screen.question.text == ""
            await pilot.press("escape")
            assert screen.question.text == QUESTION  # back at once, while the run winds down
            gate.release()
            await finished(pilot)
            run = service.latest_run(screen.session_id or "")
            assert run is not None and (run.status, run.termination) == ("cancelled", "cancelled")
            assert "Cancelled: the steps so far are kept in the session." in texts(screen, ".trace-line")
            assert gate.calls == 1  # nothing ran after the cancel
            await pilot.press("escape")  # nothing running: Esc does nothing harmful
            assert screen.question.text == QUESTION

    asyncio.run(scenario())


def test_esc_while_the_answer_is_written_keeps_the_partial_text_and_says_it_stopped() -> None:
    words = " ".join(f"word{i}" for i in range(200))
    gate = Gate(f"<think>Enough.</think>\n<answer>Water boils at 100 C. {words}</answer>")
    service, _ = make_service(gate, delay=0.01)

    async def scenario() -> None:
        app = make_app(service)
        async with app.run_test(size=SIZE) as pilot:
            screen = research(app)
            report = screen.panes.report
            await ask(pilot, QUESTION)
            await until(pilot, lambda: report.streaming, what="the answer to stream")
            assert report.border_subtitle == "the answer, being written"
            await pilot.press("escape")
            await finished(pilot)
            assert not report.streaming
            assert report.border_subtitle == "stopped before it was finished"
            assert report.view.source.startswith("Water boils at 100 C.")
            assert "word199" not in report.view.source

    asyncio.run(scenario())


def test_a_follow_up_continues_the_session() -> None:
    gate = Gate(ANSWER_TURN, "<think>Same.</think>\n<answer>Still 100 C.</answer>")
    service, engine = make_service(gate)

    async def scenario() -> None:
        app = make_app(service)
        async with app.run_test(size=SIZE) as pilot:
            screen = research(app)
            await ask(pilot, QUESTION)
            await finished(pilot)
            session = screen.session_id
            first_report = screen.panes.report.markdown
            assert session and first_report.startswith(f"# {QUESTION}")
            await ask(pilot, "And on a mountain?")
            await finished(pilot)
            assert screen.session_id == session
            assert [q.text for q in service.store.questions(session)] == [QUESTION, "And on a mountain?"]
            follow_up_prompt = engine.requests[-1].prompt  # no evidence, so no report pass
            assert "And on a mountain?" in follow_up_prompt and ANSWER in follow_up_prompt
            items = list(screen.sessions.list_view.query(SessionItem))
            assert [i.info.id for i in items] == [session] and items[0].info.questions == 2
            assert screen.panes.report.markdown.startswith("# And on a mountain?")

    asyncio.run(scenario())


def test_keys_keep_responding_while_a_research_runs() -> None:
    thinking = " ".join(f"thought{i}" for i in range(150))
    gate = Gate(call_turn("search", think=thinking, query=["water"]), ANSWER_TURN, hold_at=1)
    service, _ = make_service(gate, delay=0.01)  # the model streams its thinking for a while

    async def scenario() -> None:
        app = make_app(service)
        async with app.run_test(size=SIZE) as pilot:
            screen = research(app)
            await ask(pilot, QUESTION)
            await until(pilot, lambda: screen.query(Thinking), what="the thinking to stream")
            await pilot.press("f1")
            await until(pilot, lambda: isinstance(app.screen, HelpModal), what="the help")
            await pilot.press("escape")
            await until(pilot, lambda: app.screen is screen, what="the help to close")
            assert screen.running  # Esc closed the help, it did not cancel the run
            screen.question.focus()
            await pilot.press(*"next", "ctrl+j", *"line")
            assert screen.question.text == "next\nline"
            await pilot.press("enter")  # a second question while one runs is refused, and kept
            assert screen.question.text == "next\nline"
            busy = "A research is running: wait for it, or press Esc to cancel it."
            assert [n.message for n in app._notifications] == [busy]
            await pilot.press("ctrl+f")
            assert app.focused is not None and app.focused.id == "session-search"
            await until(pilot, gate.waiting.is_set, what="the second model call")
            assert screen.query_one(Thinking).text.strip() == thinking  # every streamed piece landed
            assert screen.running
            gate.release()
            await finished(pilot)
            assert len(service.store.questions(screen.session_id or "")) == 1

    asyncio.run(scenario())


def test_a_past_session_shows_its_trace_and_report_again() -> None:
    gate = Gate(call_turn("search", query=["water"]), ANSWER_TURN)
    service, _ = make_service(gate)
    live = list(service.ask(QUESTION))
    session = live[0].session_id  # type: ignore[union-attr]

    async def scenario() -> None:
        app = make_app(service)
        async with app.run_test(size=SIZE) as pilot:
            screen = research(app)
            assert screen.panes.report.markdown == ""
            screen.sessions.list_view.focus()
            screen.sessions.list_view.index = 0
            await pilot.press("enter")
            await until(pilot, lambda: screen.session_id == session, what="the session to open")
            await pilot.pause()
            run = service.latest_run(session)
            assert run is not None and screen.panes.report.markdown == run.report
            lines = texts(screen, ".trace-line")
            assert lines[:3] == [f"Question: {QUESTION}", "Step 1 of 5", '▶ search {"query": ["water"]}']
            assert lines[-1] == "Finished (answer): 2 steps, 3 model calls."
            assert (screen.status.step, screen.status.max_steps) == (2, 5)

    asyncio.run(scenario())


def test_a_failing_run_ends_in_the_error_modal_and_keeps_the_question() -> None:
    service, engine = make_service(Gate())

    def no_model() -> None:
        raise ModelError("No model is set up yet. Open the Models screen (F3) to download one.")

    engine.load = no_model  # type: ignore[method-assign]

    async def scenario() -> None:
        app = make_app(service)
        async with app.run_test(size=SIZE) as pilot:
            screen = research(app)
            screen.question.text = QUESTION
            await pilot.press("enter")
            await until(pilot, lambda: isinstance(app.screen, ErrorModal), what="the error modal")
            modal = app.screen
            assert isinstance(modal, ErrorModal)
            assert modal.error_title == "Model problem"
            assert modal.message.startswith("No model is set up yet.")
            await finished(pilot)
            assert screen.question.text == QUESTION
            await pilot.press("escape")
            await until(pilot, lambda: app.screen is screen, what="the modal to close")
            assert app.is_running

    asyncio.run(scenario())


def test_quitting_during_a_run_cancels_it() -> None:
    gate = Gate(call_turn("search", query=["water"]), ANSWER_TURN, hold_at=0)
    service, _ = make_service(gate)

    async def scenario() -> str:
        app = make_app(service)
        async with app.run_test(size=SIZE) as pilot:
            screen = research(app)
            await ask(pilot, QUESTION)
            await until(pilot, gate.waiting.is_set, what="the first model call")
            await until(pilot, lambda: screen.session_id is not None, what="the session")
            session = screen.session_id or ""
            await pilot.press("ctrl+q")
            gate.release()
        return session

    session = asyncio.run(scenario())
    deadline = time.monotonic() + 120
    while (run := service.latest_run(session)) is None or run.status == "running":
        assert time.monotonic() < deadline, "the run kept going after the app quit"
        time.sleep(0.1)
    assert (run.status, run.termination, gate.calls) == ("cancelled", "cancelled", 1)
