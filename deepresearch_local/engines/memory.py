"""Process memory readings shared by the backends and the benchmarks."""

from __future__ import annotations

import sys


def peak_rss_bytes() -> int | None:
    """Peak resident set size of this process so far (None where the OS does not say).

    On Linux this is ``VmHWM``, the high-water mark of this program's own memory. ``ru_maxrss``
    is not used there: across fork and exec it keeps the parent's figure, so a probe started
    from a large process (a test runner that loaded models) reads the parent's peak.
    """
    hwm = _linux_vmhwm()
    if hwm is not None:
        return hwm
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


def _linux_vmhwm() -> int | None:
    try:
        with open("/proc/self/status", encoding="ascii", errors="replace") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024  # kB
    except (OSError, ValueError, IndexError):
        return None
    return None
