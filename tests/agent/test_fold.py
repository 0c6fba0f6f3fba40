"""Fold mode: a 100-round scripted research keeps every prompt within the budget, carries its
early facts to the end through the report alone, truncates oversized observations and asks the
model to condense an oversized report; the same research in react mode grows until it must
summarize."""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable

from deepresearch_local.agent import fold, prompts
from deepresearch_local.agent.config import AgentConfig
from deepresearch_local.agent.events import Notice
from deepresearch_local.engines.scripted import ScriptedEngine
from deepresearch_local.tools.base import ToolRegistry
from tests.agent.conftest import (
    ANSWER_TURN,
    Run,
    call_turn,
    fold_turn,
    is_report_prompt,
    run,
    scripted,
    tool_call,
)
from tests.agent.scripted_tools import PythonTool, SearchTool, VisitTool, page_text

BUDGET = 6000
CONTEXT = 8192
ROUNDS = 100
CONDENSE = "(This report is too long: condense it this round, keeping every fact and source.)"
TRUNCATED = re.compile(r"\[\.\.\. truncated: (\d+) of (\d+) characters shown\]")


def fact(n: int) -> str:
    return f"- F{n}: station {n} recorded {n * 7} mm of rain on day {n} [https://example.test/station-{n}]"


def tools() -> ToolRegistry:
    return ToolRegistry([SearchTool(), VisitTool(words=700, long_words=6000), PythonTool()])


def url_for(n: int) -> str:
    return f"https://example.test/{'long-' if n % 10 == 5 else ''}station-{n}"


def fold_model() -> Callable[[str], str]:
    """A model that knows only what the prompt shows it: its report and the latest result."""

    def respond(prompt: str) -> str:
        if is_report_prompt(prompt):
            return "- Station 1 recorded 7 mm of rain [1]."
        user = prompt.rsplit("<|im_start|>user\n", 1)[1]
        n = int(re.search(r"\(round (\d+) of at most \d+\)", user).group(1))  # type: ignore[union-attr]
        report = user.split("<report>\n", 1)[1].split("\n</report>", 1)[0]
        lines = [line for line in report.splitlines() if re.match(r"- F\d+: .*\]$", line)]
        if CONDENSE in report:  # keep the first three facts verbatim, fold the rest into one line
            kept = [line for line in lines if re.match(r"- F[123]: ", line)]
            last = max(int(m) for m in re.findall(r"- F(\d+):", report))
            lines = [
                *kept,
                f"- F4 to F{last}: rainfall recorded station by station [https://example.test/all]",
            ]
        if n < ROUNDS:
            lines.append(fact(n))
            body = "\n".join(lines)
            visit = tool_call("visit", url=[url_for(n)], goal="rainfall")
            return f"<think>Round {n}.</think>\n<report>\n{body}\n</report>\n{visit}"
        early = "; ".join(line for line in lines if re.match(r"- F[123]: ", line))
        return f"<think>Done.</think>\n<report>\n{chr(10).join(lines)}\n</report>\n<answer>{early}</answer>"

    return respond


def fold_run() -> Run:
    engine = ScriptedEngine(respond=fold_model(), context_tokens=CONTEXT)
    config = AgentConfig(
        mode="fold", budget_tokens=BUDGET, max_llm_calls=ROUNDS, max_output_tokens=2048, fold_keep_fraction=0
    )  # fold every round: each prompt shows only the latest action (test_fold_keep: keeping rounds)
    return run(engine, tools=tools(), config=config, question="How much rain did each station record?")


