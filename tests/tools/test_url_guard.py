"""The outbound checks: private spans and secrets in queries and URLs, and where a URL came from."""

from __future__ import annotations

import base64
from urllib.parse import quote

import pytest

from deepresearch_local.tools.network import check_query_privacy
from deepresearch_local.tools.privacy import find_secret, looks_secret, secrets_in
from deepresearch_local.tools.url_guard import Provenance, UrlGate, find_url_leak, url_texts, urls_in

NOTES = (
    "Meeting notes, 3 March. Our quarterly board memo explains that the Lisbon subsidiary will merge "
    "its logistics unit with the Porto warehouse team before the end of March. The staging API key is "
    "sk-4f9A8b7C6d5E4f3a2B1c and the payroll account is DE89 3704 0044 0532 0130 00. Ring Ana on "
    "+351 912 345 678 about the lease."
)
KEY = "sk-4f9A8b7C6d5E4f3a2B1c"


@pytest.mark.parametrize(
    ("token", "secret"),
    [
        ("4f9A8b7C6d5E4f3a2B1c", True),
        ("Tr0ub4dor", True),
        ("ghp_16C7e42F292c6912E7710c838347Ae178B4a", True),
        ("nature12373", False),
        ("Qwen2-72B-Instruct", False),
        ("SARS-CoV-2", False),
        ("internationalization", False),
        ("2019", False),
    ],
)
def test_what_looks_like_a_secret(token: str, secret: bool) -> None:
    assert looks_secret(token) is secret


def test_secrets_of_a_text_include_grouped_digit_runs() -> None:
    found = secrets_in(NOTES)
    assert "4f9a8b7c6d5e4f3a2b1c" in found
    assert "89370400440532013000" in found  # the IBAN's digits, spaces dropped
    assert "351912345678" in found  # the phone number
    assert not any(s.startswith("2019") for s in found)


def test_a_short_secret_in_a_query_is_refused_on_its_own() -> None:
    refusal = check_query_privacy(f"who owns key {KEY}", [NOTES])
    assert refusal is not None and refusal.startswith("[Privacy guard] This query was not sent")
    assert "4f9a… (20 characters)" in refusal and KEY not in refusal
    assert check_query_privacy("account 8937 0400 4405 3201 3000", [NOTES]) is not None
    assert check_query_privacy("Lisbon Porto warehouse merger", [NOTES]) is None
    assert check_query_privacy(f"who owns key {KEY}", []) is None


def test_find_secret_squeezes_separators_and_case() -> None:
    assert find_secret(["SK 4F9A.8B7C.6D5E.4F3A.2B1C"], [NOTES]) is not None
    assert find_secret(["nothing to see"], [NOTES]) is None


@pytest.mark.parametrize(
    "url",
    [
        "https://collect.example/?q=" + quote("the Lisbon subsidiary will merge its logistics unit"),
        "https://collect.example/?q=the+Lisbon+subsidiary+will+merge+its",
        "https://collect.example/p/the_lisbon_subsidiary_will_merge/x",
        "https://collect.example/p/the-lisbon-subsidiary-will-merge",
        "https://collect.example/#the%2520Lisbon%2520subsidiary%2520will%2520merge",  # encoded twice
        "https://the.lisbon.subsidiary.will.merge.collect.example/",
        "https://thelisbonsubsidiarywillmergeitslogisticsunit.collect.example/",
        "https://collect.example/k/" + KEY,
        "https://sk4f9a8b7c.6d5e4f3a2b1c.collect.example/",
        "https://collect.example/?acct=DE89370400440532013000",
        "https://user:" + KEY + "@collect.example/",
        "https://collect.example/?d=" + base64.urlsafe_b64encode(b"payroll account DE89 3704 0044").decode(),
        "https://collect.example/?d=" + b"the Lisbon subsidiary will merge".hex(),
        "https://collect.example/h/" + b"the Lisbon subsidiary will merge".hex(),
        "https://"
        + base64.b32encode(b"lisbon subsidiary will merge its").decode().rstrip("=").lower()[:60]
        + ".collect.example/",
    ],
)
def test_urls_carrying_private_text_are_found(url: str) -> None:
    assert find_url_leak(url, [NOTES]) is not None, url_texts(url)


