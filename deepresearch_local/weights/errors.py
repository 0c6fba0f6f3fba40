"""Download and registry errors: each message says what happened and what to do next."""

from __future__ import annotations

from deepresearch_local.errors import EXIT_CANCELLED, EXIT_DOWNLOAD_FAILED, DeepResearchError


class DownloadError(DeepResearchError):
    """A download could not finish; ``str(err)`` says why and how to go on."""

    title = "Download failed"
    exit_code = EXIT_DOWNLOAD_FAILED


class HubError(DownloadError):
    """The hub could not tell us what to download (unreachable, not found, needs a token)."""

    title = "Model hub problem"

    def __init__(self, message: str, *, fallback: bool = True) -> None:
        super().__init__(message)
        self.fallback = fallback
        """Whether another source may still work (False for a problem on our side)."""


class OfflineError(HubError):
    title = "Offline"

    def __init__(self, message: str) -> None:
        super().__init__(message, fallback=False)


class DiskSpaceError(DownloadError):
    title = "Not enough disk space"


class ChecksumError(DownloadError):
    """The bytes did not match the hub's sha256: the file was deleted, never registered."""

    title = "Checksum mismatch"


class DownloadCancelled(DownloadError):
    """The download was cancelled (or paused for good); the partial file is kept for a resume."""

    title = "Download cancelled"
    exit_code = EXIT_CANCELLED
