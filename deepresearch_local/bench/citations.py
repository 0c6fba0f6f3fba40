"""Do a report's sources check out? Every entry of its ``## Sources`` list must open.

A web source checks out when its URL is one the run really read (it is in the run's evidence). A
file source checks out when it is a file the run read, it still exists, and its location lies
within it (pages within the page count, lines within the line count, a heading that exists).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_ENTRY = re.compile(r"^\s*\d+\.\s+(.*\S)\s*$")
_URL = re.compile(r"https?://[^\s,]+")


@dataclass(frozen=True)
class SourceCheck:
    entry: str
    ok: bool
    reason: str = ""


def source_entries(markdown: str) -> list[str]:
    """The numbered entries of the ``## Sources`` section (empty when there is none)."""
    if "## Sources" not in markdown:
        return []
    section = markdown.split("## Sources", 1)[1]
    section = re.split(r"^#{1,2} ", section, maxsplit=1, flags=re.MULTILINE)[0]
    return [m.group(1) for line in section.splitlines() if (m := _ENTRY.match(line))]


def check_file(path: Path, location: str) -> str:
    """ "" when ``path`` exists and ``location`` lies within it, else what is wrong."""
    from deepresearch_local.library import LibraryError
    from deepresearch_local.library.model import parse_location
    from deepresearch_local.library.reading import load_document

    if not path.is_file():
        return f"{path} does not exist"
    if not location.strip():
        return ""
    try:
        doc = load_document(path)
    except LibraryError as exc:
        return f"{path} cannot be read: {exc}"
    paged = doc.pages is not None
    loc = parse_location(location, paged=paged)
    if loc is None:
        return f"location {location!r} is not understood"
    if loc.page is not None:
        pages = doc.pages or max((line.page or 0 for line in doc.lines), default=0)
        end = loc.page_end if loc.page_end is not None else loc.page
        if not 1 <= loc.page <= end <= pages:
            return f"{location} is outside {path.name} ({pages} pages)"
    elif loc.line_start is not None:
        last = max((line.no for line in doc.lines), default=0)
        end = loc.line_end if loc.line_end is not None else loc.line_start
        if not 1 <= loc.line_start <= end <= last:
            return f"{location} is outside {path.name} ({last} lines)"
    if loc.heading:
        wanted = [p.strip().lower() for p in loc.heading.split(">") if p.strip()]
        paths = {tuple(h.lower() for h in line.heading) for line in doc.lines}
        if not any(list(p[-len(wanted) :]) == wanted for p in paths if len(p) >= len(wanted)):
            return f"{path.name} has no heading {loc.heading!r}"
    return ""


def check_entry(entry: str, evidence: Sequence[Mapping[str, Any]]) -> SourceCheck:
    sources = {str(e["source"]) for e in evidence}
    files = sorted((s for s in sources if not _URL.match(s)), key=len, reverse=True)
    for source in files:
        at = entry.find(source)
        if at >= 0:
            location = entry[at + len(source) :].lstrip(", ").strip()
            problem = check_file(Path(source), location)
            return SourceCheck(entry, not problem, problem)
    urls = [u.rstrip(").;:") for u in _URL.findall(entry)]
    if urls:
        if any(u in sources for u in urls):
            return SourceCheck(entry, True)
        return SourceCheck(entry, False, f"{urls[-1]} is not a page this run read")
    return SourceCheck(entry, False, "neither a URL nor a file this run read")


def check_report(markdown: str, evidence: Sequence[Mapping[str, Any]]) -> list[SourceCheck]:
    """One check per entry of the report's source list."""
    return [check_entry(entry, evidence) for entry in source_entries(markdown)]
