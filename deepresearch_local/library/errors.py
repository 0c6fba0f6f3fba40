"""Errors the library raises; each message says what to do next."""

from __future__ import annotations

from deepresearch_local.errors import DeepResearchError


class LibraryError(DeepResearchError):
    title = "Library problem"


class ReaderSkip(Exception):
    """The file is fine but holds nothing we can index (binary content, no text layer).

    Not a user-facing error: the indexer records the reason and moves on to the next file."""


class NotInLibrary(LibraryError):
    """A path outside every library folder, or one the library does not hold."""

    title = "Not in the library"
