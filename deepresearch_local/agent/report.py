"""The report pass: a cited Markdown report whose every citation points at evidence from this run.

The model writes only the findings, citing numbered evidence; we compose the rest (question,
answer first, sources) and check each citation: a number with no evidence behind it is removed,
and a citation whose evidence shares no content word with its sentence is flagged.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from deepresearch_local.agent import prompts

SNIPPET_CHARS = 500
_CITE = re.compile(r"\[(\d+(?:\s*(?:,|\]\[)\s*\d+)*)\]")
_WORD = re.compile(r"[^\W_]{4,}", re.U)


@dataclass(frozen=True)
class Report:
    markdown: str
    citations: int
    """Citations kept (each points at evidence returned by a tool in this run)."""
    dropped: int
    """Citation numbers removed because no evidence had that number."""
    flagged: int
    """Citations kept but marked: their evidence shares no content word with the sentence."""


def select_evidence(
    evidence: Sequence[dict[str, Any]], question: str, answer: str, room: int, count: Callable[[str], int]
) -> list[dict[str, Any]]:
    """The most relevant evidence that fits in ``room`` tokens, in the order it was found."""
    terms = {w.lower() for w in _WORD.findall(question + " " + answer)}

    def score(item: dict[str, Any]) -> tuple[int, int]:
        words = {w.lower() for w in _WORD.findall(item["text"])}
        return (len(terms & words), int(item.get("step_index", 0)))

    chosen: list[dict[str, Any]] = []
    used = 0
    for item in sorted(evidence, key=score, reverse=True):
        cost = count(_format_item(0, item)) + 4
        if used + cost > room:
            continue
        chosen.append(item)
        used += cost
    order = {id(item): i for i, item in enumerate(evidence)}
    return sorted(chosen, key=lambda item: order[id(item)])


def _where(item: dict[str, Any]) -> str:
    location = f", {item['location']}" if item.get("location") else ""
    return f"{item['source']}{location}"


def _format_item(n: int, item: dict[str, Any]) -> str:
    text = " ".join(str(item["text"]).split())
    if len(text) > SNIPPET_CHARS:
        text = text[:SNIPPET_CHARS] + " ..."
    return f"[{n}] ({_where(item)}) {text}"


def evidence_block(items: Sequence[dict[str, Any]]) -> str:
    return "\n".join(_format_item(i, item) for i, item in enumerate(items, 1)) or "(no evidence was returned)"


def report_prompt(question: str, answer: str, draft: str, items: Sequence[dict[str, Any]]) -> str:
    draft_text = f"Your working report:\n{draft}\n\n" if draft.strip() else ""
    return prompts.render(
        "report", question=question, answer=answer, draft=draft_text, evidence=evidence_block(items)
    )


def _check(findings: str, items: Sequence[dict[str, Any]]) -> tuple[str, set[int], int, int]:
    """Remove citations to missing evidence and flag weak ones. (text, cited, dropped, flagged)."""
    cited: set[int] = set()
    dropped = flagged = 0
    out_lines = []
    for line in findings.splitlines():
        words = {w.lower() for w in _WORD.findall(_CITE.sub(" ", line))}

        def fix(match: re.Match[str], words: set[str] = words) -> str:
            nonlocal dropped, flagged
            kept = []
            for raw in re.split(r"\s*(?:,|\]\[)\s*", match.group(1)):
                n = int(raw)
                if not 1 <= n <= len(items):
                    dropped += 1
                    continue
                evidence_words = {w.lower() for w in _WORD.findall(str(items[n - 1]["text"]))}
                if words and not words & evidence_words:
                    flagged += 1
                    kept.append(f"{n}†")
                else:
                    kept.append(str(n))
                cited.add(n)
            return "".join(f"[{k}]" for k in kept)

        out_lines.append(_CITE.sub(fix, line))
    return "\n".join(out_lines), cited, dropped, flagged


def compose(question: str, answer: str, findings: str, items: Sequence[dict[str, Any]]) -> Report:
    """The final Markdown: question, answer, checked findings, and the sources actually cited."""
    findings = findings.strip()
    checked, cited, dropped, flagged = _check(findings, items) if findings else ("", set(), 0, 0)
    if not cited:  # the model's findings cite nothing usable: list the evidence itself
        checked = (checked + "\n\n" if checked else "") + "\n".join(
            f"- {_format_item(i, item)[len(f'[{i}] ') :]} [{i}]" for i, item in enumerate(items, 1)
        )
        cited = set(range(1, len(items) + 1))
    parts = [f"# {question.strip()}", "", "## Answer", "", answer.strip(), ""]
    if checked.strip():
        parts += ["## Findings", "", checked.strip(), ""]
    if cited:
        parts += ["## Sources", ""]
        for n in sorted(cited):
            item = items[n - 1]
            title = f"{item['title']}: " if item.get("title") else ""
            parts.append(f"{n}. {title}{_where(item)}")
        parts.append("")
    if flagged:
        parts += ["† The cited source does not clearly state this; check it before relying on it.", ""]
    return Report("\n".join(parts), len(cited), dropped, flagged)
