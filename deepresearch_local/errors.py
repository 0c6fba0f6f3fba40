"""User-facing errors: each carries a short title and a message that says what to do."""

from __future__ import annotations


class DeepResearchError(Exception):
    """Base class. ``title`` is shown as a heading; ``str(err)`` says what happened and the fix."""

    title = "Error"
    exit_code = 1


class UsageError(DeepResearchError):
    title = "Invalid usage"
    exit_code = 2


class ModelError(DeepResearchError):
    """No usable model: missing file, unreadable weights, backend not installed."""

    title = "Model problem"
    exit_code = 3


class BackendUnavailable(ModelError):
    title = "Backend not available"


class EngineError(DeepResearchError):
    title = "Engine error"


class ContextOverflow(EngineError):
    """The prompt does not fit the context the engine really allocated."""

    title = "Prompt too long"


class ConfigError(DeepResearchError):
    title = "Configuration problem"
    exit_code = 2
