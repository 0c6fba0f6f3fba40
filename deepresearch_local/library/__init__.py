"""The local document library: ingestion with locations, chunking, an SQLite FTS5 index with
BM25, incremental re-indexing with a per-file coverage report, search and safe reading.

Standard library only at import time; file parsers load when a file of their type is read.
"""

from __future__ import annotations

from deepresearch_local.library.errors import LibraryError, NotInLibrary
from deepresearch_local.library.indexer import Limits
from deepresearch_local.library.library import Library
from deepresearch_local.library.model import FileRecord, FolderInfo, Hit, IndexReport, Location, Progress
from deepresearch_local.library.reading import ReadResult
from deepresearch_local.library.rerank import Reranker

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
