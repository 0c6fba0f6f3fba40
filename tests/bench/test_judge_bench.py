"""``bench research --judge``: the match and the judge's verdicts, reported apart, in the JSON and in
the printed summary (scripted engine: the judge's replies are chosen by the reference answer)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from deepresearch_local.cli.main import main
from tests.bench.test_research_bench import QUESTIONS, _call, _docs, _questions


def _scripted(tmp_path: Path) -> Path:
    """Question 1 answered right and judged correct; question 2 answered wrong and the judge's reply
    holds no verdict (so it must show as unparsed, not as either)."""
    replies = [
        _call("blue archive box shelf"),
        "<think>Found it.</think>\n<answer>The blue archive box is on shelf 14.</answer>",
        _call("first curator"),
        "<think>Found it.</think>\n<answer>The first curator is not named.</answer>",
    ]
    rules = [
        {"has": ["Reference answer: Shelf 14"], "reply": "Both name shelf 14.\nVerdict: correct"},
        {"has": ["Reference answer: Maria Lind"], "reply": "Hard to say."},
    ]
    path = tmp_path / "scripted.json"
    spec = {"replies": replies, "select": "sequential", "rules": rules, "report": "- Shelf 14 [1]."}
    path.write_text(json.dumps(spec), "utf-8")
    return path


def _args(tmp_path: Path, *more: str) -> list[str]:
    questions, docs = _questions(tmp_path, QUESTIONS), _docs(tmp_path)
    return [
        "bench", "research", "--questions", str(questions), "--docs", str(docs), "--offline",
        "--scripted", str(_scripted(tmp_path)), "--mode", "react", *more,
    ]  # fmt: skip


def test_judge_and_match_are_reported_apart(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*_args(tmp_path, "--judge"), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["judge"] is True
    rows = result["results"]
    assert [(r["match"], r["judge"]) for r in rows] == [(True, "correct"), (False, "unparsed")]
    assert rows[0]["judge_reply"].endswith("Verdict: correct") and rows[1]["judge_reply"] == "Hard to say."
    totals = result["totals"]["react"]
    assert (totals["match_correct"], totals["match_accuracy"]) == (1, 0.5)
    assert (totals["judge_correct"], totals["judge_unparsed"], totals["judge_accuracy"]) == (1, 1, 0.5)


def test_the_summary_prints_both_accuracies(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(_args(tmp_path, "--judge")) == 0
    out = capsys.readouterr().out
    assert "react: match accuracy 50.0% (1/2); judge accuracy 50.0% (1/2, 1 unparsed)" in out


def test_without_judge_no_model_is_asked_to_judge(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*_args(tmp_path), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["judge"] is False
    assert all("judge" not in r for r in result["results"])
    assert "judge_accuracy" not in result["totals"]["react"]
    assert result["totals"]["react"]["match_accuracy"] == 0.5
