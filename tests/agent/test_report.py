"""The report pass: checked citations, sources that can be opened, the answer first, the fallback
when the model cites nothing usable, and follow-up questions that start from the last report."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from deepresearch_local.agent import report as R
from deepresearch_local.agent.config import AgentConfig
from deepresearch_local.agent.events import ReportReady
from deepresearch_local.engines.scripted import ScriptedEngine
from deepresearch_local.store.sessions import SessionStore
from tests.agent.conftest import (
    ANSWER,
    ANSWER_TURN,
    FINDINGS,
    QUESTION,
    call_turn,
    fold_turn,
    is_report_prompt,
    run,
    scripted,
)

ITEMS: list[dict[str, Any]] = [
    {
        "source": "https://w.test/boil",
        "location": "search snippet",
        "title": "Boiling",
        "text": "Water boils at 100 degrees Celsius at sea level pressure.",
    },
    {
        "source": "/docs/physics.pdf",
        "location": "p. 4",
        "title": "",
        "text": "At higher altitude the boiling point of water drops below 100 degrees.",
    },
    {
        "source": "https://w.test/ice",
        "location": "chars 0-80",
        "title": "Ice",
        "text": "Ice melts at zero degrees.",
    },
]


def test_citations_are_checked_and_only_cited_sources_listed() -> None:
    findings = (
        "- Water boils at 100 degrees at sea level [1].\n"
        "- On mountains the boiling point drops [2][9].\n"
        "- Giraffes sleep standing up [3].\n"
        "- Nothing backs this [12]."
    )
    report = R.compose("When does water boil?", "At 100 C at sea level.", findings, ITEMS)
    assert report.markdown == (
        "# When does water boil?\n\n"
        "## Answer\n\nAt 100 C at sea level.\n\n"
        "## Findings\n\n"
        "- Water boils at 100 degrees at sea level [1].\n"
        "- On mountains the boiling point drops [2].\n"
        "- Giraffes sleep standing up [3†].\n"
        "- Nothing backs this .\n\n"
        "## Sources\n\n"
        "1. Boiling: https://w.test/boil, search snippet\n"
        "2. /docs/physics.pdf, p. 4\n"
        "3. Ice: https://w.test/ice, chars 0-80\n\n"
        "† The cited source does not clearly state this; check it before relying on it.\n"
    )
    assert (report.citations, report.dropped, report.flagged) == (3, 2, 1)


def test_uncited_evidence_is_not_listed() -> None:
    report = R.compose("Q?", "A.", "Water boils at 100 degrees [1, 2].", ITEMS)
    assert "Water boils at 100 degrees [1][2]." in report.markdown
    assert report.markdown.endswith("## Sources\n\n1. Boiling: https://w.test/boil, search snippet\n"
                                    "2. /docs/physics.pdf, p. 4\n")  # fmt: skip
    assert "https://w.test/ice" not in report.markdown
    assert (report.citations, report.dropped, report.flagged) == (2, 0, 0)


@pytest.mark.parametrize("findings", ["Water boils at 100 degrees.", "Water boils [7].", ""])
def test_findings_without_usable_citations_fall_back_to_the_evidence(findings: str) -> None:
    report = R.compose("Q?", "A.", findings, ITEMS)
    bullets = [line for line in report.markdown.splitlines() if line.startswith("- ")]
    assert bullets == [
        f"- (https://w.test/boil, search snippet) {ITEMS[0]['text']} [1]",
        f"- (/docs/physics.pdf, p. 4) {ITEMS[1]['text']} [2]",
        "- (https://w.test/ice, chars 0-80) Ice melts at zero degrees. [3]",
    ]
    assert report.citations == 3
    assert report.dropped == (1 if "[7]" in findings else 0)
    assert "## Sources\n\n1. Boiling: https://w.test/boil, search snippet\n2. /docs/physics.pdf, p. 4\n" in (
        report.markdown
    )


def test_a_full_run_writes_a_checked_report(tmp_path: Path) -> None:
    findings = (
        "<think>Which evidence?</think>\n"
        "- An article discusses the boiling point in detail [1].\n"
        "- The handbook states the boiling point is 100 C [4].\n"
        "- A claim with no evidence [99]."
    )
    engine = ScriptedEngine(
        respond=scripted(
            call_turn("search", query=["boiling point"]),
            fold_turn("- a search found articles on the boiling point", "parse_file", files=["handbook.md"]),
            ANSWER_TURN,
            findings=findings,
        )
    )
    result = run(engine, config=AgentConfig(mode="fold"))
    ready = result.of(ReportReady)
    assert len(ready) == 1
    markdown = ready[0].markdown
    assert markdown.startswith(f"# {QUESTION}\n\n## Answer\n\n{ANSWER}\n\n## Findings\n\n")
    assert "<think>" not in markdown and "Which evidence?" not in markdown
    assert "- A claim with no evidence ." in markdown
    assert markdown.endswith(
        "## Sources\n\n"
        "1. boiling point (1): https://example.test/boiling-point/1, search snippet\n"
        "4. /docs/handbook.md, lines 1-2\n"
    )
    assert (ready[0].citations, ready[0].dropped_citations) == (2, 1)
    # The report prompt numbers exactly the evidence the tools returned in this run.
    report_prompt = next(p for p in result.prompts if is_report_prompt(p))
    assert "[4] (/docs/handbook.md, lines 1-2) The file handbook.md states the boiling point is 100 C." in (
        report_prompt
    )
    assert "[5]" not in report_prompt
    finished = result.finished
    assert finished.report_path == ready[0].path
    assert Path(ready[0].path or "").read_text("utf-8") == markdown
    stored = result.store.run(finished.run_id)
    assert stored.report == markdown and stored.answer == ANSWER
    assert [e["id"] for e in result.store.evidence(finished.run_id)] == [1, 2, 3, 4]
    assert result.steps[-1].kind == "report" and result.steps[-1].data["dropped"] == 1


def test_an_answer_without_evidence_needs_no_report_call() -> None:
    engine = ScriptedEngine(respond=scripted(ANSWER_TURN))
    result = run(engine)
    assert len(engine.requests) == 1
    assert result.of(ReportReady)[0].markdown == f"# {QUESTION}\n\n## Answer\n\n{ANSWER}\n"


def test_report_path_option(tmp_path: Path) -> None:
    from deepresearch_local.agent.runner import Researcher
    from tests.agent.scripted_tools import registry

    target = tmp_path / "out" / "report.md"
    engine = ScriptedEngine(respond=scripted(call_turn("search", query=["x"]), ANSWER_TURN))
    researcher = Researcher(engine, registry(), SessionStore(), AgentConfig(), report_path=target)
    events = list(researcher.ask(QUESTION))
    assert events[-1].report_path == str(target)  # type: ignore[union-attr]
    assert target.read_text("utf-8").startswith(f"# {QUESTION}\n\n## Answer\n\n{ANSWER}")


@pytest.mark.parametrize("mode", ["react", "fold"])
def test_a_follow_up_starts_from_the_previous_report(mode: str) -> None:
    store = SessionStore()
    config = AgentConfig(mode=mode)  # type: ignore[arg-type]
    first = run(
        ScriptedEngine(respond=scripted(call_turn("search", query=["boiling point"]), ANSWER_TURN)),
        store=store,
        config=config,
    )
    previous = first.of(ReportReady)[0].markdown
    session = first.finished.session_id
    follow = "And on top of Mount Everest?"
    engine = ScriptedEngine(respond=scripted("<think>ok</think>\n<answer>About 70 C.</answer>"))
    second = run(engine, store=store, config=config, question=follow, session_id=session)
    assert second.finished.session_id == session
    prompt = engine.requests[0].prompt
    assert f"{follow}\n\nThis follows an earlier question in the same session." in prompt
    assert f"<previous_report>\n{previous}\n</previous_report>" in prompt
    assert [q.text for q in store.questions(session)] == [QUESTION, follow]
    markdown = second.of(ReportReady)[0].markdown
    assert markdown.startswith(f"# {follow}\n\n## Answer\n\nAbout 70 C.")
    assert store.latest_report(session) == markdown
    # The follow-up searched nothing itself, yet its report keeps the citation the first run found.
    assert store.evidence(second.finished.run_id) == []
    first_source = previous.split("## Sources\n\n1. ")[1].splitlines()[0]
    assert f"## Findings\n\n{FINDINGS}\n\n## Sources\n\n1. {first_source}\n" in markdown


@pytest.mark.parametrize(
    "wrap", ["<report>\n{}\n</report>", "<think>Plan.</think>\n<answer>{}</answer>", "{}"]
)
def test_findings_written_in_turn_tags_are_unwrapped(wrap: str) -> None:
    findings = "- An article discusses the boiling point in detail [1]."
    engine = ScriptedEngine(
        respond=scripted(
            call_turn("search", query=["boiling point"]), ANSWER_TURN, findings=wrap.format(findings)
        )
    )
    result = run(engine, config=AgentConfig(mode="fold"))
    markdown = result.of(ReportReady)[0].markdown
    assert f"## Findings\n\n{findings}\n\n## Sources\n\n1. boiling point (1): " in markdown
    assert "<" not in markdown


def test_a_failing_report_pass_still_writes_a_report_from_the_evidence() -> None:
    from deepresearch_local.agent.events import Notice
    from deepresearch_local.errors import EngineError

    turns = scripted(call_turn("search", query=["boiling point"]), ANSWER_TURN)

    def respond(prompt: str) -> str:
        if is_report_prompt(prompt):
            raise EngineError("the server went away")
        return turns(prompt)

    result = run(ScriptedEngine(respond=respond), config=AgentConfig(mode="fold"))
    assert result.finished.termination == "answer" and result.finished.answer == ANSWER
    assert any("report pass failed (the server went away)" in n.message for n in result.of(Notice))
    markdown = result.of(ReportReady)[0].markdown
    assert markdown.startswith(f"# {QUESTION}\n\n## Answer\n\n{ANSWER}\n\n## Findings\n\n- ")
    assert "## Sources\n\n1. " in markdown and "https://example.test/boiling-point/1" in markdown
    assert result.steps[-1].kind == "report"


def test_findings_that_echo_the_prompt_are_dropped_and_the_evidence_listed() -> None:
    """A small model copying the report instructions and the numbered evidence wrote nothing."""
    echoed: list[str] = []

    def respond(prompt: str) -> str:
        if is_report_prompt(prompt):
            user = prompt.split("<|im_start|>user\n", 1)[1].split("<|im_end|>", 1)[0]
            copied = [line for line in user.splitlines() if len(line) >= 40][-3:]
            echoed.extend(copied)
            return "\n\n".join(copied)
        return turns(prompt)

    turns = scripted(call_turn("search", query=["boiling point"]), ANSWER_TURN)
    result = run(ScriptedEngine(respond=respond), config=AgentConfig(mode="fold"))
    markdown = result.of(ReportReady)[0].markdown
    assert len(echoed) == 3 and any("[1]" in line or "never cite" in line for line in echoed)
    assert not any(line in markdown for line in echoed)
    assert markdown.startswith(
        f"# {QUESTION}\n\n## Answer\n\n{ANSWER}\n\n## Findings\n\n- (https://example.test/"
    )
    assert "## Sources\n\n1. boiling point (1): https://example.test/boiling-point/1" in markdown
