"""Hardware facts: OS, CPU, memory, GPUs, disk, and which inference backends work here.

Facts only; what to run on them is decided elsewhere. Every external command goes through a
:class:`CommandRunner` and every file read through a :data:`FileReader`, and the platform facts
(:class:`SystemFacts`) can be injected too, so tests can replay a Mac or a Windows PC on Linux.
"""

from __future__ import annotations

import contextlib
import importlib
import shutil
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from deepresearch_local.hardware import hosts, parsers
from deepresearch_local.hardware.parsers import SmiRow
from deepresearch_local.hardware.sources import (
    CommandRunner,
    FileReader,
    SubprocessRunner,
    SystemFacts,
    local_system_facts,
    nvml_rows,
    read_text,
    text,
)

__all__ = [
    "BackendStatus",
    "CommandRunner",
    "FileReader",
    "Gpu",
    "Hardware",
    "SubprocessRunner",
    "SystemFacts",
    "gpu_memory_bytes",
    "probe",
    "probe_llama_cpp",
    "probe_mlx",
]


@dataclass(frozen=True)
class Gpu:
    """One GPU. For Apple Silicon ``memory_total_bytes`` is the share of RAM Metal may use."""

    vendor: str
    name: str
    memory_total_bytes: int
    memory_free_bytes: int | None
    driver: str | None
    compute_capability: str | None


@dataclass(frozen=True)
class BackendStatus:
    """Whether an inference backend works here, and on what (cuda|metal|rocm|vulkan|sycl|gpu|cpu|none)."""

    name: str
    available: bool
    device: str
    version: str | None
    reason: str


@dataclass(frozen=True)
class Hardware:
    """Everything :func:`probe` found out about this machine."""

    os: str
    os_version: str
    arch: str
    cpu: str
    cpu_cores_physical: int | None
    cpu_cores_logical: int
    ram_total_bytes: int
    ram_available_bytes: int
    apple_chip: str | None
    unified_memory: bool
    gpus: tuple[Gpu, ...]
    backends: tuple[BackendStatus, ...]
    models_dir: str
    disk_free_bytes: int
    cpu_cores_performance: int | None = None
    """Performance cores on Apple Silicon (``hw.perflevel0.physicalcpu``); None elsewhere."""
    metal_wired_limit_bytes: int | None = None
    """A raised GPU working-set limit (``sudo sysctl iogpu.wired_limit_mb=N``); None: macOS's default."""
    metal_working_set_bytes: int | None = None
    """What the Metal device reports it may use (``recommendedMaxWorkingSetSize``); None where it
    could not be read (off a Mac, or a replayed machine without a recording)."""

    def backend(self, name: str) -> BackendStatus | None:
        return next((b for b in self.backends if b.name == name), None)

    def to_dict(self) -> dict[str, object]:
        """JSON-ready: ``gpus`` a list of dicts, ``backends`` keyed by backend name."""
        out: dict[str, object] = {k: v for k, v in asdict(self).items() if k not in ("gpus", "backends")}
        out["gpus"] = [asdict(g) for g in self.gpus]
        out["backends"] = {
            b.name: {"available": b.available, "device": b.device, "version": b.version, "reason": b.reason}
            for b in self.backends
        }
        return out


def _disk_free(folder: Path) -> int:
    """Free bytes on the disk holding ``folder`` (or its nearest existing parent)."""
    here = folder.expanduser().absolute()
    while not here.exists() and here != here.parent:
        here = here.parent
    try:
        return shutil.disk_usage(here).free
    except OSError:
        return 0


def nvidia_gpus(runner: CommandRunner, nvml: Callable[[], list[SmiRow]] | None = None) -> list[Gpu]:
    """NVIDIA GPUs via ``nvidia-smi`` (without ``compute_cap`` on old drivers), else pynvml."""
    fields = ["name", "memory.total", "memory.free", "driver_version", "compute_cap"]
    for query in (fields, fields[:-1]):
        out = runner(["nvidia-smi", f"--query-gpu={','.join(query)}", "--format=csv,noheader,nounits"])
        if out is not None:
            return [Gpu("nvidia", *row) for row in parsers.parse_nvidia_smi(out)]
    return [Gpu("nvidia", *row) for row in (nvml or nvml_rows)()]


