"""The hardware probe: recorded outputs of three machines replayed, plus the real probe of this one."""

from __future__ import annotations

import importlib.util
import json
import platform
import shutil
import sys
import types
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import psutil
import pytest

from deepresearch_local.hardware import parsers
from deepresearch_local.hardware.probe import (
    BackendStatus,
    Gpu,
    Hardware,
    SystemFacts,
    gpu_memory_bytes,
    probe,
    probe_llama_cpp,
    probe_mlx,
)

FIXTURES = Path(__file__).parent / "fixtures"
MIB = 1024 * 1024
GIB = 1024 * MIB


class Recorded:
    """A machine replayed from ``fixtures/<name>/machine.json`` (``@file`` values live beside it)."""

    def __init__(self, name: str) -> None:
        self.folder = FIXTURES / name
        self.spec: dict[str, Any] = json.loads((self.folder / "machine.json").read_text())
        self.calls: list[list[str]] = []

    def _value(self, value: str) -> str:
        return (self.folder / value[1:]).read_text() if value.startswith("@") else value

    def run(self, argv: Sequence[str]) -> str | None:
        self.calls.append(list(argv))
        key = "mlx" if list(argv[1:2]) == ["-c"] else " ".join(argv)
        value = self.spec["commands"].get(key)
        return None if value is None else self._value(value)

    def read(self, path: str) -> str | None:
        value = self.spec["files"].get(path)
        return None if value is None else self._value(value)

    def llama_module(self) -> types.SimpleNamespace:
        spec = self.spec["llama"]
        info = self._value(spec["system_info"]).encode()
        return types.SimpleNamespace(
            __version__=spec["version"],
            llama_supports_gpu_offload=lambda: spec["gpu_offload"],
            llama_print_system_info=lambda: info,
        )

    def probe(self, models_dir: Path) -> Hardware:
        module = self.llama_module()
        return probe(
            models_dir,
            self.run,
            reader=self.read,
            facts=SystemFacts(**self.spec["facts"]),
            llama=lambda: probe_llama_cpp(lambda name: module),
            nvml=list,
            metal=lambda: self.spec.get("metal_working_set"),
        )


def test_apple_silicon_mac(tmp_path: Path) -> None:
    hw = Recorded("mac_m2max").probe(tmp_path)
    assert (hw.os, hw.os_version, hw.arch) == ("macos", "14.5", "arm64")
    assert hw.cpu == hw.apple_chip == "Apple M2 Max"
    assert (hw.cpu_cores_physical, hw.cpu_cores_logical, hw.cpu_cores_performance) == (12, 12, 8)
    assert hw.ram_total_bytes == 34_359_738_368
    # (free 85193 + inactive 753212 + speculative 12345 + purgeable 25432) pages x 16384 bytes
    assert hw.ram_available_bytes == 876_182 * 16384 == 14_355_365_888
    assert hw.unified_memory is True
    # 32 GB is at most 36 GB, so Metal gets 2/3 of it
    assert hw.gpus == (Gpu("apple", "Apple M2 Max", 22_906_492_245, None, None, None),)
    assert gpu_memory_bytes(hw) == 22_906_492_245
    assert hw.backend("llama.cpp") == BackendStatus(
        "llama.cpp", True, "metal", "0.3.16", "llama-cpp-python 0.3.16 offloads layers to the GPU via Metal"
    )
    mlx = hw.backend("mlx")
    assert mlx is not None and (mlx.available, mlx.device, mlx.version) == (True, "gpu", "0.28.0")
    assert "Metal" in mlx.reason


def test_apple_wired_limit_override_wins(tmp_path: Path) -> None:
    machine = Recorded("mac_m2max")
    machine.spec["commands"]["sysctl -n iogpu.wired_limit_mb"] = "28672\n"
    hw = machine.probe(tmp_path)
    assert hw.gpus[0].memory_total_bytes == 28672 * MIB


