"""Run untrusted Python in a separate, locked-down process (see ../SANDBOX.md for the guarantees)."""

from deepresearch_local.tools.sandbox.runner import ExecutionResult, SandboxLimits, run_python

__all__ = ["ExecutionResult", "SandboxLimits", "run_python"]
