"""What counts as the user's private text in an outbound request, for every channel.

Two kinds of leak are found, each against the texts of the local documents read in the run:

- a *span*: ``span`` or more consecutive words of a local text (case, Unicode composition and
  punctuation ignored). Channels pick the length: a search query may share a 12-word phrase by
  accident, a URL has no business carrying 5 words of the user's notes;
- a *secret*: a token of a local text that looks like a key, a password or an account number
  (letters and digits mixed the way random strings mix them, or 9+ digits), found anywhere in the
  request once both are squeezed to letters and digits (so separators, dots between DNS labels
  and case do not hide it). One such token is enough, however short the request.

The texts may be large (a whole library's evidence): each is scanned once per check, and the
span search only tokenizes texts that contain an anchor word of the request.
"""

from __future__ import annotations

import itertools
import math
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

_WORD = re.compile(r"\w+")
_TOKEN = re.compile(r"[A-Za-z0-9_+=\-]{8,}")
_DIGITS = re.compile(r"\d(?:[ \-./]?\d){8,}")
_NOT_ALNUM = re.compile(r"[^0-9a-z]+")

URL_SPAN_WORDS = 5
"""Consecutive words of a local text that make a URL suspicious."""
QUERY_SPAN_WORDS = 12
"""Consecutive words of a local text that make a search query suspicious."""


@dataclass(frozen=True)
class Leak:
    """Private text found in a request."""

    kind: Literal["span", "secret"]
    words: int
    """Length of the shared span in words (0 for a secret)."""
    excerpt: str
    """What the refusal may show of it: the first words of a span, a masked secret."""


def normalized_words(text: str) -> list[str]:
    return _WORD.findall(unicodedata.normalize("NFKC", text).casefold())


def squeeze(text: str) -> str:
    """Letters and digits only, case-folded: what a secret is compared in."""
    return _NOT_ALNUM.sub("", unicodedata.normalize("NFKC", text).casefold())


def _entropy(text: str) -> float:
    counts = Counter(text)
    return -sum(n / len(text) * math.log2(n / len(text)) for n in counts.values())


def _class(ch: str) -> str:
    return "d" if ch.isdigit() else "u" if ch.isupper() else "l"


def secret_chunks(token: str) -> list[str]:
    """The parts of a token shaped like a key or password: runs of 8+ letters and digits mixing
    both, with frequent switches between digits, upper and lower case, and high character entropy.

    "4f9a8b7c6d5e4f3a", "Tr0ub4dor" and "ghp_16C7e42F292c" qualify; "nature12373",
    "Qwen2-72B-Instruct" and "SARS-CoV-2" do not.
    """
    chunks = []
    for chunk in re.split(r"[_+=\-]+", token):
        if len(chunk) < 8:
            continue
        digits = sum(c.isdigit() for c in chunk)
        if digits < 2 or len(chunk) - digits < 2:
            continue
        switches = sum(_class(a) != _class(b) for a, b in itertools.pairwise(chunk))
        if switches >= 4 and _entropy(chunk) >= 2.8:
            chunks.append(chunk)
    return chunks


def looks_secret(token: str) -> bool:
    return bool(secret_chunks(token))


@lru_cache(maxsize=4096)
def _chunk_secrets(text: str) -> frozenset[str]:
    return frozenset(squeeze(c) for t in _TOKEN.findall(text) for c in secret_chunks(t))


@lru_cache(maxsize=4096)
def _digit_secrets(text: str) -> frozenset[str]:
    return frozenset(re.sub(r"\D", "", run) for run in _DIGITS.findall(text))


def secrets_in(text: str) -> set[str]:
    """The squeezed secret-like chunks and long digit runs of ``text``."""
    return set(_chunk_secrets(text) | _digit_secrets(text))


def find_secret(request_texts: Sequence[str], local_texts: Iterable[str]) -> Leak | None:
    """A secret of a local text that occurs in one of ``request_texts`` (after squeezing); for
    long numbers, 9 digits of one are enough.

    A text is only scanned for the kinds of secret the request could hold at all (a request
    without a 9-digit run cannot carry a long number), and what a text holds is cached.
    """
    squeezed = [s for s in (squeeze(t) for t in request_texts) if len(s) >= 8]
    numbers = {run for s in squeezed for run in re.findall(r"\d{9,}", s)}
    mixed = [s for s in squeezed if sum(c.isdigit() for c in s) >= 2]
    if not numbers and not mixed:
        return None
    for text in local_texts:
        if not any(c.isdigit() for c in text):
            continue  # every secret holds digits
        for secret in _chunk_secrets(text) if mixed else ():
            if any(secret in s for s in mixed):
                return Leak("secret", 0, mask(secret))
        for secret in _digit_secrets(text) if numbers else ():
            if any(secret in s for s in squeezed) or any(number in secret for number in numbers):
                return Leak("secret", 0, mask(secret))
    return None


def mask(secret: str) -> str:
    """Enough of a secret to recognize it, not enough to use it: "4f9a…(20 characters)"."""
    return f"{secret[:4]}… ({len(secret)} characters)"


def find_span(request: str, local_texts: Iterable[str], span: int) -> Leak | None:
    """The first run of ``span``+ consecutive words of ``request`` that occurs in a local text.

    The request's shingles (runs of ``span`` words) are hashed once; a text is tokenized only
    if it contains the longest word of some shingle, and then only positions starting like a
    shingle are looked up.
    """
    words = normalized_words(request)
    span = max(int(span), 1)
    if len(words) < span:
        return None
    shingles: dict[tuple[str, ...], int] = {}
    for start in range(len(words) - span + 1):
        shingles.setdefault(tuple(words[start : start + span]), start)
    firsts = {words[start] for start in range(len(words) - span + 1)}
    anchors = {max(words[start : start + span], key=len) for start in range(len(words) - span + 1)}
    for text in local_texts:
        folded = unicodedata.normalize("NFKC", text).casefold()
        if not any(anchor in folded for anchor in anchors):
            continue
        tokens = _WORD.findall(folded)
        for position in range(len(tokens) - span + 1):
            if tokens[position] not in firsts:
                continue
            found = shingles.get(tuple(tokens[position : position + span]))
            if found is None:
                continue
            start = found
            length = span
            while start + length < len(words) and position + length < len(tokens):
                if words[start + length] != tokens[position + length]:
                    break
                length += 1
            return Leak("span", length, " ".join(words[start : start + min(length, 8)]))
    return None


def find_leak(request_texts: Sequence[str], local_texts: Iterable[str], span: int) -> Leak | None:
    """A span of ``span`` words or a secret of the local texts in any of ``request_texts``."""
    texts = list(local_texts)
    if not texts:
        return None
    for request in request_texts:
        leak = find_span(request, texts, span)
        if leak is not None:
            return leak
    return find_secret(request_texts, texts)
