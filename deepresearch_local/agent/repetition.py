"""Notice when a model starts repeating itself while it writes, and cut the repeats.

Small models writing a long section sometimes fall into a loop: the same line again and again,
or the same phrase with no newline. Left alone they run to the token limit, which costs minutes
on a laptop and buries the report. The guard watches the stream; the writer stops the
generation when it trips and keeps the text without the repeats.
"""

from __future__ import annotations

import re

MIN_LINE_CHARS = 12
"""Shorter lines ("---", "", "## Sources") may repeat legitimately."""
LINE_REPEATS = 3
"""The same long line this many times is a loop."""
PHRASE_REPEATS = 4
"""The text ending in the same phrase this many times in a row is a loop."""
MIN_PHRASE_CHARS = 20
MAX_PHRASE_CHARS = 240


def _norm(line: str) -> str:
    return re.sub(r"\s+", " ", line).strip().lower()


class RepetitionGuard:
    """Feed the streamed text; ``tripped`` says the model is looping."""

    def __init__(self, line_repeats: int = LINE_REPEATS) -> None:
        self.line_repeats = line_repeats
        self.text = ""
        self.tripped = False
        self._counts: dict[str, int] = {}
        self._line_start = 0

    def feed(self, delta: str) -> bool:
        """Add ``delta``; True once the text shows a loop."""
        self.text += delta
        if self.tripped:
            return True
        end = self.text.rfind("\n")
        if end >= self._line_start:  # one or more lines completed
            for line in self.text[self._line_start : end].split("\n"):
                key = _norm(line)
                if len(key) >= MIN_LINE_CHARS:
                    self._counts[key] = self._counts.get(key, 0) + 1
                    if self._counts[key] >= self.line_repeats:
                        self.tripped = True
            self._line_start = end + 1
        if not self.tripped:
            self.tripped = _periodic_tail(self.text) is not None
        return self.tripped

    def cleaned(self) -> str:
        """The text with repeated long lines kept once and a repeating tail cut to one copy."""
        return without_repeats(self.text)


def without_repeats(text: str) -> str:
    """``text`` with each long line kept once and a phrase repeating at its end cut to one copy."""
    period = _periodic_tail(text)
    if period:
        text = text[: len(text) - period * (PHRASE_REPEATS - 1)]
    seen: set[str] = set()
    kept: list[str] = []
    for line in text.split("\n"):
        key = _norm(line)
        if len(key) >= MIN_LINE_CHARS:
            if key in seen:
                continue
            seen.add(key)
        kept.append(line)
    return "\n".join(kept).rstrip() + ("\n" if text.endswith("\n") else "")


def _periodic_tail(text: str) -> int | None:
    """The length of a phrase that ends ``text`` ``PHRASE_REPEATS`` times in a row, if any."""
    tail = text[-MAX_PHRASE_CHARS * PHRASE_REPEATS :]
    last = tail[-1:]
    for period in range(MIN_PHRASE_CHARS, len(tail) // PHRASE_REPEATS + 1):
        if tail[-period - 1 : -period] != last:  # cheap first test: the copies end alike
            continue
        unit = tail[-period:]
        if any(tail[-period * (k + 1) : len(tail) - period * k] != unit for k in range(1, PHRASE_REPEATS)):
            continue
        if "|" in unit or len(re.findall(r"[^\W\d_]{2,}", unit)) < 3:
            continue  # table rows and rules repeat cells by design; a loop repeats words
        return period
    return None
