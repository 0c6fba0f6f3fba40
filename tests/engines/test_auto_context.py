"""``auto_context``: the context every run without ``--context`` gets. The real 0.5B model is opened
the way such a run opens it (``open_engine`` with no context), in a fresh process; the context
chosen must be the one llama.cpp really allocates, and the memory it takes must fit the budget."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from deepresearch_local.hardware.fit import MIN_AGENT_CONTEXT, MemoryBudget, estimate
from deepresearch_local.hardware.modelinfo import read_shape

REPO = Path(__file__).resolve().parents[2]
MiB = 1 << 20
GiB = 1 << 30


def _probe(model: Path, ram_bytes: int | None = None) -> dict[str, int]:
    extra = [str(ram_bytes)] if ram_bytes is not None else []
    out = subprocess.run(
        [sys.executable, "-m", "tests.engines.auto_context_probe", str(model), *extra],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    result: dict[str, int] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


@pytest.mark.slow
def test_this_machine_gets_the_models_full_context(qwen05b: Path) -> None:
    """24 GiB and a 0.5B model: the whole 32K the model was trained for, and llama.cpp allocates it."""
    import psutil

    result = _probe(qwen05b)
    shape = read_shape(qwen05b)
    budget = MemoryBudget.for_machine(psutil.virtual_memory().total)
    assert result["budget_bytes"] == budget.ram_bytes
    assert result["chosen_context"] == result["allocated_context"] == shape.n_ctx_train == 32768
    assert estimate(shape, 32768).ram <= budget.ram_bytes
    assert result["peak_rss_bytes"] <= budget.ram_bytes
    assert result["prompt_tokens"] == 600  # a full batch really ran in that context


@pytest.mark.slow
def test_a_small_machine_gets_the_largest_context_that_fits_and_it_fits(qwen05b: Path) -> None:
    """A machine with 800 MiB left for the model (3 GiB kept for the system): a context between the
    agent's minimum and the model's maximum, which the process then really stays within."""
    ram_total = 3 * GiB + 800 * MiB
    result = _probe(qwen05b, ram_total)
    shape = read_shape(qwen05b)
    budget = MemoryBudget.for_machine(ram_total)
    assert result["budget_bytes"] == budget.ram_bytes == 800 * MiB
    chosen = result["chosen_context"]
    assert result["allocated_context"] == chosen  # what llama.cpp allocated, read back
    assert MIN_AGENT_CONTEXT <= chosen < shape.n_ctx_train
    # The largest context (in the calculator's 1,024-token steps) whose estimate fits the budget.
    assert estimate(shape, chosen).ram <= budget.ram_bytes < estimate(shape, chosen + 1024).ram
    # Measured: the estimate holds, and the process stays within the budget. The peak RSS also counts
    # the mapped originals of the tensors llama.cpp repacks: page cache the kernel can reclaim,
    # which the calculator keeps out of what a run needs.
    peak = result["peak_rss_bytes"]
    predicted = estimate(shape, chosen).expected_peak_rss
    assert abs(predicted - peak) <= 0.10 * peak, (predicted / MiB, peak / MiB)
    assert peak - shape.cpu_repack_bytes <= budget.ram_bytes, (peak / MiB, budget.ram_bytes / MiB)
