"""The real machine's sources: commands, files, ``platform``/``psutil`` facts and pynvml.

:mod:`deepresearch_local.hardware.probe` reads the machine only through these (or through
stand-ins a test injects).
"""

from __future__ import annotations

import contextlib
import os
import platform
import shutil
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from deepresearch_local.hardware.parsers import SmiRow


class CommandRunner(Protocol):
    """Runs ``argv`` and returns its stdout, or None when the command is missing or fails."""

    def __call__(self, argv: Sequence[str]) -> str | None: ...


FileReader = Callable[[str], "str | None"]
"""Reads a text file, or returns None when it cannot."""


@dataclass(frozen=True)
class SystemFacts:
    """What Python itself (``platform``, ``psutil``) says; None where it cannot tell."""

    system: str
    """``platform.system()``: Darwin, Linux or Windows."""
    machine: str
    release: str
    version: str
    cpu_name: str | None = None
    cores_logical: int | None = None
    cores_physical: int | None = None
    ram_total_bytes: int | None = None
    ram_available_bytes: int | None = None


def local_system_facts() -> SystemFacts:
    """This machine's facts from ``platform`` and ``psutil``."""
    cores_physical = ram_total = ram_available = None
    try:
        import psutil

        cores_physical = psutil.cpu_count(logical=False)
        memory = psutil.virtual_memory()
        ram_total, ram_available = int(memory.total), int(memory.available)
    except Exception:  # psutil missing or unsupported here: the OS files still answer
        pass
    return SystemFacts(
        system=platform.system(),
        machine=platform.machine(),
        release=platform.release(),
        version=platform.version(),
        cpu_name=_windows_cpu_name() if sys.platform == "win32" else (platform.processor() or None),
        cores_logical=os.cpu_count(),
        cores_physical=cores_physical,
        ram_total_bytes=ram_total,
        ram_available_bytes=ram_available,
    )


def _windows_cpu_name() -> str | None:
    try:
        import winreg

        key = winreg.OpenKey(winreg.HKEY_LOCAL_MACHINE, r"HARDWARE\DESCRIPTION\System\CentralProcessor\0")  # type: ignore[attr-defined,unused-ignore]
        value = winreg.QueryValueEx(key, "ProcessorNameString")[0]  # type: ignore[attr-defined,unused-ignore]
        return str(value).strip() or None
    except Exception:
        return platform.processor() or None


class SubprocessRunner:
    """The real :class:`CommandRunner`: stdout of a successful run, else None (missing, failed, timed out)."""

    def __init__(self, timeout: float = 30.0) -> None:
        self.timeout = timeout

    def __call__(self, argv: Sequence[str]) -> str | None:
        if not argv or shutil.which(argv[0]) is None:
            return None
        try:
            done = subprocess.run(
                list(argv), capture_output=True, text=True, timeout=self.timeout, stdin=subprocess.DEVNULL
            )
        except (OSError, subprocess.SubprocessError):
            return None
        return done.stdout if done.returncode == 0 else None


def read_text(path: str) -> str | None:
    """The real :data:`FileReader`."""
    try:
        return Path(path).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None


def nvml_rows() -> list[SmiRow]:
    """NVIDIA GPUs through pynvml (``nvidia-ml-py``), for machines without ``nvidia-smi`` on PATH."""
    try:
        import pynvml
    except ImportError:
        return []
    try:
        pynvml.nvmlInit()
    except Exception:  # no driver
        return []
    rows: list[SmiRow] = []
    try:
        driver = pynvml.nvmlSystemGetDriverVersion()
        for i in range(pynvml.nvmlDeviceGetCount()):
            handle = pynvml.nvmlDeviceGetHandleByIndex(i)
            name = pynvml.nvmlDeviceGetName(handle)
            memory = pynvml.nvmlDeviceGetMemoryInfo(handle)
            try:
                major, minor = pynvml.nvmlDeviceGetCudaComputeCapability(handle)
                capability: str | None = f"{major}.{minor}"
            except Exception:
                capability = None
            rows.append(SmiRow(text(name), int(memory.total), int(memory.free), text(driver), capability))
    except Exception:  # a half-broken driver: keep what was read
        pass
    finally:
        with contextlib.suppress(Exception):
            pynvml.nvmlShutdown()
    return rows


def text(value: object) -> str:
    """bytes or str (bindings differ) -> str."""
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
