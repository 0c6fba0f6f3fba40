"""The model's side of ``bench context``: a scripted researcher that searches, reads pages, keeps
notes and answers after a fixed number of turns, in the output format of either mode.

In fold mode every turn rewrites the whole report (its only memory), as the fold prompt asks; in
react mode turns carry only thinking and the call. Asked for a ReSum summary, it writes its notes.
"""

from __future__ import annotations

import json
import re
from typing import Any

from deepresearch_local.agent import prompts
from deepresearch_local.bench.pages import PageMaker

RESUM_MARK = prompts.load("resum").splitlines()[0]
FORCED_MARK = prompts.load("forced_answer").split("(")[0].strip()
CONDENSE_MARK = "condense it this round"
"""Fold mode's note when the carried report reached its share of the budget."""
KEEP_WHEN_CONDENSING = 8


def _asked_to_condense(prompt: str) -> bool:
    """The note stands after the newest report: a prompt that keeps earlier rounds may still show
    an old note, followed by the turns (each with its report) that already condensed."""
    at = prompt.rfind(CONDENSE_MARK)
    return at >= 0 and prompt.count("</report>", at) <= 1  # only the closing tag of the noted report


def _first_sentence(text: str) -> str:
    match = re.match(r"(.+?[.!?])(\s|$)", text)
    return match.group(1) if match else text


class ScriptedResearch:
    """Answers ``steps`` research turns: searches every third turn, visits results in between, and
    answers in the last turn (or as soon as a limit forces an answer)."""

    def __init__(self, pages: PageMaker, mode: str, steps: int) -> None:
        self.pages = pages
        self.mode = mode
        self.steps = steps
        self.turn = 0
        self.kinds: list[str] = []
        """What each call was: "step", "summary" or "answer" (aligned with the engine's calls)."""
        self.findings: list[str] = []
        self.searched: list[str] = []
        self._queue: list[str] = []
        self._last: dict[str, Any] | None = None

    def __call__(self, prompt: str) -> str:
        self._absorb()
        if RESUM_MARK in prompt:
            self.kinds.append("summary")
            return f"<summary>\n{self.notes()}\n</summary>"
        self.turn += 1
        if self.turn >= self.steps or FORCED_MARK in prompt:
            self.kinds.append("answer")
            return self._answer()
        self.kinds.append("step")
        if _asked_to_condense(prompt):
            self._condense()
        call = self._next_call()
        self._last = call
        think = self.pages.script.thoughts[self.turn % len(self.pages.script.thoughts)]
        report = f"<report>\n{self.notes()}\n</report>\n" if self.mode == "fold" else ""
        body = json.dumps(call, ensure_ascii=False)
        return f"<think>{think}</think>\n{report}<tool_call>\n{body}\n</tool_call>"

    def _absorb(self) -> None:
        """Take what the latest call returned into the notes (the tools are as deterministic as this)."""
        call, self._last = self._last, None
        if call is None:
            return
        if call["name"] == "search":
            queries = call["arguments"]["query"]
            self.searched += queries
            results = [self.pages.results(q) for q in queries]
            self._queue = [r["href"] for r in results[0][:2]] + [r["href"] for r in results[-1][:1]]
        else:
            url = call["arguments"]["url"][0]
            page = self.pages.page(url)
            finding = f"- {_first_sentence(page.passages[0][1])} [{url}]"
            if finding not in self.findings:  # a page read again adds nothing new
                self.findings.append(finding)

    def _condense(self) -> None:
        """What the fold prompt asks when the report grew too long: fold the older findings into one."""
        older = len(self.findings) - KEEP_WHEN_CONDENSING
        if older > 0:
            merged = (
                f"- Earlier findings ({older} pages): tropical nights rose in every capital covered, "
                "most steeply inland; city centres stay warmer than rural stations."
            )
            self.findings = [merged, *self.findings[older:]]

    def _next_call(self) -> dict[str, Any]:
        if self.turn % 3 == 1 or not self._queue:
            queries = [self.pages.query(self.turn), self.pages.query(self.turn + 101)]
            return {"name": "search", "arguments": {"query": queries}}
        url = self._queue.pop(0)
        return {"name": "visit", "arguments": {"url": [url], "goal": self.pages.script.goal}}

    def notes(self) -> str:
        """The report (fold) or summary (react): findings with sources, recent searches, what is missing."""
        lines = ["Findings:", *(self.findings or ["- nothing yet"])]
        if self.searched:
            lines += [
                "",
                f"Searched ({len(self.searched)} queries, latest): " + "; ".join(self.searched[-4:]),
            ]
        lines += [
            "",
            "Still missing: comparable counts for the remaining capitals, and one source that separates "
            "the urban heat island from the regional warming trend.",
        ]
        return "\n".join(lines)

    def _answer(self) -> str:
        facts = [f[2:] for f in self.findings[:6]] or ["No figures were found."]
        think = "The report now holds station figures for several capitals and the reasons behind them."
        report = f"<report>\n{self.notes()}\n</report>\n" if self.mode == "fold" else ""
        return f"<think>{think}</think>\n{report}<answer>\n" + "\n".join(facts) + "\n</answer>"
