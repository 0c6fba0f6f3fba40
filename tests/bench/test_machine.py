"""The machine block every benchmark's JSON carries."""

from __future__ import annotations

import platform

import llama_cpp
import psutil

import deepresearch_local
from deepresearch_local.bench.machine import describe, machine_info

KEYS = {"os", "arch", "cpu", "cores", "threads", "ram_total_bytes", "gpus", "backend", "backends", "versions"}


def test_machine_block_describes_this_machine() -> None:
    machine = machine_info(backend="llama.cpp")
    assert machine.keys() >= KEYS
    assert machine["backend"] == "llama.cpp"
    assert machine["threads"] == psutil.cpu_count() and 1 <= machine["cores"] <= machine["threads"]
    assert machine["ram_total_bytes"] == psutil.virtual_memory().total
    assert machine["arch"] in ("x86_64", "arm64") and machine["os"] in ("linux", "macos", "windows")
    assert set(machine["backends"]) == {"llama.cpp", "mlx"}
    assert machine["backends"]["llama.cpp"]["version"] == llama_cpp.__version__
    versions = machine["versions"]
    assert versions["python"] == platform.python_version()
    assert versions["deepresearch-local"] == deepresearch_local.__version__
    assert versions["llama-cpp-python"] == llama_cpp.__version__
    load = machine["load_average"]
    assert isinstance(load, list) and len(load) == 3 and all(x >= 0 for x in load)
    assert machine_info()["backend"] is None  # the hardware part is probed once, the backend is per call
    line = describe(machine)
    gib = round(machine["ram_total_bytes"] / (1 << 30))
    assert f"{machine['cores']} cores, {gib} GiB RAM" in line
    assert line.endswith(f"({machine['os']} {machine['arch']})")
    assert ("no GPU" in line) == (not machine["gpus"])
