"""How search results read to the model (upstream's shape), and how scholarly results are picked."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

SEPARATOR = "\n=======\n"

LOCAL_HINT = (
    "To work with the user's own documents instead, use local_search (search the indexed folders) "
    "and local_read (read a file or a part of it)."
)

SCHOLARLY_DOMAINS = (
    "arxiv.org", "semanticscholar.org", "scholar.archive.org", "pubmed.ncbi.nlm.nih.gov", "ncbi.nlm.nih.gov",
    "europepmc.org", "biorxiv.org", "medrxiv.org", "openreview.net", "aclanthology.org", "doi.org",
    "dl.acm.org", "ieeexplore.ieee.org", "link.springer.com", "springer.com", "nature.com", "science.org",
    "sciencedirect.com", "cell.com", "onlinelibrary.wiley.com", "tandfonline.com", "journals.sagepub.com",
    "academic.oup.com", "cambridge.org", "jstor.org", "plos.org", "frontiersin.org", "mdpi.com", "ssrn.com",
    "papers.ssrn.com", "researchgate.net", "proceedings.neurips.cc", "papers.nips.cc", "neurips.cc",
    "proceedings.mlr.press", "jmlr.org", "openaccess.thecvf.com", "hal.science", "zenodo.org", "core.ac.uk",
    "osf.io", "pnas.org", "bmj.com", "thelancet.com", "nejm.org", "acs.org", "iopscience.iop.org",
    "aps.org", "royalsocietypublishing.org", "elifesciences.org", "peerj.com", "scielo.org", "cnki.net",
)  # fmt: skip

_ARXIV_ID = re.compile(r"arxiv\.org/(?:abs|pdf|html)/(\d{2})(\d{2})\.\d{4,5}")


def host_of(url: str) -> str:
    host = (urlsplit(url).hostname or "").lower()
    return host[4:] if host.startswith("www.") else host


def is_scholarly(url: str, domains: Sequence[str] = SCHOLARLY_DOMAINS) -> bool:
    host = host_of(url)
    if host.endswith(".edu") or ".ac." in f".{host}" or host.endswith(".edu.cn"):
        return True
    return any(host == d or host.endswith("." + d) for d in domains)


def clean_results(raw: Sequence[Mapping[str, Any]]) -> list[dict[str, str]]:
    """Keep results with a link; one per URL; text fields as stripped strings."""
    out: list[dict[str, str]] = []
    seen: set[str] = set()
    for item in raw:
        href = str(item.get("href") or item.get("url") or "").strip()
        if not href or href in seen:
            continue
        seen.add(href)
        cleaned = {
            "title": " ".join(str(item.get("title") or "").split()) or href,
            "href": href,
            "body": " ".join(str(item.get("body") or item.get("snippet") or "").split()),
        }
        for extra in ("date", "source", "cited_by"):
            if item.get(extra):
                cleaned[extra] = str(item[extra]).strip()
        out.append(cleaned)
    return out


def year_of(result: Mapping[str, str]) -> str:
    """A publication year we can state with confidence: an explicit date, or an arXiv identifier."""
    date = result.get("date", "")
    match = re.match(r"(19|20)\d\d", date)
    if match:
        return date[:4]
    arxiv = _ARXIV_ID.search(result.get("href", ""))
    if arxiv and 1 <= int(arxiv.group(2)) <= 12:
        return f"20{arxiv.group(1)}"
    return ""


def format_results(
    query: str, results: Sequence[Mapping[str, str]], *, scholarly: bool, note: str = ""
) -> str:
    """One query's block: a header naming the query and the count, then numbered items."""
    if not results:
        return no_results(query, scholarly=scholarly)
    label = "scholarly search" if scholarly else "web search"
    section = "## Scholar Results" if scholarly else "## Web Results"
    items = []
    for i, r in enumerate(results, start=1):
        lines = [f"{i}. [{r['title']}]({r['href']})"]
        if scholarly:
            year = year_of(r)
            cited = f" · Cited by: {r['cited_by']}" if r.get("cited_by") else ""
            lines.append(f"Source: {host_of(r['href'])}" + (f" · Year: {year}" if year else "") + cited)
            if r.get("source"):
                lines.append(f"Publication: {r['source']}")
        elif r.get("date"):
            lines.append(f"Date published: {r['date']}")
        if r.get("body"):
            lines.append(r["body"])
        items.append("\n".join(lines))
    header = f"A {label} for '{query}' returned {len(results)} results:"
    if note:
        header += f"\n({note})"
    return f"{header}\n\n{section}\n" + "\n\n".join(items)


def no_results(query: str, *, scholarly: bool = False) -> str:
    if scholarly:
        return (
            f"No scholarly results were found for '{query}'. Try other keywords (title words, author "
            "names, the field's terms), or use search for general web results."
        )
    return f"No results were found for '{query}'. Try a shorter or more general query."


def web_fallback_note(label: str) -> str:
    """Said above google_scholar results from a provider without a scholarly search."""
    return (
        f"{label} has no scholarly search: these are its web results from scholarly sources "
        "(journals, preprint servers, universities)"
    )


def failure(query: str, kind: str, reason: str) -> str:
    """The observation when a query could not be run at all."""
    later = "Web search may work again later."
    if kind == "offline":
        what = "Web search is not available: this session is offline (no connection may leave the machine)."
    elif kind == "no_network":
        what = f"Web search is not available: the machine seems to have no network connection ({reason})."
    elif kind == "rate_limited":
        what = f"Web search is rate-limited right now ({reason}); waiting and retrying did not help."
    elif kind == "skipped":
        what = "This query was not sent: web search failed for an earlier query in this call."
    elif kind == "auth":
        what = f"The search provider refused this app's access ({reason})."
        later = "Retrying will not help: the user has to fix the search settings (deepresearch doctor)."
    elif kind == "unconfigured":
        what = f"Web search is not set up: {reason}."
        later = "Retrying will not help until the user fixes the search settings."
    elif kind == "bad_request":
        what = f"The search provider rejected this query ({reason}). Try a shorter, plainer query."
    else:
        what = f"Web search failed ({reason})."
    return f"The search for '{query}' could not be run. {what} {LOCAL_HINT} {later}"
