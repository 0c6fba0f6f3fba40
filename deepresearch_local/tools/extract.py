"""Goal-directed reading of a page with the loaded model (upstream's rational/evidence/summary contract).

The page is cut into parts that fit the engine's real context (counted with its own
tokenizer); each part is read in one call; the model's JSON is parsed tolerantly; its evidence is
kept only where it occurs in the page (see ``evidence``).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

from deepresearch_local.engines.base import CancelToken, Engine, GenerationRequest, Sampling, collect
from deepresearch_local.tools.evidence import PageIndex, Span, blocks, verify

_PLACEHOLDER = re.compile(r"\{\{(content|goal)\}\}")


@dataclass(frozen=True)
class ReadSettings:
    max_parts: int = 3
    """Parts of one page read by the model (each costs a full prompt evaluation)."""
    max_part_tokens: int = 12000
    """Upper bound on one part, below what the context allows (bounds time per call on a laptop)."""
    max_reply_tokens: int = 1024
    parse_retries: int = 1
    """Extra calls for a part whose reply was not parseable JSON."""
    margin_tokens: int = 64
    sampling: Sampling = field(
        default_factory=lambda: Sampling(temperature=0.3, top_p=0.9, top_k=20, presence_penalty=0.0)
    )


@dataclass(frozen=True)
class Extraction:
    rational: str
    evidence: list[str]
    summary: str


@dataclass
class PageReading:
    """What the model found in a page; spans carry offsets into the whole page text."""

    spans: list[Span] = field(default_factory=list)
    summaries: list[str] = field(default_factory=list)
    unverified: int = 0
    parts_total: int = 0
    parts_read: int = 0
    parts_failed: int = 0
    complete: bool = True
    """False when the page had more text than ``max_parts`` parts."""
    cancelled: bool = False
    failure: str = ""
    """Why nothing could be read (empty when at least one part was read)."""


@cache
def prompt_template() -> str:
    return (resources.files("deepresearch_local.tools") / "prompts" / "extract.md").read_text(
        encoding="utf-8"
    )


def build_prompt(goal: str, content: str) -> str:
    values = {"content": content, "goal": goal}
    return _PLACEHOLDER.sub(lambda m: values[m.group(1)], prompt_template())


def parse_extraction(reply: str) -> Extraction | None:
    """The JSON object in a reply: thinking, code fences and text around it tolerated (json5)."""
    import json5

    text = re.sub(r"<think>.*?</think>", "", reply, flags=re.DOTALL)
    text = text.split("</think>")[-1]
    candidates = [m.group(1) for m in re.finditer(r"```(?:json5?|JSON)?\s*(.*?)```", text, re.DOTALL)]
    start, end = text.find("{"), text.rfind("}")
    if start >= 0 and end > start:
        candidates.append(text[start : end + 1])
    for candidate in candidates:
        try:
            data = json5.loads(candidate)
        except ValueError:
            continue
        if isinstance(data, Mapping):
            parsed = _from_mapping(data)
            if parsed is not None:
                return parsed
    return None


def _flatten(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value] if value.strip() else []
    if isinstance(value, Mapping):
        return [s for v in value.values() for s in _flatten(v)]
    if isinstance(value, (list, tuple)):
        return [s for v in value for s in _flatten(v)]
    return [str(value)]


def _from_mapping(data: Mapping[str, Any]) -> Extraction | None:
    keys = {str(k).strip().lower(): v for k, v in data.items()}
    evidence = _flatten(keys.get("evidence"))
    summary = "\n".join(_flatten(keys.get("summary"))).strip()
    if not evidence and not summary:
        return None
    rational = "\n".join(_flatten(keys.get("rational", keys.get("rationale")))).strip()
    return Extraction(rational, evidence, summary)


def split_parts(
    text: str, count: Callable[[str], int], budget: int, max_parts: int
) -> tuple[list[tuple[int, int]], bool]:
    """Cut ``text`` at paragraph breaks into at most ``max_parts`` spans of at most ``budget`` tokens.
    Returns the spans and whether they cover the whole text."""
    parts: list[tuple[int, int]] = []
    cur_start: int | None = None
    cur_end = used = 0
    for start, end in blocks(text):
        for piece_start, piece_end, tokens in _fit(text, start, end, count, budget):
            if cur_start is not None and used + tokens + 2 > budget:
                parts.append((cur_start, cur_end))
                cur_start, used = None, 0
                if len(parts) >= max_parts:
                    return parts, False
            if cur_start is None:
                cur_start = piece_start
            cur_end = piece_end
            used += tokens + 2
    if cur_start is not None:
        parts.append((cur_start, cur_end))
    return parts, True


def _fit(
    text: str, start: int, end: int, count: Callable[[str], int], budget: int
) -> list[tuple[int, int, int]]:
    """Split one block into pieces of at most ``budget`` tokens, at whitespace where possible."""
    window = max(budget * 4, 64)  # a token spans at least one character: this bounds the counting
    if end - start > window:
        out: list[tuple[int, int, int]] = []
        pos = start
        while pos < end:
            stop = _cut_at(text, pos, min(pos + window, end), end)
            out.extend(_fit(text, pos, stop, count, budget))
            pos = stop
        return out
    tokens = count(text[start:end])
    if tokens <= budget or end - start <= 1:
        return [(start, end, tokens)]
    mid = _cut_at(text, start, (start + end) // 2, end)
    return _fit(text, start, mid, count, budget) + _fit(text, mid, end, count, budget)


def _cut_at(text: str, lo: int, at: int, hi: int) -> int:
    if at >= hi:
        return hi
    space = text.rfind(" ", lo + 1, at)
    return space if space > lo + (at - lo) // 2 else at


def read_page(
    engine: Engine,
    text: str,
    goal: str,
    *,
    settings: ReadSettings,
    lock: threading.Lock,
    cancel: CancelToken,
    progress: Callable[[str], None] = lambda _line: None,
) -> PageReading:
    """Ask the model about each part of ``text`` for ``goal`` and merge what it found."""
    reading = PageReading()
    context = engine.context_size() or 8192
    reply_tokens = min(settings.max_reply_tokens, context // 4)
    try:
        empty = engine.render([{"role": "user", "content": build_prompt(goal, "")}], enable_thinking=False)
        overhead = engine.count_tokens(empty)
    except Exception:  # engines without a local template: estimate from the prompt itself
        overhead = engine.count_tokens(build_prompt(goal, "")) + 32
    budget = min(context - reply_tokens - overhead - settings.margin_tokens, settings.max_part_tokens)
    if budget < 128:
        reading.failure = f"the model's context ({context} tokens) is too small to read a page"
        return reading
    parts, reading.complete = split_parts(text, engine.count_tokens, budget, settings.max_parts)
    reading.parts_total = len(parts)
    reasons: list[str] = []
    for number, (start, end) in enumerate(parts, start=1):
        if cancel.cancelled:
            reading.cancelled = True
            break
        progress(f"visit: reading part {number} of {len(parts)}")
        extraction, reason = _ask(
            engine, build_prompt(goal, text[start:end]), settings, reply_tokens, lock, cancel
        )
        if reason == "cancelled":
            reading.cancelled = True
            break
        if extraction is None:
            reading.parts_failed += 1
            reasons.append(reason)
            continue
        reading.parts_read += 1
        spans, missing = verify(PageIndex(text[start:end]), extraction.evidence)
        reading.spans.extend(Span(s.start + start, s.end + start, s.text, s.exact) for s in spans)
        reading.unverified += missing
        if extraction.summary:
            reading.summaries.append(extraction.summary)
    if reading.parts_read == 0 and not reading.cancelled:
        reading.failure = "; ".join(dict.fromkeys(reasons)) or "the page gave no text to read"
    return reading


def _ask(
    engine: Engine,
    prompt: str,
    settings: ReadSettings,
    reply_tokens: int,
    lock: threading.Lock,
    cancel: CancelToken,
) -> tuple[Extraction | None, str]:
    request = GenerationRequest(
        messages=[{"role": "user", "content": prompt}],
        enable_thinking=False,
        max_tokens=reply_tokens,
        sampling=settings.sampling,
    )
    reason = ""
    for _ in range(1 + settings.parse_retries):
        try:
            with lock:
                finished = collect(engine.generate(request, cancel))
        except Exception as exc:  # engine failures become a reason the model reads
            return None, f"the model failed ({type(exc).__name__}: {exc})"
        if finished.reason == "cancelled":
            return None, "cancelled"
        parsed = parse_extraction(finished.text)
        if parsed is not None:
            return parsed, ""
        reason = "the model's reply was not the JSON object asked for"
    return None, reason
