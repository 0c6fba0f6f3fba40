"""Notice when a model starts repeating itself while it writes, and cut the repeats.

Small models writing a long section sometimes fall into a loop: the same line again and again,
or the same phrase with no newline. Left alone they run to the token limit, which costs minutes
on a laptop and buries the report. The guard watches the stream; the writer stops the
generation when it trips and keeps the text without the repeats.
"""

from __future__ import annotations

import re

MIN_LINE_CHARS = 12
"""Shorter lines ("---", "", "## Sources") may repeat legitimately; they are skipped when counting."""
LINE_REPEATS = 3
"""The same long line (or the same block of lines) this many times in a row is a loop."""
MAX_CYCLE_LINES = 4
"""The longest block of lines whose back-to-back repetition counts as a loop."""
PHRASE_REPEATS = 4
"""The text ending in the same phrase this many times in a row is a loop."""
MIN_PHRASE_CHARS = 20
MAX_PHRASE_CHARS = 240


def _norm(line: str) -> str:
    return re.sub(r"\s+", " ", line).strip().lower()


def _cycle(keys: list[str], repeats: int) -> int | None:
    """The length of a block of lines that ends ``keys`` ``repeats`` times back to back, if any.

    Only consecutive copies count: a structured list that says "Status: not yet verified" under
    each of five candidates repeats a line, but never the same block twice in a row."""
    for period in range(1, MAX_CYCLE_LINES + 1):
        if len(keys) < period * repeats:
            break
        block = keys[-period:]
        if all(keys[len(keys) - period * (k + 1) : len(keys) - period * k] == block for k in range(repeats)):
            return period
    return None


class RepetitionGuard:
    """Feed the streamed text; ``tripped`` says the model is looping."""

    def __init__(self, line_repeats: int = LINE_REPEATS) -> None:
        self.line_repeats = line_repeats
        self.text = ""
        self.tripped = False
        self._keys: list[str] = []
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
                    self._keys.append(key)
                    if _cycle(self._keys, self.line_repeats) is not None:
                        self.tripped = True
            self._line_start = end + 1
        if not self.tripped:
            self.tripped = _periodic_tail(self.text) is not None
        return self.tripped

    def cleaned(self) -> str:
        """The text with back-to-back repeats kept once and a repeating tail cut to one copy."""
        return without_repeats(self.text)


def without_repeats(text: str) -> str:
    """``text`` with back-to-back copies of a long line (or block of lines) kept once, and a phrase
    repeating at its end cut to one copy. Lines that recur apart from each other all stay."""
    period = _periodic_tail(text)
    if period:
        text = text[: len(text) - period * (PHRASE_REPEATS - 1)]
    kept: list[str] = []
    keys: list[tuple[str, int]] = []  # (normalized long line, its index in kept)
    for line in text.split("\n"):
        kept.append(line)
        key = _norm(line)
        if len(key) < MIN_LINE_CHARS:
            continue
        keys.append((key, len(kept) - 1))
        cycle = _cycle([k for k, _ in keys], 2)
        if cycle is not None:  # the second copy of a block: drop it (and what led up to it)
            del kept[keys[-cycle - 1][1] + 1 :]
            del keys[-cycle:]
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
