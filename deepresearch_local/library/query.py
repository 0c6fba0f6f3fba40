"""From what a person (or the model) types to a safe FTS5 query, and from several ranked lists
to one.

Free text never reaches FTS5's query syntax: every term is quoted, so quotes, ``*``, ``-``,
``:``, ``NEAR``, ``AND``/``OR``/``NOT`` and parentheses are just words. Terms are OR-ed (BM25
ranks chunks holding more and rarer terms first), common words are dropped unless nothing else
is left, and a word that splits into several tokens (``lru_cache``, ``e-mail``) also adds the
phrase, so chunks that keep the tokens together rank higher.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Sequence

MAX_TERMS = 32

_STOPWORDS_TEXT = """
a about above after again against all am an and any are as at be because been before being
below between both but by can could did do does doing down during each few for from further had
has have having he her here hers herself him himself his how i if in into is it its itself just
me more most my myself no nor not now of off on once only or other our ours ourselves out over
own same she should so some such than that the their theirs them themselves then there these
they this those through to too under until up very was we were what when where which while who
whom why will with would you your yours yourself yourselves get got use using used way want
need tell show find
"""
_FRAGMENTS_TEXT = "s t m d ll re ve don doesn didn isn aren wasn weren wouldn couldn shouldn hasn haven hadn"
"""What contractions and possessives split into (``don't`` -> ``don`` ``t``, ``project's`` ->
``project`` ``s``): a single ``s`` or ``t`` is in about a quarter of all chunks and ranks noise
(the retrieval dev set: 50 -> 51 of 91 questions with BM25 alone). The phrase (``"don t"``)
still matches the contraction itself."""
STOPWORDS = frozenset(_STOPWORDS_TEXT.split()) | frozenset(_FRAGMENTS_TEXT.split())

_TOKEN = re.compile(r"[^\W_]+")


def tokens(text: str) -> list[str]:
    """Lower-cased word tokens, split the way FTS5's unicode61 tokenizer splits."""
    return [t.lower() for t in _TOKEN.findall(text)]


MAX_PAIRS = 16


def adjacent_pairs(text: str, words: Collection[str] | None = None) -> list[str]:
    """Each two content words that follow each other in ``text`` (no common word between them),
    as a phrase: "wrong description", "network call"; with ``words``, only those words count (any
    other breaks the pair). Search adds a little for chunks holding such a phrase (see
    ``search.PAIR_WEIGHT``): a passage that says what the question says, in the same words next to
    each other, is more likely about it than one holding the words apart."""
    from deepresearch_local.library.cjk import has_cjk

    pairs: list[str] = []
    previous: str | None = None
    for word in tokens(text):
        if word in STOPWORDS or has_cjk(word) or (words is not None and word not in words):
            previous = None  # CJK is matched as bigrams already
            continue
        if previous is not None:
            pairs.append(f"{previous} {word}")
        previous = word
    return list(dict.fromkeys(pairs))[:MAX_PAIRS]


def quote(term: str) -> str:
    return '"' + term.replace('"', '""') + '"'


def query_terms(text: str) -> list[str]:
    """The terms to search for: phrases first (words that split into several tokens), then single
    words without the common ones (unless nothing else is left); no duplicates, at most
    ``MAX_TERMS``."""
    from deepresearch_local.library.cjk import split_term

    words = tokens(text)
    content = [w for w in words if w not in STOPWORDS] or words
    phrases = [" ".join(parts) for parts in (tokens(raw) for raw in text.split()) if len(parts) > 1]
    pieces: list[str] = []
    for word in content:
        split = split_term(word)
        if len(split) > 1:  # a CJK run: its bigrams in order (the exact run) and each bigram
            phrases.append(" ".join(split))
        pieces.extend(split)
    return list(dict.fromkeys(phrases + pieces))[:MAX_TERMS]


def to_match(terms: Sequence[str]) -> str | None:
    """An FTS5 MATCH expression: the quoted terms OR-ed; None when there are none."""
    return " OR ".join(quote(t) for t in terms) or None


def match_expression(text: str) -> str | None:
    """An FTS5 MATCH expression for free text, or None when it holds no searchable word."""
    return to_match(query_terms(text))


def prune_common(terms: Sequence[str], frequency: Callable[[str], int], budget: int) -> list[str]:
    """Keep the rarest terms whose chunk counts add up to at most ``budget`` (always at least one).

    BM25 must score every chunk that holds any term, so a very common word costs the most time
    while adding the least to the ranking; past the budget, the most common words are left out.
    """
    if len(terms) < 2:
        return list(terms)
    counts = {t: frequency(t) for t in terms}
    if sum(counts.values()) <= budget:
        return list(terms)
    kept: list[str] = []
    total = 0
    for term in sorted(terms, key=lambda t: counts[t]):
        if kept and total + counts[term] > budget:
            break
        kept.append(term)
        total += counts[term]
    return [t for t in terms if t in kept]