def test_one_hundred_rounds_stay_within_the_budget_and_keep_early_facts() -> None:
    result = fold_run()
    finished = result.finished
    assert finished.termination == "answer"
    assert finished.steps == ROUNDS
    rounds = [r for r in result.engine.requests if not is_report_prompt(r.prompt)]
    assert len(rounds) == ROUNDS
    assert all(r.prompt_tokens <= BUDGET for r in rounds), max(r.prompt_tokens for r in rounds)
    assert finished.max_prompt_tokens <= BUDGET
    # The answer is built by the model from the report it saw in round 100: the early facts got there.
    assert finished.answer == "; ".join(fact(n) for n in (1, 2, 3))
    last_prompt = rounds[-1].prompt
    for n in (1, 2, 3):
        assert fact(n) in last_prompt
    report_pass = [r.prompt for r in result.engine.requests if is_report_prompt(r.prompt)]
    assert len(report_pass) == 1 and fact(1) in report_pass[0]
    # The report cap kicked in, the model condensed, and the note went away in the round after.
    condensed = [i for i, r in enumerate(rounds) if CONDENSE in r.prompt]
    assert condensed, "the report never reached its cap"
    assert CONDENSE not in rounds[condensed[0] + 1].prompt
    assert "- F4 to F" in rounds[condensed[0] + 1].prompt
    # Each round shows only the latest action and its result.
    texts = [r.prompt for r in rounds]
    assert "(none yet: this is the first round)" in texts[0]
    assert "https://example.test/station-1 for the goal" in texts[1]
    assert "https://example.test/station-1 for the goal" not in texts[2]
    assert '"url": ["https://example.test/station-2"]' in texts[2]
    assert '"url": ["https://example.test/station-1"]' not in texts[2]
    # Large observations were cut for the prompt, with a note; the store keeps them whole.
    notes = [TRUNCATED.search(r.prompt.rsplit("Its result:\n", 1)[1]) for r in rounds]
    assert sum(1 for m in notes if m) == 10  # rounds after a visit to a long page (every tenth)
    stored = [s for s in result.steps if s.kind == "tool"]
    assert len(stored) == ROUNDS - 1
    long_obs = next(s.data["observation"] for s in stored if s.data["arguments"]["url"] == [url_for(5)])
    assert long_obs == f"The useful information in {url_for(5)} for the goal:\n{page_text(url_for(5), 6000)}"
    first_note = next(m for m in notes if m)
    assert int(first_note.group(2)) == len(long_obs) > int(first_note.group(1))


def react_model(visits: list[int]) -> Callable[[str], str]:
    def respond(prompt: str) -> str:
        if is_report_prompt(prompt):
            return "- Station 1 recorded 7 mm of rain [1]."
        last_user = prompt.rsplit("<|im_start|>user\n", 1)[1]
        if "<summary></summary>" in last_user:
            return f"<summary>\n- visited stations 1 to {len(visits)}\n</summary>"
        if "You have reached the limit of this research" in last_user:
            return "<think>Stop.</think>\n<answer>Rain was recorded at every station.</answer>"
        visits.append(len(visits) + 1)
        return call_turn("visit", url=[f"https://example.test/station-{len(visits)}"], goal="rainfall")

    return respond


def test_react_grows_until_it_summarizes() -> None:
    visits: list[int] = []
    engine = ScriptedEngine(respond=react_model(visits), context_tokens=CONTEXT)
    config = AgentConfig(mode="react", budget_tokens=BUDGET, max_llm_calls=12, max_output_tokens=2048)
    result = run(engine, tools=tools(), config=config, question="How much rain did each station record?")
    kinds = result.kinds()
    first_summary = kinds.index("summary")
    before = [s.data["prompt_tokens"] for s in result.steps[:first_summary] if s.kind == "model"]
    assert len(before) >= 3
    assert all(b > a + 1500 for a, b in itertools.pairwise(before)), before  # each page stays in the prompt
    nearly_full = [
        int(m) for n in result.of(Notice) for m in re.findall(r"Context nearly full \((\d+)/", n.message)
    ]
    assert len(nearly_full) == kinds.count("summary") and all(u > BUDGET * 0.9 for u in nearly_full)
    after = next(s for s in result.steps[first_summary:] if s.kind == "model")
    assert after.data["prompt_tokens"] < before[-1]
    assert kinds.count("summary") >= 2
    assert result.finished.termination == "forced_answer"
    assert all(r.prompt_tokens <= BUDGET for r in result.engine.requests)  # the summary requests too


