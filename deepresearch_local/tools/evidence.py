"""Evidence that can be checked: spans of the page text located by character offsets.

A model's "evidence" is trusted only where it occurs in the page. Quotes are matched
exactly (ignoring case and runs of whitespace); a near-quote is replaced by the page sentence
it paraphrases when nearly all its words are there; anything else is dropped. Without a
model, the passages that best match the goal (BM25 over the page's paragraphs) stand in.
"""

from __future__ import annotations

import bisect
import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

_WS = re.compile(r"\s+")
_WORD = re.compile(r"[^\W_]+", re.UNICODE)
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af]")
_SENTENCE = re.compile(r"[^.!?。！？\n]+(?:[.!?。！？]+|$)", re.MULTILINE)
_BULLET = re.compile(r"^\s*(?:[-*•>]+|\d+[.)])\s+")
_STOP_WORDS = (
    "a an and are as at be by for from has have how in into is it its of on or that the their this to "
    "was were what when where which who why will with about does did do can than then there these those"
)
_STOP = frozenset(_STOP_WORDS.split(" "))


@dataclass(frozen=True)
class Span:
    start: int
    end: int
    text: str
    exact: bool = True
    """False when the model's words were mapped to the page sentence they paraphrase."""


def words(text: str) -> list[str]:
    """Lower-cased content words; CJK characters count one by one."""
    out: list[str] = []
    for token in _WORD.findall(text.lower()):
        if _CJK.search(token):
            out.extend(ch for ch in token if not ch.isspace())
        elif token not in _STOP and (len(token) > 1 or token.isdigit()):
            out.append(token)
    return out


class PageIndex:
    """The page text with a whitespace-collapsed, case-folded copy and an offset map back."""

    def __init__(self, text: str) -> None:
        self.text = text
        chars: list[str] = []
        self.offsets: list[int] = []
        prev_space = True
        for i, ch in enumerate(text):
            if ch.isspace():
                if prev_space:
                    continue
                chars.append(" ")
                prev_space = True
            else:
                chars.append(ch.lower())
                prev_space = False
            self.offsets.append(i)
        self.norm = "".join(chars)
        self._sentences: list[tuple[int, int, set[str]]] | None = None

    def find(self, quote: str) -> Span | None:
        needle = _WS.sub(" ", quote).strip().lower()
        if not needle:
            return None
        at = self.norm.find(needle)
        if at < 0:
            return None
        start, end = self.offsets[at], self.offsets[at + len(needle) - 1] + 1
        return Span(start, end, self.text[start:end])

    def sentences(self) -> list[tuple[int, int, set[str]]]:
        if self._sentences is None:
            self._sentences = []
            for m in _SENTENCE.finditer(self.text):
                chunk = m.group(0)
                stripped = chunk.strip()
                if len(stripped) < 12:
                    continue
                start = m.start() + (len(chunk) - len(chunk.lstrip()))
                self._sentences.append((start, start + len(stripped), set(words(stripped))))
        return self._sentences

    def closest_sentence(self, quote: str, threshold: float = 0.8, window: int = 3) -> Span | None:
        """The run of up to ``window`` adjacent page sentences holding at least ``threshold`` of the
        quote's words, while the quote covers at least half of theirs (so a short quote cannot claim a
        long passage). The tightest such run wins."""
        wanted = set(words(quote))
        if len(wanted) < 3:
            return None
        sentences = self.sentences()
        best: tuple[float, float, int, int, int] | None = None
        for i in range(len(sentences)):
            have: set[str] = set()
            for j in range(i, min(i + window, len(sentences))):
                have |= sentences[j][2]
                recall = len(wanted & have) / len(wanted)
                precision = len(wanted & have) / len(have) if have else 0.0
                if recall >= threshold and precision >= 0.5:
                    tight = sentences[i][0] - sentences[j][1]
                    score = (recall, precision, tight, sentences[i][0], sentences[j][1])
                    if best is None or score[:3] > best[:3]:
                        best = score
                    break
        if best is None:
            return None
        start, end = best[3], best[4]
        return Span(start, end, self.text[start:end], exact=False)


def quote_pieces(evidence: Iterable[str]) -> list[str]:
    """Split the model's evidence into quotable pieces: lines, and the parts around ellipses."""
    pieces: list[str] = []
    for item in evidence:
        for line in str(item).splitlines():
            line = _BULLET.sub("", line).strip()
            for part in re.split(r"\s*(?:\.\.\.|…|\[\.\.\.\])\s*", line):
                part = part.strip().strip("\"'“”‘’«»").strip()
                if len(part) >= 8:
                    pieces.append(part)
    return pieces