def probe_llama_cpp(import_module: Callable[[str], Any] = importlib.import_module) -> BackendStatus:
    """Import llama-cpp-python in-process and read which GPU backend (if any) the build offloads to."""
    name = "llama.cpp"
    try:
        llama = import_module("llama_cpp")
    except ImportError:
        return BackendStatus(
            name, False, "none", None, "llama-cpp-python is not installed: pip install llama-cpp-python"
        )
    except Exception as exc:  # e.g. a CUDA build without the CUDA runtime libraries
        return BackendStatus(name, False, "none", None, f"llama-cpp-python failed to load: {exc}")
    version = getattr(llama, "__version__", None)
    try:
        offload = bool(llama.llama_supports_gpu_offload())
    except Exception:
        offload = False
    names: list[str] = []
    if all(hasattr(llama, f"ggml_backend_reg_{f}") for f in ("count", "get", "name")):
        try:
            for i in range(int(llama.ggml_backend_reg_count())):
                names.append(text(llama.ggml_backend_reg_name(llama.ggml_backend_reg_get(i))).lower())
        except Exception:
            names = []
    with contextlib.suppress(Exception):
        names += parsers.llama_backend_names(text(llama.llama_print_system_info()))
    device = parsers.llama_device(names, offload)
    return BackendStatus(name, True, device, version, parsers.llama_reason(version, device))


def probe_mlx(runner: CommandRunner, apple_silicon: bool) -> BackendStatus:
    """Check MLX and mlx-lm in a subprocess of this interpreter (importing MLX can be slow or crash).

    A frozen (PyInstaller) build has no interpreter to start, its executable is the app itself,
    so there the same check runs in-process.
    """
    if getattr(sys, "frozen", False):
        out = _run_check_in_process(parsers.MLX_CHECK)
    else:
        out = runner([sys.executable, "-c", parsers.MLX_CHECK])
    return BackendStatus("mlx", *parsers.mlx_check_result(out, apple_silicon))


def _run_check_in_process(code: str) -> str | None:
    """What ``code`` prints when run here; None if it raises."""
    import io

    printed = io.StringIO()
    try:
        with contextlib.redirect_stdout(printed):
            exec(code, {"__name__": "__drl_check__"})
    except Exception:
        return None
    return printed.getvalue()


def probe(
    models_dir: Path | None = None,
    runner: CommandRunner | None = None,
    *,
    reader: FileReader | None = None,
    facts: SystemFacts | None = None,
    llama: Callable[[], BackendStatus] | None = None,
    nvml: Callable[[], list[SmiRow]] | None = None,
    cached_backends: bool = False,
    metal: Callable[[], int | None] | None = None,
) -> Hardware:
    """Gather the facts. Every argument defaults to the real machine; tests inject recordings.

    ``facts`` stands in for ``platform``/``psutil``, ``llama`` for the in-process llama-cpp-python
    check and ``nvml`` for the pynvml fallback used when ``nvidia-smi`` is missing.
    ``cached_backends``: reuse the backend checks remembered in the cache folder while the
    packages are unchanged (``hardware.backend_cache``; listings use it, ``doctor`` does not).
    ``metal`` reads Metal's recommended working set: by default the real device, but only when
    ``facts`` are this machine's (a replayed Mac has no device to ask).
    """
    if models_dir is None:
        from deepresearch_local.paths import get_paths

        models_dir = get_paths().models_dir
    run = runner or SubprocessRunner()
    f = facts or local_system_facts()
    if f.system == "Darwin":
        if metal is None:
            from deepresearch_local.hardware.metal_device import metal_working_set_bytes

            metal = metal_working_set_bytes if facts is None else _no_reading
        host = hosts.macos(f, run, metal)
    elif f.system == "Linux":
        host = hosts.linux(f, run, reader or read_text)
    else:
        host = hosts.other(f)
    chip: str | None = host.pop("apple_chip", None)
    share: int | None = host.pop("apple_gpu_bytes", None)
    apple_gpus = [Gpu("apple", chip, share, None, None, None)] if chip and share is not None else []
    llama_check = llama or probe_llama_cpp

    def mlx_check() -> BackendStatus:
        return probe_mlx(run, chip is not None)

    if cached_backends and llama is None and runner is None:
        from deepresearch_local.hardware.backend_cache import cached_check

        hint = "pip install mlx-lm" if chip else "only useful on Apple Silicon: pip install mlx-lm"
        no_mlx = BackendStatus("mlx", False, "none", None, f"mlx-lm is not installed ({hint})")
        no_llama = "llama-cpp-python is not installed: pip install llama-cpp-python"
        backends = (
            cached_check("llama.cpp", llama_check, BackendStatus("llama.cpp", False, "none", None, no_llama)),
            cached_check("mlx", mlx_check, no_mlx),
        )
    else:
        backends = (llama_check(), mlx_check())
    return Hardware(
        **host,
        apple_chip=chip,
        unified_memory=chip is not None,
        gpus=(*apple_gpus, *nvidia_gpus(run, nvml)),
        backends=backends,
        models_dir=str(models_dir),
        disk_free_bytes=_disk_free(Path(models_dir)),
    )


def _no_reading() -> int | None:
    return None


def gpu_memory_bytes(hw: Hardware) -> int:
    """Total NVIDIA VRAM, or else the Apple GPU's share of unified memory; 0 without a GPU."""
    nvidia = sum(g.memory_total_bytes for g in hw.gpus if g.vendor == "nvidia")
    return nvidia or sum(g.memory_total_bytes for g in hw.gpus if g.vendor == "apple")