def test_truncate_to_tokens() -> None:
    count = ScriptedEngine().count_tokens
    text = "\n".join(f"line {i} of the page" for i in range(500))
    cut = fold.truncate_to_tokens(text, 300, count)
    assert count(cut) <= 300
    assert cut.endswith(f" of {len(text)} characters shown]")
    head = cut.rsplit("\n", 1)[0]
    assert text.startswith(head) and head.endswith("of the page")
    assert fold.truncate_to_tokens("short text", 300, count) == "short text"
    assert (
        fold.truncate_to_tokens(text, 0, count)
        == f"[{len(text)} characters left out: no room in the context]"
    )


def test_loop_notice_survives_observation_truncation() -> None:
    page = fold_turn(
        "- the long page is about rain", "visit", url=["https://example.test/long-page"], goal="rain"
    )
    engine = ScriptedEngine(respond=scripted(page, page, page, ANSWER_TURN), context_tokens=CONTEXT)
    config = AgentConfig(mode="fold", budget_tokens=BUDGET, max_output_tokens=1024)
    result = run(engine, tools=tools(), config=config)
    notice = prompts.render("loop_notice", call="visit")
    results = [p.rsplit("Its result:\n", 1)[1] for p in result.model_prompts]
    assert [notice in r for r in results] == [False, False, True, True]
    assert TRUNCATED.search(results[1])
    for r in results[2:]:  # the page was cut, the notice after it was not
        assert re.search(r"characters shown\]\n\n" + re.escape(notice), r)
    assert all(r.prompt_tokens <= BUDGET for r in engine.requests)
    assert result.finished.termination == "loop_forced_answer"
    forced = prompts.render("forced_answer", reason="repeating the same action")
    assert f"{forced}\n\nUpdate the report and choose the next action." in results[3]


def test_call_limit_in_fold_mode_asks_for_the_answer_in_the_round() -> None:
    turns = [
        fold_turn("- nothing yet", "search", query=["a"]),
        fold_turn("- a: 3 results", "search", query=["b"]),
    ]
    engine = ScriptedEngine(respond=scripted(*turns, ANSWER_TURN))
    result = run(engine, config=AgentConfig(mode="fold", max_llm_calls=2))
    assert result.kinds() == ["model", "tool", "model", "tool", "forced", "model", "report"]
    assert result.finished.termination == "forced_answer"
    forced = prompts.render("forced_answer", reason="the maximum number of model calls")
    assert forced not in result.model_prompts[1]
    assert f"{forced}\n\nUpdate the report and choose the next action." in result.model_prompts[2]
    assert "A search for 'b' found 3 results" in result.model_prompts[2]


def test_a_round_without_a_report_keeps_the_previous_one() -> None:
    first = "<think>a</think>\n<report>\n- F1: kept [https://example.test/1]\n</report>\n" + tool_call(
        "search", query=["a"]
    )
    turns = [first, call_turn("search", query=["b"]), ANSWER_TURN]
    engine = ScriptedEngine(respond=scripted(*turns))
    result = run(engine, config=AgentConfig(mode="fold"))
    assert "<report>\n- F1: kept [https://example.test/1]\n</report>" in result.model_prompts[2]
    report_prompt = next(p for p in result.prompts if is_report_prompt(p))
    assert "Your working report:\n- F1: kept [https://example.test/1]" in report_prompt


def test_a_budget_larger_than_the_context_is_capped_to_what_fits() -> None:
    page = call_turn("visit", url=["https://example.test/long-page"], goal="rainfall")
    engine = ScriptedEngine(respond=scripted(page, ANSWER_TURN), context_tokens=CONTEXT)
    result = run(
        engine, tools=tools(), config=AgentConfig(mode="fold", budget_tokens=20000, max_output_tokens=2048)
    )
    assert result.events[0].budget_tokens == CONTEXT - 2048  # type: ignore[union-attr]
    assert result.finished.termination == "answer"
    assert all(r.prompt_tokens <= CONTEXT - 2048 for r in engine.requests)
    assert TRUNCATED.search(result.model_prompts[1])