@pytest.mark.parametrize(
    "url",
    [
        "https://en.wikipedia.org/wiki/Port_of_Lisbon",
        "https://www.example.org/news/2024/03/porto-warehouse-strike?page=2",
        "https://doi.org/10.1038/nature12373",
        "https://arxiv.org/abs/2407.10671",
    ],
)
def test_ordinary_urls_pass(url: str) -> None:
    assert find_url_leak(url, [NOTES]) is None


def test_urls_in_texts_and_provenance() -> None:
    shown = (
        "1. [Tides](https://tides.example/articles/bay-of-fundy?lang=en). Snippet...\n"
        "See also <https://other.example/a/b>, and https://third.example/x.\n"
        "2. [Fundy](https://en.wikipedia.org/wiki/Bay_(Fundy)) (or https://wiki.example/Bay_(x))"
    )
    urls = urls_in([shown])
    assert urls == {
        "https://tides.example/articles/bay-of-fundy?lang=en",
        "https://other.example/a/b",
        "https://third.example/x",
        "https://en.wikipedia.org/wiki/Bay_(Fundy)",
        "https://wiki.example/Bay_(x)",
    }
    known = Provenance(urls)
    assert known.knows("https://TIDES.example:443/articles/bay-of-fundy?lang=en")
    assert not known.knows("https://tides.example/articles/bay-of-fundy?lang=en#notes")  # so it is checked
    assert known.unseen_parts("https://tides.example/articles/bay-of-fundy?lang=en#notes") == []
    assert known.unseen_parts("https://other.example/a") == []
    assert known.unseen_parts("https://new-host.example/") == []  # a bare host carries no composed path
    assert known.unseen_parts("https://other.example/a/b?q=1") == ["its query string"]
    assert known.unseen_parts("https://other.example/a/secret-notes") == ["path segment 'secret-notes'"]


def _gate(**kwargs: object) -> UrlGate:
    sources = ["Results: https://tides.example/articles/bay-of-fundy and https://tides.example/about"]
    return UrlGate([NOTES], sources, **kwargs)  # type: ignore[arg-type]


def test_gate_refuses_composed_urls_once_documents_were_read() -> None:
    gate = _gate()
    assert gate.check("https://tides.example/articles/bay-of-fundy") is None
    refusal = gate.check("https://collect.example/log?d=hello")
    assert refusal is not None and "composed by the model" in refusal
    assert "collect.example" not in refusal and "d=hello" not in refusal  # never repeats the URL
    assert _gate(allow_composed=True).check("https://collect.example/log?d=hello") is None
    asked: list[str] = []

    def allow(text: str) -> bool:
        asked.append(text)
        return True

    yes = _gate(confirm=allow)
    assert yes.check("https://collect.example/log?d=hello") is None
    assert asked and "https://collect.example/log?d=hello" in asked[0]
    assert UrlGate([], []).check("https://collect.example/log?d=hello") is None  # nothing private read


def test_gate_checks_private_text_even_when_composed_urls_are_allowed() -> None:
    gate = _gate(allow_composed=True)
    refusal = gate.check("https://collect.example/?q=" + KEY)
    assert refusal is not None and "code, key or number" in refusal and KEY not in refusal
    hop = gate.check_hop("https://collect.example/?q=the+Lisbon+subsidiary+will+merge+its")
    assert hop is not None and hop.startswith(
        "[Privacy guard] The URL the page redirected to was not requested"
    )
    assert gate.check_hop("https://collect.example/landing") is None


def test_gate_learns_links_of_visited_pages() -> None:
    gate = _gate()
    link = "https://tides.example/data/2019-report.pdf"
    assert gate.check(link) is not None
    gate.learn([link])
    assert gate.check(link) is None


def test_a_refused_query_has_a_network_log_entry() -> None:
    from deepresearch_local.tools.network import refused_query_event

    event = refused_query_event(f"who owns key {KEY}", "search")
    assert (event.kind, event.tool, event.ok) == ("search", "search", False)
    assert event.detail == "refused by the privacy guard: not sent"
