"""How many cores this process may use, for the indexer's workers and the vector product's threads."""

from __future__ import annotations

import os


def cores() -> int:
    """The cores this process may run on (a container's or a taskset's limit counts)."""
    affinity = getattr(os, "sched_getaffinity", None)
    if affinity is not None:
        try:
            return max(1, len(affinity(0)))
        except OSError:
            pass
    return max(1, os.cpu_count() or 1)
