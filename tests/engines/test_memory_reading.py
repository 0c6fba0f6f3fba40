"""Peak memory readings belong to the process that takes them, not to the one that started it."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from deepresearch_local.engines.memory import peak_rss_bytes

MiB = 1 << 20

CHILD = (
    "import json, resource; from deepresearch_local.engines.memory import peak_rss_bytes; "
    "print(json.dumps([peak_rss_bytes(), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024]))"
)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="fork+exec inheritance is Linux's")
def test_a_probe_started_by_a_large_process_reads_its_own_peak() -> None:
    ballast = bytearray(700 * MiB)  # make this process large, as a test runner with models loaded is
    ballast[::4096] = b"x" * len(ballast[::4096])  # touch every page
    parent = peak_rss_bytes()
    assert parent is not None and parent > 700 * MiB
    out = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True, check=True)
    own, inherited = json.loads(out.stdout)
    del ballast
    assert own < 200 * MiB, f"the child read {own / MiB:.0f} MiB"
    # What ru_maxrss says in the same child: the parent's figure. This is why it is not used.
    assert inherited > 600 * MiB
