"""What the web tools keep on disk: search results (SQLite, with a time-to-live) and fetched pages.

The page archive is the record of the sources a report cites: one JSON file per URL, holding the
URL asked for, the URL finally served, when it was fetched, its content type and the extracted
text that citation offsets refer to.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from deepresearch_local import atomic
from deepresearch_local.paths import get_paths

_SCHEMA = """
CREATE TABLE IF NOT EXISTS search_cache (
    tool TEXT NOT NULL,
    query TEXT NOT NULL,
    region TEXT NOT NULL,
    fetched_at REAL NOT NULL,
    results TEXT NOT NULL,
    PRIMARY KEY (tool, query, region)
)
"""


def normalize_query(query: str) -> str:
    """Cache key of a query: whitespace collapsed, case folded."""
    return re.sub(r"\s+", " ", query).strip().casefold()


@dataclass(frozen=True)
class CachedSearch:
    fetched_at: float
    results: list[dict[str, str]]

    def age(self, now: float) -> float:
        return now - self.fetched_at


class SearchCache:
    """Search results by (tool, query, region). Entries outlive their TTL so offline runs can use them."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or get_paths().cache_dir / "web.sqlite3"

    @contextlib.contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, timeout=10)
        try:
            conn.execute(_SCHEMA)
            with conn:
                yield conn
        finally:
            conn.close()

    def get(self, tool: str, query: str, region: str) -> CachedSearch | None:
        try:
            with self._connect() as conn:
                row = conn.execute(
                    "SELECT fetched_at, results FROM search_cache WHERE tool=? AND query=? AND region=?",
                    (tool, normalize_query(query), region),
                ).fetchone()
        except sqlite3.Error:
            return None  # a broken cache must never break a search
        if row is None:
            return None
        try:
            results = json.loads(row[1])
        except ValueError:
            return None
        return CachedSearch(float(row[0]), results if isinstance(results, list) else [])

    def put(self, tool: str, query: str, region: str, results: list[dict[str, str]], now: float) -> None:
        with contextlib.suppress(sqlite3.Error), self._connect() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO search_cache VALUES (?, ?, ?, ?, ?)",
                (tool, normalize_query(query), region, now, json.dumps(results, ensure_ascii=False)),
            )


@dataclass(frozen=True)
class ArchivedPage:
    """A fetched page as archived (and as the visit tool reads it)."""

    url: str
    final_url: str
    fetched_at: float
    content_type: str
    kind: str
    """"html", "pdf" or "text"."""
    title: str
    text: str
    """The extracted text; evidence offsets ("chars A-B") index into it."""
    truncated: bool = False
    """The body hit the size cap: only its beginning was read."""
    bytes_read: int = 0

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["fetched_at_iso"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.fetched_at))
        return out


def url_key(url: str) -> str:
    return hashlib.sha256(url.encode("utf-8")).hexdigest()


class PageArchive:
    """Pages on disk under ``cache_dir/pages``, one JSON file per URL (named by the URL's sha256)."""

    def __init__(self, root: Path | None = None) -> None:
        self.root = root or get_paths().cache_dir / "pages"

    def path_for(self, url: str) -> Path:
        return self.root / f"{url_key(url)}.json"

    def get(self, url: str) -> ArchivedPage | None:
        try:
            data = json.loads(self.path_for(url).read_text(encoding="utf-8"))
            data.pop("fetched_at_iso", None)
            return ArchivedPage(**data)
        except (OSError, ValueError, TypeError):
            return None

    def put(self, page: ArchivedPage) -> Path:
        """Write atomically (a crash never leaves half a page)."""
        return atomic.write_text(self.path_for(page.url), json.dumps(page.to_json(), ensure_ascii=False))
