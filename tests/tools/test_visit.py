"""The visit tool end to end: a real HTTP server on 127.0.0.1, the scripted engine, the real 0.5B model."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

import pytest

from deepresearch_local.engines.base import Sampling
from deepresearch_local.engines.scripted import ScriptedEngine
from deepresearch_local.tools.base import ToolContext, ToolResult
from deepresearch_local.tools.extract import ReadSettings, parse_extraction, split_parts
from deepresearch_local.tools.fetch import Fetcher, FetchSettings, HostPacer
from deepresearch_local.tools.search_format import SEPARATOR
from deepresearch_local.tools.visit import NOT_READ, VisitSettings, VisitTool, shape
from deepresearch_local.tools.web_cache import PageArchive
from tests.tools.web_server import RUSSIAN, WebServer, web

__all__ = ["web"]

GOAL = "When did the Annapolis tidal station close, and why?"
CLOSED = "It closed in 2019 after the turbine failed, and the province did not fund a replacement."
OPENED = "The Annapolis Royal Generating Station opened in 1984"


def tool(**read: Any) -> VisitTool:
    fetcher = Fetcher(
        FetchSettings(politeness_delay=0.0, read_timeout=1.5, total_timeout=3.0), pacer=HostPacer()
    )
    return VisitTool(VisitSettings(read=ReadSettings(**read)), fetcher=fetcher)


def visit(t: VisitTool, url: str | list[str], engine: Any = None, goal: str = GOAL, **ctx: Any) -> ToolResult:
    return t.call({"url": url, "goal": goal}, ToolContext(engine=engine, **ctx))


def page_text(url: str) -> str:
    page = PageArchive().get(url)
    assert page is not None
    return page.text


def reply(rational: str, evidence: str, summary: str) -> str:
    return json.dumps({"rational": rational, "evidence": evidence, "summary": summary})


def quote_first_sentence(prompt: str) -> str:
    """A scripted reply quoting the first sentence of the part it was given."""
    content = prompt.split("## Page content\n", 1)[1].split("\n\n## Goal", 1)[0]
    sentence = re.search(r"[A-Z][^.\n]{20,}\.", content)
    assert sentence is not None
    return reply("", sentence.group(0), f"part with {len(content)} chars")


def test_scripted_extraction_gives_upstream_shape_with_located_evidence(web: WebServer) -> None:
    engine = ScriptedEngine(
        [reply("The second section covers it.", f"{OPENED}\n{CLOSED}", "It closed in 2019.")]
    )
    url = web.url("/article")
    result = visit(tool(), url, engine)
    text = page_text(url)
    a, b = text.index(OPENED), text.index(CLOSED)
    assert result.text == shape(
        url,
        GOAL,
        f"[§ The Annapolis station, chars {a}-{a + len(OPENED)}] {OPENED}\n"
        f"[§ The Annapolis station, chars {b}-{b + len(CLOSED)}] {CLOSED}",
        "It closed in 2019.",
    )
    assert result.text.startswith(
        f"The useful information in {url} for user goal {GOAL} as follows: \n\nEvidence in page: \n"
    )
    assert [(e.source, e.location, e.text, e.kind, e.title) for e in result.evidence] == [
        (
            url,
            f"§ The Annapolis station, chars {a}-{a + len(OPENED)}",
            OPENED,
            "web",
            "Tidal Energy in the Bay of Fundy",
        ),
        (
            url,
            f"§ The Annapolis station, chars {b}-{b + len(CLOSED)}",
            CLOSED,
            "web",
            "Tidal Energy in the Bay of Fundy",
        ),
    ]
    assert [(n.kind, n.target, n.tool, n.ok) for n in result.network] == [("fetch", url, "visit", True)]
    assert not result.error and result.summary == "visit: read 1 of 1 page(s)"
    prompt = engine.requests[0].request.messages[0]["content"]  # type: ignore[index]
    assert f"## Goal\n{GOAL}\n" in prompt and CLOSED in prompt and "Buy cheap widgets" not in prompt
    assert engine.requests[0].request.enable_thinking is False


def test_invented_quotes_are_dropped_and_paraphrases_mapped_to_the_page(web: WebServer) -> None:
    evidence = [
        "The station was destroyed by a hurricane in 2012.",  # not in the page
        "it closed in 2019 after the turbine failed and the province did not fund it",  # near-quote
    ]
    engine = ScriptedEngine(
        [json.dumps({"rational": "", "evidence": evidence, "summary": "Closed in 2019."})]
    )
    url = web.url("/article")
    result = visit(tool(), url, engine)
    assert [e.text for e in result.evidence] == [CLOSED]
    assert "hurricane" not in result.text.split("Summary:")[0]
    assert result.text.endswith(
        "Closed in 2019.\n(Note: 1 quoted passage(s) did not occur in the page and were left out.)\n\n"
    )


def test_malformed_reply_is_retried_then_tolerant_json_is_parsed(web: WebServer) -> None:
    fenced = (
        "Sure!\n```json\n{'rational': 'x', evidence: ['" + CLOSED + "'], summary: 'Closed in 2019.',}\n```"
    )
    engine = ScriptedEngine(["I think the station closed.", fenced])
    result = visit(tool(), web.url("/article"), engine)
    assert len(engine.requests) == 2
    assert [e.text for e in result.evidence] == [CLOSED]
    assert "\n\nSummary: \nClosed in 2019.\n\n" in result.text


def test_unparseable_replies_fall_back_to_labelled_passages(web: WebServer) -> None:
    engine = ScriptedEngine(["no json here", '{"rational": "unterminated'])
    url = web.url("/article")
    result = visit(tool(), url, engine)
    evidence = result.text.split("Evidence in page: \n", 1)[1]
    assert evidence.startswith(
        "The model could not read this page (the model's reply was not the JSON object asked for). "
        "These passages of the page best match the goal, quoted verbatim:\n["
    )
    text = page_text(url)
    assert result.evidence and all(e.text in text for e in result.evidence)
    assert any(CLOSED in e.text for e in result.evidence)
    assert not result.error


def test_without_a_model_the_goal_relevant_passages_are_returned(web: WebServer) -> None:
    url = web.url("/article")
    result = visit(tool(), url, None, goal="fish blades monitoring sonar")
    text = page_text(url)
    assert (
        "No model was available to read this page. These passages of the page best match the goal"
        in result.text
    )
    assert [e.location.split(",")[0] for e in result.evidence] == ["§ New projects", "§ Open questions"]
    assert "let fish pass" in result.evidence[0].text
    assert "Biologists still ask how many fish strike the blades each year" in result.evidence[1].text
    for e in result.evidence:
        start, end = map(int, re.search(r"chars (\d+)-(\d+)", e.location).groups())  # type: ignore[union-attr]
        assert text[start:end] == e.text


def test_long_pages_are_split_to_fit_the_context_and_merged(web: WebServer) -> None:
    engine = ScriptedEngine([quote_first_sentence] * 10, context_tokens=700)
    url = web.url("/article")
    result = visit(tool(max_reply_tokens=100, max_parts=10), url, engine)
    assert len(engine.requests) >= 2
    assert all(r.prompt_tokens < 700 - 100 for r in engine.requests)
    text = page_text(url)
    assert len(result.evidence) == len(engine.requests)
    assert all(text[int(m[0]) : int(m[1])] == e.text for e in result.evidence
               for m in [re.findall(r"\d+", e.location.rsplit("chars", 1)[1])])  # fmt: skip
    limited = visit(
        tool(max_reply_tokens=100, max_parts=1),
        web.url("/article?again"),
        ScriptedEngine([quote_first_sentence], context_tokens=700),
    )
    assert "(Note: the page is long: only its first 1 part(s) were read.)" in limited.text


def test_cancel_between_parts(web: WebServer) -> None:
    context = ToolContext()

    def cancel_at_part_two(line: str) -> None:
        if line.startswith("visit: reading part 2 "):
            context.cancel.cancel()

    context.on_progress = cancel_at_part_two
    engine = ScriptedEngine([quote_first_sentence] * 5, context_tokens=700)
    context.engine = engine
    t = VisitTool(
        VisitSettings(read=ReadSettings(max_reply_tokens=100, max_parts=10)), fetcher=tool().fetcher
    )
    result = t.call({"url": [web.url("/article"), web.url("/notes.md")], "goal": GOAL}, context)
    assert len(engine.requests) == 2  # the second one was stopped at its first token
    first, second = result.text.split(SEPARATOR)
    first_sentence = "The Bay of Fundy has the highest tides in the world, with a range of up to 16 metres"
    assert [e.text for e in result.evidence] == [f"{first_sentence} at Burntcoat Head."]
    assert first.endswith(" chars\n(Note: the visit was cancelled before the whole page was read.)\n\n")
    assert second == shape(
        web.url("/notes.md"), GOAL, "The visit was cancelled before this page was read.", NOT_READ
    )
    assert web.hits["/notes.md"] == 0


def test_cancel_during_the_only_part(web: WebServer) -> None:
    context = ToolContext()

    def cancel_now(prompt: str) -> str:
        context.cancel.cancel()
        return reply("", CLOSED, "Closed.")

    context.engine = ScriptedEngine([cancel_now])
    result = tool().call({"url": web.url("/article"), "goal": GOAL}, context)
    assert result.text == shape(
        web.url("/article"), GOAL, "The visit was cancelled before this page was read.", NOT_READ
    )
    assert result.evidence == [] and result.error


def test_offline_refuses_without_touching_the_network(web: WebServer) -> None:
    result = visit(tool(), web.url("/article"), None, offline=True)
    assert result.error and result.network == [] and web.hits["/article"] == 0
    assert result.text.startswith("visit is not available: this session is offline")
    assert "local_search" in result.text and "local_read" in result.text


def test_failures_have_fixed_texts_that_say_why(web: WebServer) -> None:
    urls = [web.url(p) for p in ("/missing", "/broken", "/binary", "/loop", "/slow", "/huge")]
    t = tool()
    started = time.monotonic()
    result = t.call({"url": urls[:5], "goal": GOAL}, ToolContext())
    assert time.monotonic() - started < 120  # /slow drips for ten minutes: the fetch limits ended it
    blocks = result.text.split(SEPARATOR)
    retrieve = "The page could not be retrieved: {}. Check the URL, or search for another source."
    assert blocks[0] == shape(
        urls[0], GOAL, retrieve.format("the server answered HTTP 404 Not Found"), NOT_READ
    )
    assert blocks[1] == shape(
        urls[1], GOAL, retrieve.format("the server answered HTTP 500 Internal Server Error"), NOT_READ
    )
    assert blocks[2] == shape(
        urls[2],
        GOAL,
        "The page was retrieved but could not be processed: the body is binary data (declared as text/html).",
        NOT_READ,
    )
    assert blocks[3].startswith(
        f"The useful information in {urls[3]} for user goal {GOAL} as follows: \n\n"
        "Evidence in page: \nThe page could not be retrieved: redirect loop ("
    )
    assert "the server was too slow" in blocks[4]
    assert result.error and result.summary == "visit: read 0 of 5 page(s)"
    assert [n.target for n in result.network if not n.ok] == [urls[0], urls[1], urls[4]]


def test_pdf_and_charset_pages_through_visit(web: WebServer) -> None:
    quote = "The Annapolis Royal station produced 20 megawatts until 2019."
    pdf = visit(tool(), web.url("/paper.pdf"), ScriptedEngine([reply("", quote, "20 MW until 2019.")]))
    assert [e.location.split(",")[0] for e in pdf.evidence] == ["p. 2"]
    assert pdf.evidence[0].text == quote
    russian = visit(tool(), web.url("/cp1251"), None, goal="когда закрылась электростанция")
    assert any(RUSSIAN in e.text for e in russian.evidence)


def test_missing_arguments_and_urls_sent_as_a_string(web: WebServer) -> None:
    result = VisitTool().call({"url": []}, ToolContext())
    assert result.error and result.text.startswith("visit needs 'url' and 'goal': e.g.")
    as_string = visit(tool(), f'["{web.url("/notes.md")}", "{web.url("/missing")}"]', None, goal="tide")
    assert [n.target for n in as_string.network] == [web.url("/notes.md"), web.url("/missing")]
    assert as_string.summary == "visit: read 1 of 2 page(s)" and not as_string.error


def test_parse_and_split_helpers() -> None:
    parsed = parse_extraction(
        '<think>hmm</think>{"Rationale": "r", "evidence": {"a": "x"}, "summary": ["s1", "s2"]}'
    )
    assert parsed is not None and (parsed.rational, parsed.evidence, parsed.summary) == ("r", ["x"], "s1\ns2")
    assert parse_extraction('{"rational": "only"}') is None
    text = "\n\n".join(f"Paragraph {i} " + "word " * 30 for i in range(20))
    parts, complete = split_parts(text, lambda s: len(s.split()), 100, 50)
    assert complete and parts[0][0] == 0 and parts[-1][1] == len(text.rstrip())
    assert all(len(text[a:b].split()) <= 100 for a, b in parts)
    assert all(parts[i][1] <= parts[i + 1][0] for i in range(len(parts) - 1))
    one_block = "x " * 5000
    parts, complete = split_parts(one_block, lambda s: len(s.split()), 300, 3)
    assert not complete and len(parts) == 3 and all(len(one_block[a:b].split()) <= 300 for a, b in parts)


@pytest.mark.slow
def test_real_model_reads_a_page(web: WebServer, qwen05b: Path) -> None:
    from deepresearch_local.engines.llamacpp import LlamaCppEngine

    engine = LlamaCppEngine(qwen05b, context_tokens=4096)
    engine.load()
    try:
        url = web.url("/article")
        started = time.monotonic()
        result = visit(tool(max_reply_tokens=384, sampling=Sampling.greedy()), url, engine)
        elapsed = time.monotonic() - started
    finally:
        engine.unload()
    text = page_text(url)
    assert result.text.startswith(
        f"The useful information in {url} for user goal {GOAL} as follows: \n\nEvidence in page: \n"
    )
    evidence, summary = result.text.split("Evidence in page: \n", 1)[1].split("\n\nSummary: \n", 1)
    assert summary.endswith("\n\n") and summary.strip()
    assert not summary.startswith("No summary"), "the model's reply was not parsed"
    assert result.evidence, result.text
    for e in result.evidence:
        assert e.text in text and e.source == url
        assert f"[{e.location}] {e.text}" in evidence
    assert not result.error
    print(f"\nreal 0.5B visit: {elapsed:.1f} s\n{result.text}")


def test_evidence_is_capped_to_exact_prefixes(web: WebServer) -> None:
    url = web.url("/article")
    t = VisitTool(VisitSettings(max_evidence_chars=40), fetcher=tool().fetcher)
    result = visit(t, url, ScriptedEngine([reply("", f"{OPENED}\n{CLOSED}", "Closed in 2019.")]))
    text = page_text(url)
    start = text.index(OPENED)
    assert [(e.text, e.location) for e in result.evidence] == [
        (text[start : start + 40], f"§ The Annapolis station, chars {start}-{start + 40}")
    ]
    assert result.text.endswith(
        "(Note: a passage was cut to its first 40 characters; 1 further passage(s) left out for length.)\n\n"
    )
