"""A passage found in two files takes one place among the results, the other file listed with it."""

from __future__ import annotations

from pathlib import Path

import pytest

from deepresearch_local.library import Library
from deepresearch_local.library.copies import copy_of, matched_shingles, shingles
from deepresearch_local.library.query import query_terms
from deepresearch_local.library.search import snippet

DOC = (
    "Reconciles the ledger against a bank statement. Every entry is matched by its amount and its "
    "booking date; entries that find no partner are returned as a list so that a clerk can review "
    "them by hand before the month is closed. Reconciling twice is harmless: entries matched "
    "before keep their partner, and only the rest of the statement is looked at again."
)
SIGNATURE = "public List<Entry> reconcile(Statement statement)"
API = f"{SIGNATURE} {DOC}"
"""The method's entry on the API page: its signature and its comment, as Javadoc renders them."""
OTHER = (
    "Quarterly reports summarise the ledger for the board. They list income and spending per "
    "department and compare each line with the budget approved at the start of the year."
)
CODE = [
    "public final class Ledger {",
    "    private final List<Entry> entries = new ArrayList<>();",
    "    public void add(Entry entry) { entries.add(Objects.requireNonNull(entry)); }",
    "    public BigDecimal balance() { return sum(entries); }",
    "    private static boolean sameDay(Entry a, Line b) { return a.date().equals(b.date()); }",
]


def _listing(start: int) -> str:
    """The doc comment and some code as a rendered source listing: numbered lines, comment stars."""
    words = DOC.split()
    comment = ["/**"] + [" * " + " ".join(words[i : i + 7]) for i in range(0, len(words), 7)] + [" */"]
    body = [*CODE, *comment, SIGNATURE + " {", "    return match(statement);", "}"]
    return "\n".join(f"{start + n:>4}  {line}" for n, line in enumerate(body))


TERMS = query_terms("reconcile the ledger with the bank statement")


def _probe(text: str) -> frozenset[int]:
    """The matched runs of ``text`` for a question about reconciling, as search finds them."""
    return matched_shingles(snippet(text, TERMS), TERMS)


def test_a_source_listing_is_a_copy_of_the_prose_it_came_from() -> None:
    listing = _listing(120)
    assert copy_of([API, listing], [_probe(API), _probe(listing)]) == [None, 0]
    assert copy_of([listing, API], [_probe(listing), _probe(API)]) == [None, 0]  # the first is kept
    # what counts is the part that matched: the listing's code is in no page
    code = "\n".join(listing.splitlines()[:5])
    assert copy_of([API, code], [_probe(API), matched_shingles(code, TERMS)]) == [None, None]


def test_a_shared_paragraph_that_did_not_match_or_a_short_line_is_no_copy() -> None:
    review = "A clerk reviews payments by hand when the bank statement and the ledger disagree. "
    page = review + OTHER
    ledger = DOC + " " + OTHER
    assert copy_of([ledger, page], [_probe(ledger), _probe(page)]) == [None, None]
    quarterly = matched_shingles(OTHER, query_terms("quarterly budget per department"))
    assert copy_of([ledger, page], [_probe(ledger), quarterly]) == [None, 0]  # it matched the shared part
    line = "Reconciles the ledger."
    assert copy_of([line, line], [_probe(line), _probe(line)]) == [None, None]
    assert copy_of([DOC, OTHER], [_probe(DOC), matched_shingles(OTHER, [])]) == [None, None]


def test_matched_runs_are_those_with_a_query_word_or_all_when_none_has_one() -> None:
    runs = matched_shingles("alpha beta gamma delta epsilon zeta eta theta", ["epsilons"])
    assert runs == shingles("beta gamma delta epsilon zeta eta theta")  # the four runs through it
    assert matched_shingles(OTHER, ["nowhere"]) == shingles(OTHER)


def _page(title: str, body: str) -> str:
    return f"<html><head><title>{title}</title></head><body><h1>{title}</h1>{body}</body></html>"


