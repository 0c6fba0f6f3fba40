"""Numbers for people: byte sizes, durations and transfer rates, in one style everywhere.

A ground-floor module (standard library only): the core, the CLI and the terminal app all
format through it, so a size reads the same in a download notice, a table and a progress bar.
"""

from __future__ import annotations


def human_bytes(n: int | float | None) -> str:
    """``1536`` -> ``"1.5 KiB"``; whole bytes below 1 KiB; ``"?"`` when unknown."""
    if n is None:
        return "?"
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(value) < 1024 or unit == "TiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TiB"  # pragma: no cover - the loop returns at TiB


def mib(n: int) -> str:
    """A size in MiB whatever it is, one decimal (``"0.1 MiB"``, ``"64.0 MiB"``): file size
    limits and the sizes compared with them read alike."""
    return f"{n / 1024 / 1024:.1f} MiB"


def human_rate(bytes_per_second: float | None) -> str:
    """``4194304.0`` -> ``"4.0 MiB/s"``."""
    return f"{human_bytes(bytes_per_second)}/s"


def eta_text(seconds: float | None) -> str:
    """A compact duration for a countdown: ``"42s"``, ``"3m05s"``, ``"2h07m"``; ``"?"`` when unknown."""
    if seconds is None:
        return "?"
    s = int(seconds)
    if s >= 3600:
        return f"{s // 3600}h{s % 3600 // 60:02d}m"
    if s >= 60:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s}s"
