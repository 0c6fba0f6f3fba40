"""What each operating system says about the host: CPU, memory, OS version and, on Apple Silicon,
the GPU's share of unified memory (read by :func:`deepresearch_local.hardware.probe.probe`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from deepresearch_local.hardware import parsers
from deepresearch_local.hardware.sources import CommandRunner, FileReader, SystemFacts


def arch(machine: str) -> str:
    """``platform.machine()``'s many spellings, as one: x86_64, arm64, ..."""
    m = machine.lower()
    return {"amd64": "x86_64", "x64": "x86_64", "aarch64": "arm64", "arm64e": "arm64"}.get(m, m or "unknown")


def macos(f: SystemFacts, run: CommandRunner, metal: Callable[[], int | None]) -> dict[str, Any]:
    """sysctl, vm_stat and sw_vers; on Apple Silicon also the GPU's share of unified memory."""

    def sysctl(key: str) -> str | None:
        return run(["sysctl", "-n", key])

    brand = (sysctl("machdep.cpu.brand_string") or "").strip() or f.cpu_name or "unknown"
    translated = parsers.to_int(sysctl("sysctl.proc_translated")) == 1  # Python under Rosetta 2
    chip = brand if brand.startswith("Apple") else ("Apple Silicon" if translated else None)
    ram = parsers.to_int(sysctl("hw.memsize")) or f.ram_total_bytes or 0
    share: int | None = None
    wired: int | None = None
    working_set: int | None = None
    if chip:
        wired_mb = parsers.to_int(sysctl("iogpu.wired_limit_mb"))
        wired = wired_mb * parsers.MIB if wired_mb else parsers.to_int(sysctl("debug.iogpu.wired_limit"))
        working_set = metal()
        share = parsers.apple_gpu_share(ram, wired, working_set)
    vm_stat = run(["vm_stat"])
    available = parsers.parse_vm_stat(vm_stat) if vm_stat else None
    return {
        "os": "macos",
        "os_version": (run(["sw_vers", "-productVersion"]) or "").strip() or f.release,
        "arch": "arm64" if chip else arch(f.machine),
        "cpu": brand,
        "cpu_cores_physical": parsers.to_int(sysctl("hw.physicalcpu")) or f.cores_physical,
        "cpu_cores_logical": parsers.to_int(sysctl("hw.logicalcpu")) or f.cores_logical or 1,
        "cpu_cores_performance": parsers.to_int(sysctl("hw.perflevel0.physicalcpu")) if chip else None,
        "ram_total_bytes": ram,
        "ram_available_bytes": available or f.ram_available_bytes or 0,
        "apple_chip": chip,
        "apple_gpu_bytes": share,
        "metal_wired_limit_bytes": wired or None,
        "metal_working_set_bytes": working_set or None,
    }


def linux(f: SystemFacts, run: CommandRunner, read: FileReader) -> dict[str, Any]:
    """/proc/cpuinfo, /proc/meminfo and /etc/os-release, with psutil's answers first for core counts."""
    cpuinfo = read("/proc/cpuinfo") or ""
    physical, logical = parsers.parse_cpuinfo_cores(cpuinfo)
    model = parsers.parse_cpuinfo_model(cpuinfo)
    if model is None:
        model = parsers.parse_lscpu_model(run(["lscpu"]) or "") or f.cpu_name or f.machine
    memory = parsers.parse_meminfo(read("/proc/meminfo") or "")
    total, available = memory or (f.ram_total_bytes or 0, f.ram_available_bytes or 0)
    distro = parsers.parse_os_release(read("/etc/os-release") or "")
    return {
        "os": "linux",
        "os_version": f"{distro} (kernel {f.release})" if distro else f"kernel {f.release}",
        "arch": arch(f.machine),
        "cpu": model,
        "cpu_cores_physical": f.cores_physical or physical,
        "cpu_cores_logical": f.cores_logical or logical or 1,
        "ram_total_bytes": total,
        "ram_available_bytes": available,
    }


def other(f: SystemFacts) -> dict[str, Any]:
    """Windows (and anything else): platform + psutil only."""
    return {
        "os": "windows" if f.system == "Windows" else f.system.lower() or "unknown",
        "os_version": f.version or f.release,
        "arch": arch(f.machine),
        "cpu": f.cpu_name or f.machine or "unknown",
        "cpu_cores_physical": f.cores_physical,
        "cpu_cores_logical": f.cores_logical or 1,
        "ram_total_bytes": f.ram_total_bytes or 0,
        "ram_available_bytes": f.ram_available_bytes or 0,
    }
