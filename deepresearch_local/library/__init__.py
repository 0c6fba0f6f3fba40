"""The local document library: ingestion with locations, chunking, an SQLite FTS5 index with
BM25, incremental re-indexing with a per-file coverage report, search and safe reading.

Standard library only at import time; file parsers load when a file of their type is read. The
names below load on first use, so a worker process that only reads files (``parallel``) imports
what reading needs, not the index and search modules.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from deepresearch_local.library.errors import LibraryError, NotInLibrary
    from deepresearch_local.library.indexer import Limits
    from deepresearch_local.library.library import Library
    from deepresearch_local.library.model import FileRecord, FolderInfo, Hit, IndexReport, Location, Progress
    from deepresearch_local.library.reading import ReadResult
    from deepresearch_local.library.rerank import Reranker

_HOMES = {
    "FileRecord": "model",
    "FolderInfo": "model",
    "Hit": "model",
    "IndexReport": "model",
    "Library": "library",
    "LibraryError": "errors",
    "Limits": "indexer",
    "Location": "model",
    "NotInLibrary": "errors",
    "Progress": "model",
    "ReadResult": "reading",
    "Reranker": "rerank",
}

__all__ = [
    "FileRecord",
    "FolderInfo",
    "Hit",
    "IndexReport",
    "Library",
    "LibraryError",
    "Limits",
    "Location",
    "NotInLibrary",
    "Progress",
    "ReadResult",
    "Reranker",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f"{__name__}.{home}"), name)
    globals()[name] = value
    return value
