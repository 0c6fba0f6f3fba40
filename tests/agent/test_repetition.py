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


STRUCTURED_REPORT = "\n".join(
    [
        "## Candidates for the first heat pump standard",
        *[
            line
            for name, year in [("EN 14511", 1998), ("EN 255", 1988), ("ISO 13256", 1998), ("DIN 8900", 1980),
                               ("ASHRAE 116", 1983)]
            for line in (
                f"- {name} ({year}): named as a test standard in one source [https://example.test/{year}]",
                "  - Status: not yet verified",
                "  - Source checked: only a secondary summary, no primary document yet",
            )
        ],
        "## Searched so far",
        *[f"- query: heat pump standard history {n}" for n in range(1, 6)],
        "## Still open",
        "- Status: not yet verified",
    ]
)  # fmt: skip


def test_a_structured_report_with_recurring_lines_does_not_trip() -> None:
    guard = _feed(STRUCTURED_REPORT + "\n", chunk=7)
    assert STRUCTURED_REPORT.count("Status: not yet verified") == 6
    assert not guard.tripped
    assert guard.cleaned() == STRUCTURED_REPORT + "\n"  # a loop cut would keep every line too


def test_back_to_back_repeats_and_cycles_trip() -> None:
    line = "- Status: not yet verified for this candidate\n"
    assert _feed("intro line of the report\n" + line * 3).tripped
    cycle = "- EN 255 was named in a source\n  - Status: not yet verified\n"
    guard = _feed(cycle * 3)
    assert guard.tripped
    assert guard.cleaned() == cycle


def test_a_fold_turn_with_a_structured_report_is_used_whole() -> None:
    turn = (
        f"<think>Five candidates so far.</think>\n<report>\n{STRUCTURED_REPORT}\n</report>\n"
        + call_turn("search", query=["EN 255 1988 heat pump"]).split("\n", 1)[1]
    )
    engine = ScriptedEngine(respond=scripted(turn, ANSWER_TURN), chunk_tokens=3)
    result = run(engine, config=AgentConfig(mode="fold"))
    first = result.steps[0]
    assert first.data["finish"] == "stop"
    assert first.data["report"] == STRUCTURED_REPORT and first.data["report_complete"] is True
    assert f"<report>\n{STRUCTURED_REPORT}\n</report>" in result.model_prompts[1]
    assert result.finished.termination == "answer"
