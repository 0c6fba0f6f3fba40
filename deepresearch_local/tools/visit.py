"""The ``visit`` tool: fetch pages and report, for a goal, the evidence they hold and a summary.

Answers in upstream's shape ("The useful information in URL for user goal GOAL as follows" +
"Evidence in page:" + "Summary:"). Evidence shown to the model is text that occurs in the page,
each passage tagged with its location; the same passages come back as ``Evidence`` for citations.
Without a model, the page's passages that best match the goal stand in, labelled as such.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from deepresearch_local.tools.base import Evidence, NetworkEvent, ToolContext, ToolResult
from deepresearch_local.tools.evidence import Locator, Span, best_passages
from deepresearch_local.tools.extract import PageReading, ReadSettings, read_page
from deepresearch_local.tools.fetch import Fetcher, FetchFailed, Hop
from deepresearch_local.tools.search_format import LOCAL_HINT, SEPARATOR
from deepresearch_local.tools.url_guard import UrlGate
from deepresearch_local.tools.web_cache import ArchivedPage

NOT_READ = "Nothing could be read from this page, so it gives no information for the goal."


@dataclass(frozen=True)
class VisitSettings:
    max_urls: int = 5
    """URLs visited per call; the rest are listed as not visited."""
    max_evidence_chars: int = 6000
    """Evidence shown per page; further passages are left out (and said to be)."""
    fallback_passages: int = 4
    """Passages shown when no model reads the page."""
    read: ReadSettings = field(default_factory=ReadSettings)


def shape(url: str, goal: str, evidence: str, summary: str) -> str:
    """Upstream's observation shape for one URL."""
    return (
        f"The useful information in {url} for user goal {goal} as follows: \n\n"
        f"Evidence in page: \n{evidence}\n\nSummary: \n{summary}\n\n"
    )


def unreachable(url: str, goal: str, reason: str) -> str:
    return shape(
        url,
        goal,
        f"The page could not be retrieved: {reason}. Check the URL, or search for another source.",
        NOT_READ,
    )


def refused(goal: str, reason: str) -> str:
    """Upstream's shape for a URL the privacy guard refused, without the URL (see ``url_guard``)."""
    return shape("the requested URL", goal, reason, NOT_READ)


REFUSED_DETAIL = "refused by the privacy guard: not requested"


def unreadable(url: str, goal: str, reason: str) -> str:
    return shape(url, goal, f"The page was retrieved but could not be processed: {reason}.", NOT_READ)


