"""Waiting for something to happen in a test: poll a condition with a generous deadline.

The deadline only turns a hang into a failure with a message; a loaded two-core machine must
never reach it, so it is minutes, not the seconds the thing usually takes.
"""

from __future__ import annotations

import time
from collections.abc import Callable

DEADLINE_S = 120.0


def wait_until(check: Callable[[], object], what: str, timeout: float = DEADLINE_S) -> None:
    """Return as soon as ``check()`` is true; fail after ``timeout`` seconds saying ``what`` never came."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.01)
