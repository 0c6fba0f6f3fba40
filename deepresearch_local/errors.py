"""User-facing errors: each carries a short title, a message that says what to do, and the exit
code the command ends with (the codes are here, beside the errors that carry them)."""

from __future__ import annotations

EXIT_ANSWERED = 0
"""Done: the command did its work (``ask``: an answer was written)."""
EXIT_FAILED = 1
"""Failed: an error without a code of its own, or a run that ended without an answer."""
EXIT_USAGE = 2
"""Bad arguments, settings or session ids: the message says what to change."""
EXIT_NO_MODEL = 3
"""No usable model: missing file, unreadable weights, backend not installed."""
EXIT_LIMIT = 4
"""``ask``: a limit (model calls, minutes, context) stopped the run before an answer."""
EXIT_DOWNLOAD_FAILED = 4
"""``models pull``: the download did not finish (another command, so the same number as a limit)."""
EXIT_CANCELLED = 130
"""Cancelled with Ctrl-C (128 + SIGINT, as shells report it)."""


class DeepResearchError(Exception):
    """Base class. ``title`` is shown as a heading; ``str(err)`` says what happened and the fix."""

    title = "Error"
    exit_code = EXIT_FAILED


class UsageError(DeepResearchError):
    title = "Invalid usage"
    exit_code = EXIT_USAGE


class ModelError(DeepResearchError):
    """No usable model: missing file, unreadable weights, backend not installed."""

    title = "Model problem"
    exit_code = EXIT_NO_MODEL


class BackendUnavailable(ModelError):
    title = "Backend not available"


class EngineError(DeepResearchError):
    title = "Engine error"


class ContextOverflow(EngineError):
    """The prompt does not fit the context the engine really allocated."""

    title = "Prompt too long"


class ConfigError(DeepResearchError):
    title = "Configuration problem"
    exit_code = EXIT_USAGE