class VisitTool:
    name = "visit"
    description = "Visit web pages (or PDFs) and return the evidence they hold for a goal, with a summary."
    parameters: Mapping[str, Any] = {
        "type": "object",
        "properties": {
            "url": {
                "type": ["string", "array"],
                "items": {"type": "string"},
                "minItems": 1,
                "description": "The URL of the page to visit, or an array of URLs.",
            },
            "goal": {"type": "string", "description": "What to look for in the page(s)."},
        },
        "required": ["url", "goal"],
    }
    needs_network = True

    def __init__(self, settings: VisitSettings | None = None, *, fetcher: Fetcher | None = None) -> None:
        self.settings = settings or VisitSettings()
        self._fetcher = fetcher

    @property
    def fetcher(self) -> Fetcher:
        if self._fetcher is None:
            self._fetcher = Fetcher()
        return self._fetcher

    def call(self, arguments: Mapping[str, Any], context: ToolContext) -> ToolResult:
        urls = _urls(arguments.get("url"))
        goal = " ".join(str(arguments.get("goal") or "").split())
        if not urls or not goal:
            missing = " and ".join(n for n, ok in (("'url'", urls), ("'goal'", goal)) if not ok)
            return ToolResult(
                f"visit needs {missing}: e.g. "
                '{"url": ["https://example.org/page"], "goal": "what the page says about X"}.',
                error=True,
                summary="visit: missing arguments",
            )
        if context.offline:
            return ToolResult(
                "visit is not available: this session is offline, so no web page may be fetched. "
                + LOCAL_HINT,
                error=True,
                summary="visit refused: offline",
            )
        result = ToolResult("")
        blocks: list[str] = []
        read = 0
        gate = UrlGate.for_context(context)
        for i, url in enumerate(urls):
            refusal = gate.check(url) if i < self.settings.max_urls else None
            if i >= self.settings.max_urls:
                blocks.append(f"{url} was not visited: at most {self.settings.max_urls} URLs per call.")
            elif refusal is not None:
                blocks.append(refused(goal, refusal))
                result.network.append(NetworkEvent("fetch", url, "visit", ok=False, detail=REFUSED_DETAIL))
            elif context.cancel.cancelled:
                blocks.append(
                    shape(url, goal, "The visit was cancelled before this page was read.", NOT_READ)
                )
            else:
                text, ok = self._visit(url, goal, context, result, gate)
                blocks.append(text)
                read += ok
        result.text = SEPARATOR.join(blocks)
        result.error = read == 0
        result.summary = f"visit: read {read} of {len(urls)} page(s)"
        return result

    def _visit(
        self, url: str, goal: str, context: ToolContext, result: ToolResult, gate: UrlGate
    ) -> tuple[str, bool]:
        context.progress(f"visit: fetching {url}")
        try:
            outcome = self.fetcher.fetch(url, check_hop=gate.check_hop)
        except FetchFailed as exc:
            result.network.extend(_events(exc.hops))
            if exc.stage == "refused":
                return refused(goal, exc.reason), False
            render = unreachable if exc.stage == "unreachable" else unreadable
            return render(url, goal, exc.reason), False
        except Exception as exc:  # a tool never raises: any other failure is reported to the model
            return unreadable(url, goal, f"{type(exc).__name__}: {exc}"), False
        result.network.extend(_events(outcome.hops))
        met = [url, outcome.page.final_url, *(hop.url for hop in outcome.hops), *outcome.links]
        context.web_links.update(met)
        result.links.extend(met)
        gate.learn(met)
        page = outcome.page
        locate = Locator(page.text)
        notes = []
        if page.truncated:
            notes.append(f"only the first {page.bytes_read // 1_000_000 or 1} MB of the page were fetched")
        if context.engine is None:
            spans, matched = best_passages(page.text, goal, k=self.settings.fallback_passages)
            label = "No model was available to read this page. " + _passages_label(matched)
            summary = "No summary: no model read the page. The passages above are quoted verbatim from it."
            return self._render(url, goal, page, spans, label, summary, notes, locate, result), True
        reading = read_page(
            context.engine,
            page.text,
            goal,
            settings=self.settings.read,
            lock=context.engine_lock,
            cancel=context.cancel,
            progress=context.progress,
        )
        if reading.parts_read == 0:
            if reading.cancelled:
                return shape(url, goal, "The visit was cancelled before this page was read.", NOT_READ), False
            spans, matched = best_passages(page.text, goal, k=self.settings.fallback_passages)
            label = f"The model could not read this page ({reading.failure}). " + _passages_label(matched)
            summary = "No summary: the model's reading failed. The passages above are quoted verbatim."
            return self._render(url, goal, page, spans, label, summary, notes, locate, result), True
        notes.extend(_reading_notes(reading))
        label = ""
        spans = reading.spans
        if not spans:
            spans, matched = best_passages(page.text, goal, k=self.settings.fallback_passages)
            label = "The model quoted nothing that occurs in the page. " + _passages_label(matched)
        summary = "\n".join(reading.summaries) or "The model gave no summary."
        return self._render(url, goal, page, spans, label, summary, notes, locate, result), True

    def _render(
        self,
        url: str,
        goal: str,
        page: ArchivedPage,
        spans: Sequence[Span],
        label: str,
        summary: str,
        notes: list[str],
        locate: Locator,
        result: ToolResult,
    ) -> str:
        lines = [label] if label else []
        shown = 0
        cap = self.settings.max_evidence_chars
        for i, span in enumerate(spans):
            if shown + len(span.text) > cap and shown:
                notes.append(f"{len(spans) - i} further passage(s) left out for length")
                break
            if len(span.text) > cap:  # keep an exact prefix of an overlong passage
                span = Span(span.start, span.start + cap, span.text[:cap], span.exact)
                notes.append(f"a passage was cut to its first {cap} characters")
            location = locate(span.start, span.end)
            lines.append(f"[{location}] {span.text}")
            result.evidence.append(Evidence(page.url, location, span.text, title=page.title, kind="web"))
            shown += len(span.text)
        if notes:
            summary += "\n(Note: " + "; ".join(notes) + ".)"
        return shape(url, goal, "\n".join(lines) or "(none)", summary)


def _passages_label(matched: bool) -> str:
    if matched:
        return "These passages of the page best match the goal, quoted verbatim:"
    return "No passage of the page shares words with the goal; here is how the page begins, quoted verbatim:"


def _reading_notes(reading: PageReading) -> list[str]:
    notes = []
    if not reading.complete:
        notes.append(f"the page is long: only its first {reading.parts_total} part(s) were read")
    if reading.parts_failed:
        notes.append(f"{reading.parts_failed} part(s) could not be read")
    if reading.cancelled:
        notes.append("the visit was cancelled before the whole page was read")
    if reading.unverified:
        notes.append(f"{reading.unverified} quoted passage(s) did not occur in the page and were left out")
    return notes


def _events(hops: Sequence[Hop]) -> list[NetworkEvent]:
    return [NetworkEvent("fetch", hop.url, "visit", ok=hop.ok, detail=hop.detail) for hop in hops]


def _urls(value: object) -> list[str]:
    if isinstance(value, str) and value.strip().startswith("["):
        import json5  # a model sometimes sends the array as a string

        with contextlib.suppress(ValueError):
            value = json5.loads(value)
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, (list, tuple)):
        return []
    return [str(u).strip() for u in value if str(u).strip()]
