"""Research never loses what it found: each way a turn can fail, and what the next prompt still holds.

Fold mode: a turn whose thinking was cut by the output limit, a report cut mid-way, a tool call
without its report, broken JSON after a tool result. React mode (ReSum): a summary that is a tool
call, a summary cut off mid-thought. In each case the next prompt still shows the result the
model had not yet taken in and the last complete report, and the store holds every turn.
"""

from __future__ import annotations

from deepresearch_local.agent import prompts
from deepresearch_local.agent.config import AgentConfig
from deepresearch_local.agent.steps import Step, latest_report
from deepresearch_local.engines.scripted import ScriptedEngine
from tests.agent.conftest import ANSWER, ANSWER_TURN, Run, call_turn, fold_turn, run, scripted
from tests.agent.scripted_tools import registry

R1 = "- F1: three articles discuss the boiling point [https://example.test/boiling-point/1]"
R2 = R1 + "\n- F2: the pressure matters [https://example.test/pressure/1]"
SEEN_A = "A search for 'boiling point' found 3 results"
SEEN_B = "A search for 'pressure' found 3 results"
MAX_OUT = 256


def fold(**changes: object) -> AgentConfig:
    return AgentConfig(**{"mode": "fold", "max_output_tokens": MAX_OUT, **changes})  # type: ignore[arg-type]


def first_round() -> str:
    return fold_turn(R1.split("\n")[0].replace("F1", "F0"), "search", query=["boiling point"])


def report_in(prompt: str) -> str:
    return prompt.rsplit("<report>\n", 1)[1].split("\n</report>", 1)[0]


def assert_nothing_lost(result: Run) -> None:
    """Every model call of the run is a committed step, in order."""
    calls = [p for p in result.model_prompts]
    model = [s for s in result.steps if s.kind == "model"]
    assert len(model) == len(calls)
    assert [s.index for s in result.steps] == list(range(len(result.steps)))


# ---------------------------------------------------------------- fold: unusable turns


def test_thinking_cut_by_the_output_limit_is_asked_again_with_the_same_report_and_result() -> None:
    cut = "<think>" + " ".join(f"idea{i}" for i in range(400))
    good = fold_turn(R1, "search", query=["pressure"])
    engine = ScriptedEngine(respond=scripted(first_round(), cut, good, ANSWER_TURN))
    result = run(engine, config=fold())
    assert result.kinds() == ["model", "tool", "model", "notice", "model", "tool", "model", "report"]
    assert result.steps[2].data["finish"] == "length"
    asked = result.model_prompts
    # The retry shows the same report and the same search result as the round that failed.
    assert report_in(asked[2]) == report_in(asked[1])
    assert SEEN_A in asked[1] and SEEN_A in asked[2]
    retry = asked[2].rsplit("Its result:\n", 1)[1]
    assert retry.startswith(f"<tool_response>\n{SEEN_A}")
    assert "reached the 256-token limit: keep the thinking short" in retry.split("</tool_response>")[0]
    assert "<report>the complete updated report</report>" in retry  # the reminder names the report
    assert report_in(asked[3]) == R1 and SEEN_B in asked[3]
    assert result.finished.termination == "answer"
    assert_nothing_lost(result)


def test_a_cut_report_never_replaces_the_complete_one() -> None:
    cut = f"<think>ok</think>\n<report>\n{R2}\n- F3: the half-written"
    engine = ScriptedEngine(
        respond=scripted(fold_turn(R1, "search", query=["boiling point"]), cut, ANSWER_TURN)
    )
    result = run(engine, config=fold())
    cut_step = result.steps[2]
    assert cut_step.data["report"].endswith("F3: the half-written")
    assert cut_step.data["report_complete"] is False
    assert any("cut off before </report>" in p for p in cut_step.data["problems"])
    retry = result.model_prompts[2]
    assert report_in(retry) == R1  # the complete report, not the cut one
    assert SEEN_A in retry
    report_pass = next(p for p in result.prompts if "Write the findings section" in p)
    assert f"Your working report:\n{R1}\n" in report_pass


