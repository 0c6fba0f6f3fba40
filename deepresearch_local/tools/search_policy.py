"""Search routing and failure sorting: the region a query goes to, and what a failure means."""

from __future__ import annotations

from typing import Literal

Outcome = Literal[
    "ok",
    "no_results",
    "rate_limited",
    "no_network",
    "timeout",
    "error",
    "offline",
    "skipped",
    "private",
    "auth",
    "bad_request",
    "unconfigured",
]
"""What became of one query. ``auth``: the provider refused the key; ``bad_request``: it refused the
query; ``unconfigured``: the provider lacks its URL or key. These three are never retried."""

FINAL: frozenset[str] = frozenset({"no_results", "auth", "bad_request", "unconfigured"})
"""Outcomes that retrying cannot change."""

DEFAULT_REGIONS: dict[str, str] = {
    "han": "cn-zh",
    "kana": "jp-jp",
    "hangul": "kr-kr",
    "cyrillic": "ru-ru",
    "arabic": "xa-ar",
    "other": "wt-wt",
}


def script_of(text: str) -> str:
    """The dominant non-Latin script of ``text`` ("other" when there is none)."""
    counts = {"han": 0, "kana": 0, "hangul": 0, "cyrillic": 0, "arabic": 0}
    for ch in text:
        cp = ord(ch)
        if 0x3040 <= cp <= 0x30FF:
            counts["kana"] += 1
        elif 0x4E00 <= cp <= 0x9FFF or 0x3400 <= cp <= 0x4DBF:
            counts["han"] += 1
        elif 0xAC00 <= cp <= 0xD7AF or 0x1100 <= cp <= 0x11FF:
            counts["hangul"] += 1
        elif 0x0400 <= cp <= 0x04FF:
            counts["cyrillic"] += 1
        elif 0x0600 <= cp <= 0x06FF:
            counts["arabic"] += 1
    if counts["kana"]:
        return "kana"  # Japanese mixes kanji with kana
    best = max(counts, key=lambda k: counts[k])
    return best if counts[best] else "other"


def classify_error(exc: BaseException) -> Outcome:
    """Sort a ddgs failure: ddgs 9 raises DDGSException for most things, so read the message too."""
    name = type(exc).__name__.lower()
    message = str(exc).lower()
    if "no results" in message:
        return "no_results"
    if "ratelimit" in name or any(k in message for k in ("ratelimit", "rate limit", "429", "202 ")):
        return "rate_limited"
    if "timeout" in name or "timed out" in message or isinstance(exc, TimeoutError):
        return "timeout"
    if any(
        k in message for k in ("connecterror", "name or service", "network is unreachable", "dns", "resolve")
    ):
        return "no_network"
    return "error"
