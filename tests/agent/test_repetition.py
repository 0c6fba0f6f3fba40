"""The report pass stops a model that loops and keeps what it wrote without the repeats."""

from __future__ import annotations

from deepresearch_local.agent.config import AgentConfig
from deepresearch_local.agent.events import Notice, ReportReady
from deepresearch_local.agent.repetition import RepetitionGuard
from deepresearch_local.engines.scripted import ScriptedEngine
from tests.agent.conftest import ANSWER_TURN, call_turn, run, scripted


def _feed(text: str, chunk: int = 5) -> RepetitionGuard:
    guard = RepetitionGuard()
    for i in range(0, len(text), chunk):
        guard.feed(text[i : i + chunk])
    return guard


def test_distinct_lines_tables_and_rules_do_not_trip() -> None:
    text = (
        "- Water boils at 100 C at sea level [1].\n"
        "- At altitude it boils lower [2].\n\n"
        "| City | 1990 | 2020 |\n| --- | --- | --- |\n"
        + "| not reported | not reported | not reported | not reported | not reported |\n"
        + "----------------------------------------------------------------\n"
        + "".join(f"- Station {i} recorded a warmer summer than the one before [3].\n" for i in range(40))
    )
    guard = _feed(text)
    assert not guard.tripped
    assert guard.cleaned() == text


def test_the_same_line_three_times_trips_and_is_kept_once() -> None:
    head = "- Water boils at 100 C at sea level [1].\n"
    loop = "- The boiling point depends on the air pressure [2].\n"
    guard = _feed(head + loop * 3)
    assert guard.tripped
    assert guard.cleaned() == head + loop


def test_a_phrase_repeated_without_newlines_trips_and_is_cut_to_one_copy() -> None:
    head = "- Water boils at 100 C at sea level [1]. "
    phrase = "and the pressure also matters for boiling, "
    guard = _feed(head + phrase * 4, chunk=3)
    assert guard.tripped
    assert guard.cleaned() == (head + phrase).rstrip()


def test_a_looping_report_is_stopped_early_and_written_without_the_repeats() -> None:
    good = "- An article discusses the boiling point of water in detail [1].\n"
    loop = "- The boiling point of water is an important physical property [1].\n"
    turns = scripted(call_turn("search", query=["boiling point"]), ANSWER_TURN, findings=good + loop * 200)
    engine = ScriptedEngine(respond=turns, chunk_tokens=4)
    result = run(engine, config=AgentConfig(mode="fold"))
    assert result.finished.termination == "answer"
    [report] = result.of(ReportReady)
    assert f"## Findings\n\n{good}{loop.rstrip()}\n\n## Sources\n\n1. boiling point (1): " in report.markdown
    assert report.markdown.count("important physical property") == 1
    assert any("repeating itself" in n.message for n in result.of(Notice))
    [step] = [s for s in result.store.steps(result.finished.run_id) if s.kind == "report"]
    written = engine.count_tokens(good + loop * 200)
    assert 0 < step.data["completion_tokens"] < written / 20  # stopped after a few repeats, not at the end
