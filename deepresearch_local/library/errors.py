"""Errors the library raises; each message says what to do next."""

from __future__ import annotations

from deepresearch_local.errors import DeepResearchError


class LibraryError(DeepResearchError):
    title = "Library problem"


class NotInLibrary(LibraryError):
    """A path outside every library folder, or one the library does not hold."""

    title = "Not in the library"