def test_a_cut_report_after_a_complete_one_in_the_store_is_skipped() -> None:
    steps = [
        Step(0, "model", {"report": "complete", "report_complete": True, "tool_call": {"name": "x"}}),
        Step(1, "model", {"report": "cut", "report_complete": False, "tool_call": {"name": "x"}}),
    ]
    assert latest_report(steps) == "complete"
    assert latest_report(steps[1:]) == "cut"  # nothing better exists: the cut one stands in


def test_bad_json_after_a_tool_result_keeps_the_result_in_the_retry() -> None:
    broken = f"<think>next</think>\n<report>\n{R2}\n</report>\n<tool_call>\n{{'name': search, </tool_call>"
    good = fold_turn(R2, "search", query=["pressure"])
    engine = ScriptedEngine(respond=scripted(first_round(), broken, good, ANSWER_TURN))
    result = run(engine, config=fold())
    assert result.kinds() == ["model", "tool", "model", "notice", "model", "tool", "model", "report"]
    retry = result.model_prompts[2]
    assert SEEN_A in retry.rsplit("Its result:\n", 1)[1]
    assert "the tool call is not valid JSON" in retry
    # The unusable turn's report does not count: the retry shows the report the round started with.
    assert report_in(retry) == report_in(result.model_prompts[1])
    assert report_in(result.model_prompts[3]) == R2


def test_unusable_turns_in_a_row_end_in_a_forced_answer_that_still_shows_the_result() -> None:
    junk = "I am not sure what to do."
    engine = ScriptedEngine(respond=scripted(first_round(), junk, junk, junk, ANSWER_TURN))
    result = run(engine, config=fold(unusable_retries=2))
    assert result.kinds() == [
        "model", "tool", "model", "notice", "model", "notice", "model", "forced", "model", "report",
    ]  # fmt: skip
    last = result.model_prompts[-1]
    assert SEEN_A in last.rsplit("Its result:\n", 1)[1]
    assert prompts.render("forced_answer", reason="replies that could not be used") in last
    assert result.finished.termination == "forced_answer"
    assert result.finished.answer == ANSWER


# ---------------------------------------------------------------- fold: a turn without its report


def test_a_call_without_a_report_is_asked_again_once_naming_the_report() -> None:
    no_report = call_turn("search", query=["pressure"])
    good = fold_turn(R2, "search", query=["pressure"])
    turns = [fold_turn(R1, "search", query=["boiling point"]), no_report, good, ANSWER_TURN]
    engine = ScriptedEngine(respond=scripted(*turns))
    result = run(engine, config=fold())
    assert result.kinds() == ["model", "tool", "model", "notice", "model", "tool", "model", "report"]
    assert result.steps[3].data["reason"] == "report"
    retry = result.model_prompts[2]
    assert SEEN_A in retry and report_in(retry) == R1
    assert prompts.load("report_reminder") in retry.rsplit("Its result:\n", 1)[1]
    tool_runs = [s.data["arguments"] for s in result.steps if s.kind == "tool"]
    assert tool_runs == [{"query": ["boiling point"]}, {"query": ["pressure"]}]  # the first try never ran


def test_a_second_call_without_a_report_runs_and_carries_both_results() -> None:
    no_report = call_turn("search", query=["pressure"])
    engine = ScriptedEngine(
        respond=scripted(fold_turn(R1, "search", query=["boiling point"]), no_report, no_report, ANSWER_TURN)
    )
    result = run(engine, config=fold())
    assert result.kinds() == ["model", "tool", "model", "notice", "model", "tool", "model", "report"]
    carried = result.model_prompts[3]
    earlier, latest = carried.split("Your latest action:\n", 1)
    assert "An earlier action whose result your report does not hold yet" in earlier
    assert SEEN_A in earlier and SEEN_B in latest  # the result the report never took in is still there
    assert report_in(carried) == R1


def test_the_first_round_needs_no_report() -> None:
    engine = ScriptedEngine(respond=scripted(call_turn("search", query=["boiling point"]), ANSWER_TURN))
    result = run(engine, config=fold())
    assert result.kinds() == ["model", "tool", "model", "report"]  # nothing to lose: no re-ask


# ---------------------------------------------------------------- fold: condensing


