"""The plain indexer an expert would try first, timed on the same folder and machine as the
library: the yardstick that makes ``bench library`` figures comparable across machines (a
laptop, a shared 2-core runner and a loaded CI host differ by 3x in the same seconds).

It reads every ``.html``/``.htm`` page (lxml's HTML parser, scripts and styles dropped, the
body's text) and every plain-text file (``.txt``, ``.md``, ``.rst``, read as UTF-8), cuts the
text into fixed 1,000-character chunks and stores them in one SQLite FTS5 table (``porter
unicode61``), in one process and one transaction. No duplicates, artefacts, headings,
locations, common words or workers: what the library does on top of it is what its time buys.
A query is the question's words less the common ones, each quoted, OR-ed, ranked by ``bm25()``.
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

CHUNK = 1000
PAGES = (".html", ".htm")
TEXTS = (".txt", ".md", ".rst")


@dataclass(frozen=True)
class PlainIndex:
    seconds: float
    files: int
    chunks: int


def _files(folder: Path) -> Iterator[Path]:
    for root, dirs, names in os.walk(folder):
        dirs.sort()
        for name in sorted(names):
            if name.lower().endswith(PAGES + TEXTS):
                yield Path(root) / name


def _text(path: Path) -> str:
    """The file's text as the plain indexer sees it ("" when it cannot be read or parsed)."""
    try:
        data = path.read_bytes()
    except OSError:
        return ""
    if not path.name.lower().endswith(PAGES):
        return data.decode("utf-8", errors="replace")
    import lxml.etree  # type: ignore[import-untyped]
    import lxml.html  # type: ignore[import-untyped]

    try:
        root = lxml.html.fromstring(data)
    except (lxml.etree.ParserError, ValueError):
        return ""
    lxml.etree.strip_elements(root, "script", "style", with_tail=False)
    body = root.find("body")
    return str((body if body is not None else root).text_content())


def index(folder: Path, database: Path) -> PlainIndex:
    """Index ``folder`` the plain way into a new FTS5 table in ``database``; timed (wall)."""
    started = time.perf_counter()
    files = chunks = 0
    db = sqlite3.connect(database)
    try:
        db.execute(
            "CREATE VIRTUAL TABLE plain USING fts5(path UNINDEXED, body, tokenize = 'porter unicode61')"
        )
        with db:
            for path in _files(folder):
                text = " ".join(_text(path).split())
                if not text:
                    continue
                rows = [(str(path), text[at : at + CHUNK]) for at in range(0, len(text), CHUNK)]
                db.executemany("INSERT INTO plain (path, body) VALUES (?, ?)", rows)
                files += 1
                chunks += len(rows)
    finally:
        db.close()
    return PlainIndex(round(time.perf_counter() - started, 3), files, chunks)


def search(db: sqlite3.Connection, question: str, k: int = 10) -> list[str]:
    """The first ``k`` distinct files for a question (its words less the common ones, quoted and
    OR-ed, in bm25 order)."""
    from deepresearch_local.library.query import STOPWORDS, quote, tokens

    words = list(dict.fromkeys(w for w in tokens(question) if w not in STOPWORDS))
    if not words:
        return []
    rows = db.execute(
        "SELECT path FROM plain WHERE plain MATCH ? ORDER BY rank LIMIT 200",
        (" OR ".join(quote(w) for w in words),),
    )
    found: list[str] = []
    for (path,) in rows:
        if path not in found:
            found.append(str(path))
            if len(found) == k:
                break
    return found