def test_search_lists_the_copy_with_the_first_and_fills_its_place(tmp_path: Path, library: Library) -> None:
    root = tmp_path / "api"
    (root / "ledger").mkdir(parents=True)
    (root / "source" / "ledger").mkdir(parents=True)
    api = f"<h2>reconcile</h2><pre>{SIGNATURE}</pre><p>{DOC}</p><h2>balance</h2><p>{OTHER}</p>"
    (root / "ledger" / "Ledger.html").write_text(_page("Ledger", api), encoding="utf-8")
    (root / "source" / "ledger" / "Ledger.html").write_text(
        _page("Source code", f"<pre>{_listing(40)}</pre>"), encoding="utf-8"
    )
    topics = {
        "statements.html": "Bank statements arrive each morning; the ledger team files them by account.",
        "closing.html": "Closing the month: every ledger entry is checked and the statement is signed.",
        "review.html": "A clerk reviews by hand the payments left unmatched that the bank cannot explain.",
        "booking.html": "The booking date of an entry is the day the amount reached the account.",
    }
    for n, (name, text) in enumerate(topics.items()):
        filler = " ".join(f"Filler{n} word{w}." for w in range(40))  # each page its own
        (root / name).write_text(_page(name, f"<p>{text}</p><p>{filler}</p>"), encoding="utf-8")
    report = library.add(root, "api")
    assert report.indexed == 6  # the listing is a file of its own, not a duplicate of the page

    query = "match ledger entries against the bank statement by amount and date, review unmatched by hand"
    hits = library.search(query, k=4, mode="bm25")
    paths = [Path(h.path).relative_to(root).as_posix() for h in hits]
    assert len(paths) == 4 and len(set(paths)) == 4
    pair = {"ledger/Ledger.html", "source/ledger/Ledger.html"}
    assert paths[0] in pair
    assert [Path(p).relative_to(root).as_posix() for p in hits[0].also_in] == sorted(pair - {paths[0]})
    assert not pair <= set(paths)  # the copy took no place of its own...
    assert set(paths[1:]) <= set(topics)  # ...which went to the next file
    assert all(not h.also_in for h in hits[1:])
    assert hits[0].as_dict()["also_in"] == list(hits[0].also_in)


def test_every_view_names_the_copy(
    tmp_path: Path, library: Library, capsys: pytest.CaptureFixture[str]
) -> None:
    from deepresearch_local.cli.main import main
    from deepresearch_local.tools.base import ToolContext
    from deepresearch_local.tools.local import LocalSearchTool
    from deepresearch_local.tui.widgets.library.search import hit_prompt

    root = tmp_path / "api"
    (root / "source").mkdir(parents=True)
    api = f"<pre>{SIGNATURE}</pre><p>{DOC}</p>"
    (root / "Ledger.html").write_text(_page("Ledger", api), encoding="utf-8")
    (root / "source" / "Ledger.html").write_text(
        _page("Source code", f"<pre>{_listing(40)}</pre>"), encoding="utf-8"
    )
    library.add(root, "api")
    query = "reconcile the ledger with the bank statement"
    (hit,) = library.search(query, k=1, mode="bm25")
    (copy,) = hit.also_in
    assert {Path(hit.path).parent.name, Path(copy).parent.name} == {"api", "source"}

    result = LocalSearchTool(library).call({"query": [query]}, ToolContext())
    assert f"\nSame passage in: {copy}" in result.text
    assert main(["docs", "search", query, "-k", "1"]) == 0
    assert f"   same passage in: {copy}" in capsys.readouterr().out
    assert "same passage in" in hit_prompt(1, hit).plain


def test_many_copies_of_one_passage_still_leave_k_results(tmp_path: Path, library: Library) -> None:
    """Eight versions of one API description share the passage that matched: one place, seven
    names under it, and the other places go to the next files however far down they are."""
    root = tmp_path / "api"
    root.mkdir()
    for version in range(8):
        changes = " ".join(f"Version{version} change{w} noted{version}x{w}." for w in range(120))
        body = f"<h2>reconcile</h2><p>{DOC}</p><h2>changes</h2><p>{changes}</p>"
        (root / f"v1.{30 + version}.html").write_text(_page(f"API v1.{30 + version}", body), encoding="utf-8")
    topics = {
        "statements.html": "Bank statements arrive each morning; the ledger team files them by account.",
        "closing.html": "Closing the month: every ledger entry is checked and the statement is signed.",
        "review.html": "A clerk reviews by hand the payments left unmatched that the bank cannot explain.",
        "booking.html": "The booking date of an entry is the day the amount reached the account.",
    }
    for name, text in topics.items():
        (root / name).write_text(_page(name, f"<p>{text}</p>"), encoding="utf-8")
    report = library.add(root, "api")
    assert report.indexed == 12  # the versions differ too much to be duplicates of one another

    query = "match ledger entries against the bank statement by amount and date, review unmatched by hand"
    hits = library.search(query, k=4, mode="bm25")
    names = [Path(h.path).name for h in hits]
    assert names[0].startswith("v1.") and len(hits[0].also_in) == 7
    assert len(names) == 4 and set(names[1:]) <= set(topics)
