"""Is a research answer right? Two separate scores for ``bench research``.

``match``: the reference answer, normalized (case, accents, punctuation, articles, whitespace,
number formats), occurs as a run of whole words in the normalized answer. Cheap, strict, no model.

``judge``: the loaded model is asked whether the answer agrees with the reference (prompt
``agent/prompts/judge.md``), as upstream's evaluation asks a judge model, and its last
"Verdict: correct|incorrect" line is read. A reply without a readable verdict is "unparsed", never
counted as either. Published figures come from a judge pass with a strong model: a small local
judge makes the figure comparable in method, not in the judge's quality.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypeAlias

from deepresearch_local.engines.base import Engine

Verdict: TypeAlias = Literal["correct", "incorrect", "unparsed"]

_ARTICLES = frozenset({"a", "an", "the"})
_UNITS = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
    "sixteen seventeen eighteen nineteen twenty"
)
_TENS = {"thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90}
_NUMBER_WORDS = {word: str(value) for value, word in enumerate(_UNITS.split(" "))} | {
    word: str(value) for word, value in _TENS.items()
}
_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}\b)")
_TOKEN = re.compile(r"\d+(?:\.\d+)?|[^\W_]+")
_THINK = re.compile(r"<think>.*?</think>", re.DOTALL)
_VERDICT_LINE = re.compile(r"verdict\W{0,3}\s*(correct|incorrect)\b", re.IGNORECASE)
_BARE = re.compile(r"\b(incorrect|correct)\b", re.IGNORECASE)
_NOT_CORRECT = re.compile(r"\b(?:not|isn't|is not)\s+correct\b", re.IGNORECASE)


def _number(token: str) -> str:
    """``14.0`` -> ``14``, ``3.50`` -> ``3.5``; words up to ninety -> digits."""
    if token in _NUMBER_WORDS:
        return _NUMBER_WORDS[token]
    if "." in token and token[0].isdigit():
        token = token.rstrip("0").rstrip(".")
    if token.isdigit():
        token = token.lstrip("0") or "0"
    return token


def tokens(text: str) -> list[str]:
    """The words of ``text`` after normalization (see the module docstring)."""
    text = unicodedata.normalize("NFKD", text.casefold())
    text = "".join(c for c in text if not unicodedata.combining(c))
    text = _THOUSANDS.sub("", text)
    return [_number(t) for t in _TOKEN.findall(text) if t not in _ARTICLES]


def normalize(text: str) -> str:
    return " ".join(tokens(text))


def match(prediction: str | None, gold: str) -> bool:
    """Whether the normalized ``gold`` occurs as whole words in the normalized ``prediction``."""
    want = tokens(gold)
    have = tokens(prediction or "")
    if not want or len(want) > len(have):
        return False
    return any(have[i : i + len(want)] == want for i in range(len(have) - len(want) + 1))


def parse_verdict(reply: str) -> Verdict:
    """The judge's verdict: its last "Verdict: ..." line, else a reply that says only one of
    "correct" or "incorrect"; anything else is "unparsed"."""
    text = _THINK.sub("", reply).rsplit("</think>", 1)[-1]
    lines = _VERDICT_LINE.findall(text)
    if lines:
        return "correct" if lines[-1].lower() == "correct" else "incorrect"
    said = {word.lower() for word in _BARE.findall(_NOT_CORRECT.sub("incorrect", text))}
    if len(said) == 1:
        return "correct" if said == {"correct"} else "incorrect"
    return "unparsed"


@dataclass(frozen=True)
class Judgement:
    verdict: Verdict
    reply: str
    """What the judge wrote (or why it was not asked)."""


def judge_prompt(question: str, gold: str, prediction: str) -> str:
    from deepresearch_local.agent import prompts

    return prompts.render("judge", question=question, gold=gold, prediction=prediction)


def judge(
    engine: Engine, question: str, gold: str, prediction: str | None, *, max_tokens: int = 256
) -> Judgement:
    """Ask ``engine`` (loaded) whether ``prediction`` agrees with ``gold``; greedy, no thinking.
    No answer is incorrect without asking; a prompt that does not fit the context is unparsed."""
    from deepresearch_local.engines.base import GenerationRequest, Sampling, collect
    from deepresearch_local.errors import EngineError

    if not (prediction or "").strip():
        return Judgement("incorrect", "(no answer: the judge was not asked)")
    request = GenerationRequest(
        messages=[{"role": "user", "content": judge_prompt(question, gold, prediction or "")}],
        enable_thinking=False,
        max_tokens=max_tokens,
        sampling=Sampling.greedy(),
    )
    try:
        reply = collect(engine.generate(request)).text
    except EngineError as exc:
        return Judgement("unparsed", f"(the judge could not run: {exc})")
    return Judgement(parse_verdict(reply), reply)


def accuracy(rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Match accuracy over ``rows`` (each with ``match``), and judge accuracy over the rows that
    were judged (``judge`` holds a verdict), with the unparsed verdicts counted apart."""
    n = len(rows)
    out: dict[str, Any] = {
        "match_correct": sum(1 for r in rows if r.get("match")),
        "match_accuracy": round(sum(1 for r in rows if r.get("match")) / n, 4) if n else 0.0,
    }
    verdicts = [r["judge"] for r in rows if r.get("judge")]
    if verdicts:
        correct = verdicts.count("correct")
        out |= {
            "judge_correct": correct,
            "judge_incorrect": verdicts.count("incorrect"),
            "judge_unparsed": verdicts.count("unparsed"),
            "judge_accuracy": round(correct / len(verdicts), 4),
        }
    return out