def test_an_oversized_report_is_shown_whole_when_the_model_must_condense_it() -> None:
    long = "\n".join(
        f"- F{n}: station {n} recorded {n * 7} mm [https://example.test/s{n}]" for n in range(60)
    )
    turn = fold_turn(long, "search", query=["boiling point"])
    engine = ScriptedEngine(respond=scripted(turn, ANSWER_TURN), context_tokens=8192)
    result = run(engine, config=fold(max_output_tokens=2400, think_tokens=1200))  # report cap 1,200
    assert 1200 < engine.count_tokens(long) < 2400 - 100
    asked = result.model_prompts[1]
    assert "(This report is too long: condense it this round" in asked
    assert long in asked  # every line, the tail included
    assert all(r.prompt_tokens + r.request.max_tokens <= 8192 for r in engine.requests)


# ---------------------------------------------------------------- ReSum

VISIT = [call_turn("visit", url=[f"https://example.test/station-{n}"], goal="rainfall") for n in (1, 2)]
SUMMARY = "- station-1 and station-2 list rainfall measurements."


def resum_run(*summary_replies: str) -> Run:
    replies = list(summary_replies)

    def respond(prompt: str) -> str:
        if "Write the findings section" in prompt:
            return "- Rain was measured [1]."
        last = prompt.rsplit("<|im_start|>user\n", 1)[1]
        if "<summary></summary>" in last:
            return replies.pop(0)
        if "You have reached the limit of this research" in last or "You already researched" in prompt:
            return ANSWER_TURN
        return VISIT[prompt.count("<tool_response>") % 2]

    engine = ScriptedEngine(respond=respond)
    config = AgentConfig(mode="react", budget_tokens=5000, max_output_tokens=1024)
    return run(engine, tools=registry(visit_words=600), config=config)


def test_a_summary_that_calls_a_tool_is_retried_without_tools() -> None:
    result = resum_run(VISIT[0], f"<think>Condense.</think>\n<summary>\n{SUMMARY}\n</summary>")
    assert result.kinds() == ["model", "tool", "model", "tool", "summary", "summary", "model", "report"]
    bad, good = result.steps[4], result.steps[5]
    assert (bad.data["valid"], bad.data["problem"]) == (False, "it called a tool instead of summarizing")
    assert bad.data["text"] == VISIT[0] and bad.data["tools"] is True
    assert (good.data["valid"], good.data["summary"], good.data["tools"]) == (True, SUMMARY, False)
    first_ask, retry = result.prompts[2], result.prompts[3]
    assert "<tools>" in first_ask and "<tools>" not in retry
    assert "station-1 for the goal" in retry and "station-2 for the goal" in retry
    restart = result.prompts[4]
    assert SUMMARY in restart and "already answers the question" in restart
    assert result.finished.termination == "answer"


def test_summaries_cut_twice_force_an_answer_from_the_full_history() -> None:
    cut = "<think>" + "Let me recall what the pages said. " * 5
    result = resum_run(cut, "<think>Condense.</think>\n<summary>\n- station-1 rainfall")
    assert result.kinds() == [
        "model", "tool", "model", "tool", "summary", "summary", "forced", "model", "report",
    ]  # fmt: skip
    assert result.steps[4].data["problem"] == "it was cut off while thinking"
    assert result.steps[5].data["problem"] == "it was cut off before </summary>"
    forced = result.prompts[4]
    # Not restarted from nothing: both pages (smaller if need be) are still in the last prompt.
    assert "station-1" in forced and "station-2" in forced
    assert "You already researched" not in forced
    assert result.finished.termination == "forced_answer" and result.finished.answer == ANSWER
    assert all(r.prompt_tokens <= 5000 for r in result.engine.requests)


def test_a_replayed_session_tells_a_refused_summary_from_a_restart() -> None:
    from deepresearch_local.agent.events import Notice
    from deepresearch_local.session_replay import replay_run

    result = resum_run(VISIT[0], f"<think>Condense.</think>\n<summary>\n{SUMMARY}\n</summary>")
    notices = [e.message for e in replay_run(result.store, result.finished.run_id) if isinstance(e, Notice)]
    assert notices == [e.message for e in result.of(Notice)]  # what the live run showed
    assert [n.split(": ", 1)[1] for n in notices] == [
        "summarizing and restarting.",
        "it called a tool instead of summarizing.",
        "summarizing and restarting.",
    ]
