"""The answer judge of ``bench research``: the normalized match, the verdict parser, the judge pass
through a scripted engine, and one pass with the real 0.5B model (only that a verdict is read)."""

from __future__ import annotations

from pathlib import Path

import pytest

from deepresearch_local.bench.judge import accuracy, judge, match, normalize, parse_verdict
from deepresearch_local.engines.scripted import ScriptedEngine

QUESTION = "Which shelf holds the blue archive box?"


@pytest.mark.parametrize(
    ("prediction", "gold"),
    [
        ("Shelf 14.", "shelf 14"),
        ("The blue box is on SHELF 14, in the north room.", "Shelf 14"),
        ("It was built in 1,871 from granite.", "1871"),
        ("The value is 3.50 units", "3.5"),
        ("fourteen", "14"),
        ("Answer: the Eiffel Tower", "Eiffel tower"),
        ("Café   de  Flore", "cafe de flore"),
        ("14.0", "14"),
    ],
)
def test_match_normalizes_case_punctuation_articles_and_numbers(prediction: str, gold: str) -> None:
    assert match(prediction, gold)


@pytest.mark.parametrize(
    ("prediction", "gold"),
    [
        ("Shelf 140", "shelf 14"),  # whole words only, not a substring
        ("shelf 3", "shelf 14"),
        ("1817", "1871"),
        (None, "shelf 14"),
        ("", "shelf 14"),
        ("anything", ""),  # no reference: nothing can match
        ("the", "the"),  # articles alone normalize to nothing
        ("14", "shelf 14"),  # the whole reference must be there
    ],
)
def test_match_rejects_other_answers(prediction: str | None, gold: str) -> None:
    assert not match(prediction, gold)


def test_normalize() -> None:
    assert normalize("  The Answer: A 1,000,000-strong crowd! ") == "answer 1000000 strong crowd"


@pytest.mark.parametrize(
    ("reply", "verdict"),
    [
        ("The answers agree.\nVerdict: correct", "correct"),
        ("They differ.\nVerdict: incorrect", "incorrect"),
        ("verdict: **Correct**", "correct"),
        ("<think>Is it correct? Maybe incorrect.</think>\nVerdict: incorrect", "incorrect"),
        ("First I thought Verdict: incorrect, but on reflection\nVerdict: correct", "correct"),
        ("Correct.", "correct"),
        ("The assistant's answer is not correct.", "incorrect"),
        ("Incorrect", "incorrect"),
        ("It could be correct or incorrect.", "unparsed"),
        ("I cannot tell.", "unparsed"),
        ("", "unparsed"),
    ],
)
def test_parse_verdict(reply: str, verdict: str) -> None:
    assert parse_verdict(reply) == verdict


def test_the_judge_asks_the_model_greedily_with_the_three_texts() -> None:
    engine = ScriptedEngine(["Both say shelf 14.\nVerdict: correct", "No.\nVerdict: incorrect", "Hmm."])
    right = judge(engine, QUESTION, "shelf 14", "It is on shelf 14.")
    wrong = judge(engine, QUESTION, "shelf 14", "Shelf 3.")
    unreadable = judge(engine, QUESTION, "shelf 14", "Shelf 14?")
    assert (right.verdict, wrong.verdict, unreadable.verdict) == ("correct", "incorrect", "unparsed")
    assert unreadable.reply == "Hmm."
    first = engine.requests[0]
    assert QUESTION in first.prompt and "shelf 14" in first.prompt and "It is on shelf 14." in first.prompt
    assert "Verdict: correct" in first.prompt  # the prompt names the format the parser reads
    assert first.request.sampling.temperature == 0.0 and not first.request.enable_thinking


def test_no_answer_is_incorrect_without_asking_the_model() -> None:
    engine = ScriptedEngine([])
    assert judge(engine, QUESTION, "shelf 14", None).verdict == "incorrect"
    assert judge(engine, QUESTION, "shelf 14", "  ").verdict == "incorrect"
    assert engine.requests == []


def test_a_prompt_too_long_for_the_context_is_unparsed_not_a_crash() -> None:
    engine = ScriptedEngine(["Verdict: correct"], context_tokens=64)
    result = judge(engine, QUESTION, "shelf 14", "shelf 14 " * 200)
    assert result.verdict == "unparsed" and "could not run" in result.reply


def test_accuracy_reports_match_and_judge_apart() -> None:
    rows = [
        {"match": True, "judge": "correct"},
        {"match": False, "judge": "correct"},
        {"match": False, "judge": "unparsed"},
        {"match": False, "judge": "incorrect"},
    ]
    assert accuracy(rows) == {
        "match_correct": 1,
        "match_accuracy": 0.25,
        "judge_correct": 2,
        "judge_incorrect": 1,
        "judge_unparsed": 1,
        "judge_accuracy": 0.5,
    }
    assert accuracy([{"match": True, "judge": None}]) == {"match_correct": 1, "match_accuracy": 1.0}


@pytest.mark.slow
def test_the_real_model_gives_a_verdict_the_parser_reads(qwen05b: Path) -> None:
    """Only that the reply is read honestly: a verdict where the parser finds one, "unparsed" where
    it does not. Whether the 0.5B model judges well is not asserted."""
    from deepresearch_local.engines.llamacpp import LlamaCppEngine

    engine = LlamaCppEngine(qwen05b, context_tokens=2048)
    engine.load()
    try:
        pairs = [("shelf 14", "The blue archive box is on shelf 14."), ("shelf 14", "It is on shelf 3.")]
        results = [judge(engine, QUESTION, gold, prediction) for gold, prediction in pairs]
    finally:
        engine.unload()
    for result in results:
        assert result.reply.strip(), "the model wrote nothing"
        assert result.verdict == parse_verdict(result.reply)
    print([(r.verdict, r.reply) for r in results])
