"""Process memory readings shared by the backends and the benchmarks."""

from __future__ import annotations

import sys


def peak_rss_bytes() -> int | None:
    """Peak resident set size of this process so far (None where the OS does not say)."""
    try:
        import resource
    except ImportError:  # Windows
        try:
            import psutil

            info = psutil.Process().memory_info()
            return int(getattr(info, "peak_wset", info.rss))
        except Exception:
            return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # Linux reports KiB, macOS bytes.
    return int(peak if sys.platform == "darwin" else peak * 1024)


def current_rss_bytes() -> int | None:
    try:
        import psutil

        return int(psutil.Process().memory_info().rss)
    except Exception:
        return None
