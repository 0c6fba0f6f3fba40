"""Put this folder on ``PYTHONPATH`` with ``DRL_PRETEND_RAM_BYTES`` set, and the process believes
the machine has that much memory (what ``auto_context`` and the fit calculator read from psutil).
Tests use it to run the real command line as a small machine would."""

from __future__ import annotations

import os

_RAM = os.environ.get("DRL_PRETEND_RAM_BYTES")
if _RAM:
    from types import SimpleNamespace

    import psutil

    _total = int(_RAM)
    psutil.virtual_memory = lambda: SimpleNamespace(total=_total, available=_total)  # type: ignore[assignment]