def verify(index: PageIndex, evidence: Iterable[str]) -> tuple[list[Span], int]:
    """Spans of the page backing the model's evidence, in page order without overlaps, and the
    number of pieces that did not occur in the page."""
    found: list[Span] = []
    missing = 0
    for piece in quote_pieces(evidence):
        span = index.find(piece) or index.closest_sentence(piece)
        if span is None:
            missing += 1
        else:
            found.append(span)
    return fill_text(merge_spans(found), index.text), missing


def merge_spans(spans: Sequence[Span]) -> list[Span]:
    out: list[Span] = []
    for span in sorted(spans, key=lambda s: (s.start, -s.end)):
        if out and span.start < out[-1].end:
            if span.end > out[-1].end:
                last = out[-1]
                out[-1] = Span(last.start, span.end, "", last.exact and span.exact)
            continue
        out.append(span)
    return out


def fill_text(spans: Sequence[Span], text: str) -> list[Span]:
    return [Span(s.start, s.end, text[s.start : s.end], s.exact) for s in spans]


# ---------------------------------------------------------------- locations


class Locator:
    """Describes an offset: the heading (HTML, Markdown) or page marker (PDF) above it, plus offsets."""

    _MARK = re.compile(r"^(#{1,6}) +(.+)$|^\[page (\d+)\]$", re.MULTILINE)

    def __init__(self, text: str) -> None:
        self._at: list[int] = []
        self._label: list[str] = []
        for m in self._MARK.finditer(text):
            self._at.append(m.start())
            self._label.append(f"p. {m.group(3)}" if m.group(3) else f"§ {m.group(2).strip()}")

    def __call__(self, start: int, end: int) -> str:
        i = bisect.bisect_right(self._at, start) - 1
        where = f"chars {start}-{end}"
        return f"{self._label[i]}, {where}" if i >= 0 else where


# ---------------------------------------------------------------- passages without a model


def blocks(text: str) -> Iterable[tuple[int, int]]:
    """(start, end) of each blank-line separated block, surrounding whitespace excluded."""
    pos = 0
    for sep in [*re.finditer(r"\n[ \t\r\f\v]*\n\s*", text), None]:
        stop = sep.start() if sep is not None else len(text)
        chunk = text[pos:stop]
        if chunk.strip():
            lead = len(chunk) - len(chunk.lstrip())
            yield pos + lead, pos + len(chunk.rstrip())
        if sep is not None:
            pos = sep.end()


def paragraphs(text: str, target: int = 700) -> list[Span]:
    """Paragraph spans, short neighbours merged up to about ``target`` characters."""
    out: list[Span] = []
    for start, end in blocks(text):
        heading = text.startswith("#", start) or text.startswith("[page ", start)
        if (
            out
            and not heading
            and end - out[-1].start <= target
            and out[-1].end - out[-1].start < target // 2
        ):
            out[-1] = Span(out[-1].start, end, "")
        else:
            out.append(Span(start, end, ""))
    return fill_text(out, text)


def best_passages(text: str, goal: str, k: int = 4, max_chars: int = 1500) -> tuple[list[Span], bool]:
    """The ``k`` passages that best match the goal (BM25), in page order; ``False`` when no word of
    the goal occurs and the page's opening passages are returned instead."""
    passages = [p if len(p.text) <= max_chars else Span(p.start, p.start + max_chars, p.text[:max_chars])
                for p in paragraphs(text)]  # fmt: skip
    if not passages:
        return [], False
    query = set(words(goal))
    docs = [Counter(words(p.text)) for p in passages]
    n = len(docs)
    avg = sum(sum(d.values()) for d in docs) / n or 1.0
    df = Counter(term for d in docs for term in d if term in query)
    scores: list[tuple[float, int]] = []
    for i, doc in enumerate(docs):
        length = sum(doc.values())
        score = 0.0
        for term in query & doc.keys():
            idf = math.log(1 + (n - df[term] + 0.5) / (df[term] + 0.5))
            tf = doc[term]
            score += idf * tf * 2.2 / (tf + 1.2 * (0.25 + 0.75 * length / avg))
        scores.append((score, i))
    ranked = [i for score, i in sorted(scores, key=lambda s: (-s[0], s[1])) if score > 0][:k]
    if not ranked:
        return passages[:k], False
    return [passages[i] for i in sorted(ranked)], True