def test_apple_gpu_share_rule() -> None:
    assert parsers.apple_gpu_share(36 * GIB) == 24 * GIB
    assert parsers.apple_gpu_share(64 * GIB) == 48 * GIB
    assert parsers.apple_gpu_share(128 * GIB, wired_limit_bytes=120 * GIB) == 120 * GIB


def test_apple_gpu_limit_prefers_raised_then_metal_then_estimate() -> None:
    metal = 11_453_251_584  # what a 16 GB M1 reports: 2/3 of RAM rounded up to a 16 KiB page
    assert parsers.apple_gpu_limit(16 * GIB, 12 * GIB, metal) == (12 * GIB, "raised")
    assert parsers.apple_gpu_limit(16 * GIB, None, metal) == (metal, "metal")
    assert parsers.apple_gpu_limit(16 * GIB, 0, metal) == (metal, "metal")  # 0: the default limit
    assert parsers.apple_gpu_limit(16 * GIB) == (16 * GIB * 2 // 3, "estimate")
    assert parsers.apple_gpu_limit(16 * GIB, None, 0) == (16 * GIB * 2 // 3, "estimate")
    assert parsers.apple_gpu_limit(48 * GIB, None, None) == (36 * GIB, "estimate")  # 3/4 above 36 GB


def test_the_probe_reads_metals_working_set_on_a_mac(tmp_path: Path) -> None:
    machine = Recorded("mac_m2max")
    machine.spec["metal_working_set"] = 22_906_503_168  # 2/3 of 32 GiB, page-rounded, as Metal says
    hw = machine.probe(tmp_path)
    assert hw.metal_working_set_bytes == 22_906_503_168 and hw.metal_wired_limit_bytes is None
    assert gpu_memory_bytes(hw) == 22_906_503_168
    machine.spec["commands"]["sysctl -n iogpu.wired_limit_mb"] = "28672\n"
    assert gpu_memory_bytes(machine.probe(tmp_path)) == 28672 * MIB  # a raised limit still wins


def test_a_replayed_mac_never_asks_this_machines_metal_device(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from deepresearch_local.hardware import metal_device

    asked: list[bool] = []

    def ask() -> int:
        asked.append(True)
        return 1

    monkeypatch.setattr(metal_device, "metal_working_set_bytes", ask)
    machine = Recorded("mac_m2max")
    hw = probe(
        tmp_path,
        machine.run,
        reader=machine.read,
        facts=SystemFacts(**machine.spec["facts"]),
        llama=lambda: BackendStatus("llama.cpp", False, "none", None, "-"),
        nvml=list,
    )
    assert hw.metal_working_set_bytes is None and asked == []
    assert gpu_memory_bytes(hw) == 32 * GIB * 2 // 3


def test_metal_reader_is_none_off_a_mac(monkeypatch: pytest.MonkeyPatch) -> None:
    from deepresearch_local.hardware import metal_device

    metal_device.metal_working_set_bytes.cache_clear()
    monkeypatch.setattr(platform, "system", lambda: "Linux")
    assert metal_device.metal_working_set_bytes() is None
    metal_device.metal_working_set_bytes.cache_clear()
    monkeypatch.setattr(platform, "system", lambda: "Darwin")
    monkeypatch.setattr(platform, "machine", lambda: "arm64")

    def broken() -> int | None:
        raise OSError("dlopen(/System/Library/Frameworks/Metal.framework/Metal): image not found")

    monkeypatch.setattr(metal_device, "_read", broken)
    assert metal_device.metal_working_set_bytes() is None  # a failure falls back, never raises
    metal_device.metal_working_set_bytes.cache_clear()


def test_nvidia_pc_on_linux(tmp_path: Path) -> None:
    hw = Recorded("linux_rtx4090").probe(tmp_path)
    assert (hw.os, hw.arch) == ("linux", "x86_64")
    assert hw.os_version == "Ubuntu 24.04.1 LTS (kernel 6.8.0-45-generic)"
    assert hw.cpu == "AMD Ryzen 9 7950X 16-Core Processor"
    assert (hw.cpu_cores_physical, hw.cpu_cores_logical) == (16, 32)
    assert hw.ram_total_bytes == 65_565_296 * 1024 == 67_138_863_104
    assert hw.ram_available_bytes == 60_123_456 * 1024 == 61_566_418_944
    assert (hw.apple_chip, hw.unified_memory, hw.cpu_cores_performance) == (None, False, None)
    assert hw.gpus == (
        Gpu("nvidia", "NVIDIA GeForce RTX 4090", 25_757_220_864, 24_935_137_280, "550.107.02", "8.9"),
    )
    assert gpu_memory_bytes(hw) == 24564 * MIB
    llama = hw.backend("llama.cpp")
    assert llama is not None and (llama.available, llama.device, llama.version) == (True, "cuda", "0.3.16")
    assert "CUDA" in llama.reason
    assert hw.backend("mlx") == BackendStatus(
        "mlx",
        False,
        "none",
        None,
        "mlx-lm is not installed (only useful on Apple Silicon: pip install mlx-lm)",
    )


def test_pc_without_gpu(tmp_path: Path) -> None:
    machine = Recorded("linux_nogpu")
    hw = machine.probe(tmp_path)
    assert hw.os_version == "Fedora Linux 40 (Workstation Edition) (kernel 6.10.6-200.fc40.x86_64)"
    assert hw.cpu == "Intel(R) Core(TM) i5-8250U CPU @ 1.60GHz"
    assert (hw.cpu_cores_physical, hw.cpu_cores_logical) == (4, 8)
    assert (hw.ram_total_bytes, hw.ram_available_bytes) == (16_655_781_888, 11_504_196_608)
    assert hw.gpus == () and gpu_memory_bytes(hw) == 0 and not hw.unified_memory
    assert ["nvidia-smi"] in [call[:1] for call in machine.calls]  # it did look for NVIDIA GPUs
    assert hw.backend("llama.cpp") == BackendStatus(
        "llama.cpp",
        True,
        "cpu",
        "0.3.16",
        "llama-cpp-python 0.3.16 is a CPU-only build (no GPU offload compiled in)",
    )
    mlx = hw.backend("mlx")
    assert mlx is not None and (mlx.available, mlx.device, mlx.version) == (True, "cpu", "0.28.0")
    d = hw.to_dict()
    backends = d["backends"]
    assert d["gpus"] == [] and isinstance(backends, dict) and backends["mlx"]["device"] == "cpu"
    assert json.loads(json.dumps(d)) == d


def test_windows_pc_from_platform_facts(tmp_path: Path) -> None:
    facts = SystemFacts(
        system="Windows",
        machine="AMD64",
        release="11",
        version="10.0.22631",
        cpu_name="13th Gen Intel(R) Core(TM) i7-13700K",
        cores_logical=24,
        cores_physical=16,
        ram_total_bytes=32 * GIB,
        ram_available_bytes=20 * GIB,
    )
    smi = "NVIDIA GeForce RTX 3060, 12288, 11000, 560.94, 8.6\n"
    runner = lambda argv: smi if argv[0] == "nvidia-smi" else None  # noqa: E731
    hw = probe(tmp_path, runner, facts=facts, llama=lambda: probe_llama_cpp(_missing), nvml=list)
    assert (hw.os, hw.os_version, hw.arch, hw.cpu) == ("windows", "10.0.22631", "x86_64", facts.cpu_name)
    assert (hw.cpu_cores_physical, hw.cpu_cores_logical, hw.ram_total_bytes) == (16, 24, 32 * GIB)
    assert [g.name for g in hw.gpus] == ["NVIDIA GeForce RTX 3060"] and gpu_memory_bytes(hw) == 12 * GIB
    assert hw.backend("llama.cpp") == BackendStatus(
        "llama.cpp", False, "none", None, "llama-cpp-python is not installed: pip install llama-cpp-python"
    )
    assert hw.backend("mlx") == BackendStatus(
        "mlx", False, "none", None, "the MLX check crashed or timed out"
    )


def _missing(name: str) -> Any:
    raise ModuleNotFoundError(f"No module named {name!r}")


def test_old_nvidia_driver_without_compute_cap_and_pynvml_fallback(tmp_path: Path) -> None:
    def old_driver(argv: Sequence[str]) -> str | None:
        if argv[0] == "nvidia-smi" and "compute_cap" not in argv[1]:
            return "Tesla T4, 15360, [N/A], 470.57.02\nTesla T4, 15360, 15101, 470.57.02\n"
        return None

    facts = SystemFacts("Linux", "x86_64", "5.4.0", "#1")
    hw = probe(
        tmp_path, old_driver, reader=lambda p: None, facts=facts, llama=lambda: probe_llama_cpp(_missing)
    )
    assert [(g.memory_total_bytes, g.memory_free_bytes, g.compute_capability) for g in hw.gpus] == [
        (15360 * MIB, None, None),
        (15360 * MIB, 15101 * MIB, None),
    ]
    assert gpu_memory_bytes(hw) == 2 * 15360 * MIB
    row = parsers.SmiRow("NVIDIA A100-SXM4-80GB", 80 * GIB, 79 * GIB, "535.54.03", "8.0")
    hw = probe(
        tmp_path,
        lambda argv: None,
        reader=lambda p: None,
        facts=facts,
        llama=lambda: probe_llama_cpp(_missing),
        nvml=lambda: [row],
    )
    assert hw.gpus == (Gpu("nvidia", *row),)
    assert (hw.cpu, hw.cpu_cores_logical, hw.ram_total_bytes) == ("x86_64", 1, 0)  # nothing else known


@pytest.mark.parametrize(
    ("info", "offload", "device"),
    [
        (b"CUDA : ARCHS = 890 | USE_GRAPHS = 1 | CPU : AVX2 = 1 | ", True, "cuda"),
        (b"Vulkan : CPU : SSE3 = 1 | AVX2 = 1 | ", True, "vulkan"),
        (b"ROCm : NO_VMM = 1 | PEER_MAX_BATCH_SIZE = 128 | CPU : AVX2 = 1 | ", True, "rocm"),
        (b"AVX = 1 | AVX2 = 1 | NEON = 0 | METAL = 1 | BLAS = 1 | ", True, "metal"),  # pre-registry format
        (b"RPC : CPU : AVX2 = 1 | ", True, "gpu"),
        (b"CUDA : ARCHS = 890 | CPU : AVX2 = 1 | ", False, "cpu"),
    ],
)
def test_llama_offload_device(info: bytes, offload: bool, device: str) -> None:
    module = types.SimpleNamespace(
        llama_supports_gpu_offload=lambda: offload, llama_print_system_info=lambda: info
    )
    status = probe_llama_cpp(lambda name: module)
    assert (status.available, status.device, status.version) == (True, device, None)


def test_llama_backend_registry_is_used_when_exposed() -> None:
    regs = [b"CPU", b"Vulkan"]
    module = types.SimpleNamespace(
        __version__="0.3.20",
        llama_supports_gpu_offload=lambda: True,
        llama_print_system_info=lambda: b"",
        ggml_backend_reg_count=lambda: len(regs),
        ggml_backend_reg_get=lambda i: i,
        ggml_backend_reg_name=lambda reg: regs[reg],
    )
    assert probe_llama_cpp(lambda name: module).device == "vulkan"


def test_llama_that_fails_to_load() -> None:
    def broken(name: str) -> Any:
        raise OSError("libcudart.so.12: cannot open shared object file")

    status = probe_llama_cpp(broken)
    assert (status.available, status.device) == (False, "none")
    assert status.reason == "llama-cpp-python failed to load: libcudart.so.12: cannot open shared object file"


def test_mlx_check_outcomes() -> None:
    def check(out: str | None, apple: bool = True) -> BackendStatus:
        return probe_mlx(lambda argv: out, apple)

    assert check(None).reason == "the MLX check crashed or timed out"
    assert check("noise\nDRL_MLX {not json").reason == "the MLX check printed something unreadable"
    assert check('DRL_MLX {"mlx": "0.29.1", "mlx_lm_error": "ModuleNotFoundError: x"}').reason == (
        "mlx-lm is not installed (pip install mlx-lm); MLX 0.29.1 is"
    )
    broken = check('DRL_MLX {"mlx_error": "RuntimeError: [metal] bad", "mlx_lm_error": "RuntimeError: y"}')
    assert (broken.available, broken.reason) == (False, "MLX failed to load: RuntimeError: [metal] bad")
    cuda = check('DRL_MLX {"mlx": "0.29", "metal": false, "cuda": true, "mlx_lm": "0.28.0"}', apple=False)
    assert (cuda.available, cuda.device) == (True, "gpu")


def test_parsers_edge_cases() -> None:
    assert parsers.parse_vm_stat("Pages free: 10.\n") is None  # no page size header
    assert parsers.parse_meminfo("MemTotal: 1000 kB\nMemFree: 400 kB\n") == (1_024_000, 409_600)
    assert parsers.parse_meminfo("") is None
    arm = (
        "processor\t: 0\nBogoMIPS\t: 108.00\nCPU part\t: 0xd08\n\n"
        "Hardware\t: BCM2835\nModel\t\t: Raspberry Pi 4 Model B Rev 1.4\n"
    )
    assert parsers.parse_cpuinfo_model(arm) == "Raspberry Pi 4 Model B Rev 1.4"
    assert parsers.parse_cpuinfo_cores(arm) == (None, 1)
    assert parsers.parse_lscpu_model("Architecture: aarch64\nModel name: Neoverse-N1\n") == "Neoverse-N1"
    assert parsers.parse_nvidia_smi("\nbad line\nGPU, [Not Supported], 1, 2, 3\n") == []


def test_real_machine(tmp_path: Path) -> None:
    hw = probe()
    memory = psutil.virtual_memory()
    assert 0.9 * memory.total <= hw.ram_total_bytes <= 1.1 * memory.total
    assert 0 < hw.ram_available_bytes <= hw.ram_total_bytes
    assert hw.os == {"Linux": "linux", "Darwin": "macos", "Windows": "windows"}[platform.system()]
    assert hw.cpu_cores_logical == psutil.cpu_count() and hw.cpu and hw.arch
    assert hw.disk_free_bytes > 0  # the default models folder does not exist yet: its parent counts
    if hw.os == "linux" and shutil.which("nvidia-smi") is None:
        assert hw.gpus == ()
    names = [b.name for b in hw.backends]
    assert names == ["llama.cpp", "mlx"]
    llama, mlx = hw.backends
    assert isinstance(llama.available, bool)
    assert llama.available == (importlib.util.find_spec("llama_cpp") is not None)
    has_mlx = all(importlib.util.find_spec(m) is not None for m in ("mlx", "mlx_lm"))
    assert mlx.available == has_mlx, mlx.reason
    if has_mlx and sys.platform == "linux":
        assert mlx.device in ("cpu", "gpu")
    d = hw.to_dict()
    assert {"os", "arch", "cpu", "ram_total_bytes", "ram_available_bytes", "gpus", "backends"} <= d.keys()
    assert json.loads(json.dumps(d)) == d
    backends = d["backends"]
    assert isinstance(backends, dict) and set(backends) == {"llama.cpp", "mlx"}
