"""The library's plain data: extracted lines, chunks, locations, coverage records, search hits."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal, NamedTuple

Status = Literal["indexed", "skipped", "failed"]


class Line(NamedTuple):
    """One line of a document's extracted text, with where it sits in the source."""

    text: str
    no: int
    """1-based line number: in the source file for text formats, in the extracted text for
    HTML/DOCX, within the page for PDF."""
    page: int | None = None
    heading: tuple[str, ...] = ()
    """The heading path this line falls under (the heading's own line included)."""
    is_heading: bool = False


@dataclass
class Document:
    """What a reader extracted from one file."""

    kind: str
    title: str
    lines: list[Line]
    pages: int | None = None
    note: str = ""
    """Something worth telling the user even though it worked ("decoded as cp1252")."""


@dataclass(frozen=True)
class Location:
    """Where a span sits in its file. ``str()`` gives the form users and the model see."""

    page: int | None = None
    page_end: int | None = None
    line_start: int | None = None
    line_end: int | None = None
    heading: str = ""

    def __str__(self) -> str:
        parts: list[str] = []
        if self.page is not None:
            end = self.page_end if self.page_end is not None else self.page
            parts.append(f"p. {self.page}" if end == self.page else f"pp. {self.page}-{end}")
        elif self.heading:
            parts.append(f"§ {self.heading}")
        if self.page is None and self.line_start is not None:
            end = self.line_end if self.line_end is not None else self.line_start
            parts.append(
                f"line {self.line_start}" if end == self.line_start else f"lines {self.line_start}-{end}"
            )
        return ", ".join(parts)


_PAGES = re.compile(r"\b(?:pp?\.?|pages?)\s*(\d+)(?:\s*[-–]\s*(\d+))?", re.IGNORECASE)
_LINES = re.compile(r"\b(?:lines?|l)\.?\s*(\d+)(?:\s*[-–]\s*(\d+))?", re.IGNORECASE)
_BARE = re.compile(r"^\s*(\d+)(?:\s*[-–]\s*(\d+))?\s*$")
_HEADING = re.compile(r"§\s*([^,]+?)\s*(?:,|$)")


def parse_location(text: str, paged: bool = False) -> Location | None:
    """Read a location written by us or by the model ("p. 3", "pages 2-4", "lines 10-20",
    "§ Install > Linux", "§ Install, lines 5-9"). A bare "12-20" means pages for a PDF
    (``paged``) and lines otherwise. None when nothing in it is understood."""
    text = text.strip()
    if not text:
        return None
    bare = _BARE.match(text)
    if bare:
        start = int(bare.group(1))
        end = int(bare.group(2)) if bare.group(2) else start
        return Location(page=start, page_end=end) if paged else Location(line_start=start, line_end=end)
    page = _PAGES.search(text)
    lines = _LINES.search(text)
    heading = _HEADING.search(text)
    if not (page or lines or heading):
        return None
    loc = Location(
        page=int(page.group(1)) if page else None,
        page_end=int(page.group(2) or page.group(1)) if page else None,
        line_start=int(lines.group(1)) if lines else None,
        line_end=int(lines.group(2) or lines.group(1)) if lines else None,
        heading=heading.group(1).strip() if heading else "",
    )
    return loc


@dataclass(frozen=True)
class Chunk:
    """A piece of a document (about a thousand characters) that the index stores."""

    text: str
    ordinal: int
    page: int | None
    line_start: int
    line_end: int
    heading: str

    @property
    def location(self) -> Location:
        if self.page is not None:
            return Location(page=self.page)
        return Location(line_start=self.line_start, line_end=self.line_end, heading=self.heading)


@dataclass(frozen=True)
class FileRecord:
    """One row of the coverage report: what happened to a file and why."""

    folder: str
    path: str
    """Absolute path (of the link itself for a skipped symlink)."""
    rel: str
    kind: str
    status: Status
    reason: str
    size: int | None
    chunks: int
    indexed_at: float | None

    def as_dict(self) -> dict[str, object]:
        return {
            "folder": self.folder,
            "path": self.path,
            "rel": self.rel,
            "kind": self.kind,
            "status": self.status,
            "reason": self.reason,
            "size": self.size,
            "chunks": self.chunks,
            "indexed_at": self.indexed_at,
        }


@dataclass(frozen=True)
class FolderInfo:
    name: str
    root: str
    added_at: float
    indexed_at: float | None
    indexed: int
    skipped: int
    failed: int
    chunks: int

    def as_dict(self) -> dict[str, object]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class Hit:
    """A search result: one file, its best passage (where it is, and a snippet of it) and where
    else in the file the search found strong passages."""

    chunk_id: int
    path: str
    title: str
    folder: str
    location: Location
    snippet: str
    score: float
    """Higher is better: the fused rank score of the file (see ``library.search``)."""
    also_at: tuple[Location, ...] = ()
    """Other strong passages of the same file, best first."""
    also_in: tuple[str, ...] = ()
    """Files ranked lower whose best passage mostly repeats this one's (see ``library.copies``)."""

    def as_dict(self) -> dict[str, object]:
        loc = self.location
        return {
            "path": self.path,
            "location": str(loc),
            "score": round(self.score, 6),
            "snippet": self.snippet,
            "title": self.title,
            "folder": self.folder,
            "page": loc.page,
            "line_start": loc.line_start,
            "line_end": loc.line_end,
            "heading": loc.heading,
            "also_at": [str(a) for a in self.also_at],
            "also_in": list(self.also_in),
        }


@dataclass(frozen=True)
class Progress:
    """One file handled during indexing (``done`` of ``total``); "preparing": the run's last
    step, ``done`` of ``total`` common words read for search (``common_postings``)."""

    done: int
    total: int
    rel: str
    status: Status | Literal["unchanged", "preparing"]
    reason: str = ""
    chunks: int = 0


ProgressCallback = Callable[[Progress], None]


@dataclass
class IndexReport:
    """The outcome of indexing one folder. Totals describe the folder after the run."""

    folder: str
    root: str
    files: int = 0
    indexed: int = 0
    skipped: int = 0
    failed: int = 0
    changed: int = 0
    """Files read and extracted in this run (new or modified)."""
    unchanged: int = 0
    removed: int = 0
    """Files gone from disk since the last run (their chunks were dropped)."""
    duplicates: int = 0
    """Skipped files (counted in ``skipped``) that copy a file the library keeps."""
    chunks: int = 0
    chunks_added: int = 0
    seconds: float = 0.0
    """The whole run, ``prepare_seconds`` included."""
    prepare_seconds: float = 0.0
    """Bringing the kept postings of common words up to date after the files (``common_postings``)."""
    workers: int = 0
    """Worker processes that read this run's files (0: the indexing process read them)."""
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return dict(self.__dict__)

    def summary(self) -> str:
        copies = f" ({self.duplicates} duplicates)" if self.duplicates else ""
        return f"{self.indexed} indexed, {self.skipped} skipped{copies}, {self.failed} failed"
