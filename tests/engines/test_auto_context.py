"""``auto_context``: the context every run without ``--context`` gets. The real 0.5B model is opened
the way such a run opens it (``open_engine`` with no context), in a fresh process; the context
chosen must be the one llama.cpp really allocates, and the memory it takes must fit the budget."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from deepresearch_local.config import Settings, save_settings
from deepresearch_local.hardware.fit import MIN_AGENT_CONTEXT, MemoryBudget, estimate, fit
from deepresearch_local.hardware.modelinfo import read_shape
from deepresearch_local.units import human_bytes

REPO = Path(__file__).resolve().parents[2]
MiB = 1 << 20
GiB = 1 << 30
PRETEND_RAM = REPO / "tests" / "support" / "pretend_ram"
TOO_SMALL = 3 * GiB + 700 * MiB
"""A machine that leaves the 0.5B model 700 MiB: 6,144 tokens of context fit, the agent needs 8,192."""


def _cli_on(ram_bytes: int, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    """The real command line, in a process that believes the machine has ``ram_bytes`` of memory."""
    path = os.pathsep.join(p for p in (str(PRETEND_RAM), str(REPO), os.environ.get("PYTHONPATH")) if p)
    env = {**os.environ, "PYTHONPATH": path, "DRL_PRETEND_RAM_BYTES": str(ram_bytes)}
    return subprocess.run(
        [sys.executable, "-m", "deepresearch_local", *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=REPO,
        env=env,
        timeout=600,
        check=False,
    )


def _probe(model: Path, ram_bytes: int | None = None, kv_type: str | None = None) -> dict[str, int]:
    extra = [str(ram_bytes)] if ram_bytes is not None else []
    extra += [kv_type] if kv_type else []
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


@pytest.mark.parametrize("command", [["chat"], ["ask", "--offline", "Where is the archive box?"]])
def test_a_machine_without_room_for_the_agents_context_is_told_what_to_do(
    qwen05b: Path, command: list[str]
) -> None:
    """No ``--context`` on a machine where only 6,144 tokens fit with the f16 KV cache asked for:
    refused before anything loads, with the figures and the ways out (it used to open the model with
    6,144 tokens, below the minimum). Without ``--kv-type`` the run plans q8_0 there and opens
    (tests/service/test_kv_plan.py)."""
    shape = read_shape(qwen05b)
    budget = MemoryBudget.for_machine(TOO_SMALL)
    fits = fit(shape, budget).max_context_tokens
    assert 0 < fits < MIN_AGENT_CONTEXT <= fit(shape, budget, kv_type="q8_0").max_context_tokens
    save_settings(Settings(model=str(qwen05b)))  # the saved model, no --context: what most users run

    out = _cli_on(TOO_SMALL, *command, "--kv-type", "f16", stdin="hello\n")
    assert out.returncode == 3, (out.returncode, out.stdout, out.stderr)
    assert "Loading" not in out.stderr  # refused before the weights were read in
    needed = estimate(shape, MIN_AGENT_CONTEXT).ram
    said = " ".join(out.stderr.split())
    assert (
        f"{qwen05b.name} needs {human_bytes(needed)} for the 8,192 tokens of context a research run needs; "
        f"this machine leaves it {human_bytes(budget.ram_bytes)}"
    ) in said, out.stderr
    assert "pass --kv-type q8_0" in said and "deepresearch models list" in said, out.stderr
    assert f"pass --context {fits} to try anyway" in said, out.stderr


def test_a_model_with_no_room_at_all_is_not_offered_a_smaller_context(qwen05b: Path) -> None:
    ram = 3 * GiB + 500 * MiB  # less than the weights and the runtime alone
    assert fit(read_shape(qwen05b), MemoryBudget.for_machine(ram)).max_context_tokens == 0
    out = _cli_on(ram, "chat", "--model", str(qwen05b), stdin="hello\n")
    assert out.returncode == 3, (out.stdout, out.stderr)
    said = " ".join(out.stderr.split())
    assert "Not even a short context fits." in said and "--context" not in said, out.stderr
    assert "--kv-type" not in said  # a smaller KV cache would not make room either


@pytest.mark.slow
def test_the_smaller_kv_cache_the_refusal_offers_really_fits(qwen05b: Path) -> None:
    """The advice is true: with ``--kv-type q8_0`` the same machine opens the real model with at least
    the agent's context, and the process stays within the budget."""
    result = _probe(qwen05b, TOO_SMALL, "q8_0")
    budget = MemoryBudget.for_machine(TOO_SMALL)
    shape = read_shape(qwen05b)
    chosen = result["chosen_context"]
    assert result["allocated_context"] == chosen >= MIN_AGENT_CONTEXT
    assert estimate(shape, chosen, kv_type="q8_0").ram <= budget.ram_bytes
    peak = result["peak_rss_bytes"]
    assert peak - shape.cpu_repack_bytes <= budget.ram_bytes, (peak / MiB, budget.ram_bytes / MiB)
