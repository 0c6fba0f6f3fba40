"""Chinese and Japanese text for a word index: overlapping two-character pieces.

FTS5's ``unicode61`` tokenizer splits on spaces and punctuation, so a Chinese or Japanese sentence
(written without spaces) becomes one long token that no query matches. The index therefore keeps,
beside each chunk, its CJK runs cut into overlapping bigrams ("中文文本" -> "中文 文文 文本"), and
a query's CJK runs are cut the same way, so keyword search works on those languages too (bigrams
are the usual choice for CJK search without a dictionary). Korean is written with spaces and
needs nothing of this.
"""

from __future__ import annotations

import re

_RUN = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u31f0-\u31ff]+")


def has_cjk(text: str) -> bool:
    return _RUN.search(text) is not None


def bigrams(run: str) -> list[str]:
    """A CJK run's overlapping two-character pieces (a single character stays whole)."""
    if len(run) < 2:
        return [run] if run else []
    return [run[i : i + 2] for i in range(len(run) - 1)]


_LEADS = (*(bytes([lead]) for lead in range(0xE3, 0xEA)), b"\xef")
"""The UTF-8 lead bytes of U+3000-U+9FFF and U+F000-U+FFFF, which hold every CJK range above."""


def index_text(text: str) -> str:
    """The bigrams of every CJK run in ``text``, space-separated ("" when it holds none)."""
    if text.isascii():  # most text: no regex needed
        return ""
    data = text.encode("utf-8", "surrogatepass")
    if not any(lead in data for lead in _LEADS):  # the rest of European text: a byte search
        return ""
    return " ".join(piece for run in _RUN.findall(text) for piece in bigrams(run))


def split_term(token: str) -> list[str]:
    """A query token with CJK in it, as the pieces to search for: its CJK runs as bigrams and its
    other letters as they are; other tokens unchanged."""
    if not has_cjk(token):
        return [token]
    out: list[str] = []
    last = 0
    for match in _RUN.finditer(token):
        if match.start() > last:
            out.append(token[last : match.start()])
        out.extend(bigrams(match.group()))
        last = match.end()
    if last < len(token):
        out.append(token[last:])
    return out
