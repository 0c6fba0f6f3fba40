"""The machine block every benchmark's JSON carries: what ran the figures.

Built from the hardware probe (CPU, cores, RAM, GPUs, which backends work) plus the versions of
the libraries that shape the figures, read from package metadata without importing them.
"""

from __future__ import annotations

import os
import platform
from functools import lru_cache
from importlib import metadata
from typing import Any

LIBRARIES = ("llama_cpp_python", "mlx", "mlx-lm", "textual", "numpy", "matplotlib")


def library_versions() -> dict[str, str | None]:
    """Installed versions (None: not installed) of Python, this app and the libraries it runs on."""
    out: dict[str, str | None] = {"python": platform.python_version()}
    from deepresearch_local import __version__

    out["deepresearch-local"] = __version__
    for name in LIBRARIES:
        try:
            out[name.replace("_", "-")] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name.replace("_", "-")] = None
    return out


@lru_cache(maxsize=1)
def _probed() -> dict[str, Any]:
    from deepresearch_local.hardware.probe import probe

    hw = probe()
    return {
        "os": hw.os,
        "os_version": hw.os_version,
        "arch": hw.arch,
        "cpu": hw.cpu,
        "cores": hw.cpu_cores_physical or hw.cpu_cores_logical,
        "threads": hw.cpu_cores_logical,
        "ram_total_bytes": hw.ram_total_bytes,
        "apple_chip": hw.apple_chip,
        "gpus": [
            {"vendor": g.vendor, "name": g.name, "memory_total_bytes": g.memory_total_bytes} for g in hw.gpus
        ],
        "backends": {
            b.name: {"available": b.available, "device": b.device, "version": b.version} for b in hw.backends
        },
    }


def machine_info(backend: str | None = None) -> dict[str, Any]:
    """The machine block: hardware, the ``backend`` the figures were measured with, library versions
    and the load average (other programs running at the same time slow timings down).

    The probe runs once per process (it starts a subprocess to check MLX).
    """
    info = dict(_probed())
    info["backend"] = backend
    info["versions"] = library_versions()
    info["load_average"] = _load_average()
    return info


def _load_average() -> list[float] | None:
    """1, 5 and 15-minute load averages when the figures were taken (other work skews timings)."""
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except (AttributeError, OSError):  # Windows
        return None


def describe(machine: dict[str, Any]) -> str:
    """One line naming the machine, for table footers and the README."""
    gib = machine["ram_total_bytes"] / (1 << 30)
    gpus = ", ".join(g["name"] for g in machine["gpus"]) or "no GPU"
    cpu = machine.get("apple_chip") or machine["cpu"]
    return f"{cpu}, {machine['cores']} cores, {gib:.0f} GiB RAM, {gpus} ({machine['os']} {machine['arch']})"
