"""Pure parsers for the text that system tools print (no I/O here, so tests replay recordings)."""

from __future__ import annotations

import json
import re
from typing import Literal, NamedTuple

MIB = 1024 * 1024
GIB = 1024 * MIB

APPLE_SMALL_RAM_LIMIT = 36 * GIB
"""At or below this much RAM macOS lets Metal wire about 2/3 of it for the GPU; above it about 3/4."""


class SmiRow(NamedTuple):
    """One GPU line of ``nvidia-smi --query-gpu=... --format=csv,noheader,nounits``."""

    name: str
    memory_total_bytes: int
    memory_free_bytes: int | None
    driver: str | None
    compute_capability: str | None


def to_int(text: str | None) -> int | None:
    """``"34359738368\\n"`` -> 34359738368; anything else -> None."""
    if text is None:
        return None
    try:
        return int(text.strip())
    except ValueError:
        return None


def _field(value: str) -> str | None:
    value = value.strip()
    if not value or (value.startswith("[") and value.endswith("]")) or value.upper() in {"N/A", "NA"}:
        return None
    return value


def parse_nvidia_smi(text: str) -> list[SmiRow]:
    """Parse the CSV (MiB, no header, no units); ``[N/A]`` fields become None."""
    rows: list[SmiRow] = []
    for line in text.splitlines():
        if not line.strip():
            continue
        parts = [p.strip() for p in line.split(",")]
        if len(parts) < 2:
            continue
        parts += [""] * (5 - len(parts))
        total = to_int(_field(parts[1]))
        if total is None:
            continue
        free = to_int(_field(parts[2]))
        rows.append(
            SmiRow(
                name=parts[0],
                memory_total_bytes=total * MIB,
                memory_free_bytes=None if free is None else free * MIB,
                driver=_field(parts[3]),
                compute_capability=_field(parts[4]),
            )
        )
    return rows


def _key_values(text: str, sep: str = ":") -> list[tuple[str, str]]:
    pairs = []
    for line in text.splitlines():
        key, found, value = line.partition(sep)
        if found:
            pairs.append((key.strip(), value.strip()))
    return pairs


def parse_cpuinfo_model(text: str) -> str | None:
    """The CPU model from ``/proc/cpuinfo``: ``model name`` on x86, ``Model``/``Hardware`` on ARM boards."""
    found: dict[str, str] = {}
    for key, value in _key_values(text):
        found.setdefault(key.lower(), value)
    for key in ("model name", "cpu model", "model", "hardware"):
        name = found.get(key)
        if name and not name.isdigit():
            return name
    return None


def parse_cpuinfo_cores(text: str) -> tuple[int | None, int | None]:
    """(physical, logical) core counts from ``/proc/cpuinfo``; None where it does not say.

    Logical: one ``processor`` block each. Physical: distinct (``physical id``, ``core id``) pairs.
    """
    blocks = [dict(_key_values(block)) for block in re.split(r"\n\s*\n", text) if block.strip()]
    blocks = [b for b in blocks if "processor" in b]
    cores = {(b["physical id"], b["core id"]) for b in blocks if "physical id" in b and "core id" in b}
    return (len(cores) or None, len(blocks) or None)


def parse_lscpu_model(text: str) -> str | None:
    """``Model name:`` from ``lscpu`` (the only readable name on many ARM Linux machines)."""
    for key, value in _key_values(text):
        if key.lower() == "model name" and value and value != "-":
            return value
    return None


def parse_meminfo(text: str) -> tuple[int, int] | None:
    """(MemTotal, MemAvailable) in bytes from ``/proc/meminfo`` (kB values); MemFree if no MemAvailable."""
    values: dict[str, int] = {}
    for key, value in _key_values(text):
        number = to_int(value.split()[0]) if value else None
        if number is not None:
            values[key] = number * 1024
    total = values.get("MemTotal")
    if total is None:
        return None
    available = values.get("MemAvailable", values.get("MemFree", 0))
    return total, available


def parse_os_release(text: str) -> str | None:
    """``PRETTY_NAME`` from ``/etc/os-release``."""
    for key, value in _key_values(text, sep="="):
        if key == "PRETTY_NAME":
            return value.strip().strip('"').strip("'") or None
    return None


_PAGE_SIZE = re.compile(r"page size of (\d+) bytes")
_VM_AVAILABLE = ("Pages free", "Pages inactive", "Pages speculative", "Pages purgeable")


def parse_vm_stat(text: str) -> int | None:
    """Memory macOS can hand out without swapping: (free + inactive + speculative + purgeable) pages.

    The page size comes from the header (``page size of 16384 bytes`` on Apple Silicon).
    """
    match = _PAGE_SIZE.search(text)
    if match is None:
        return None
    page_size = int(match.group(1))
    values = {key: value.rstrip(".") for key, value in _key_values(text)}
    pages = [to_int(values.get(key)) for key in _VM_AVAILABLE]
    if pages[0] is None:
        return None
    return sum(p or 0 for p in pages) * page_size


GpuLimitSource = Literal["raised", "metal", "estimate"]
"""Where a Mac's GPU memory limit came from: a raised ``iogpu.wired_limit_mb``, Metal's
``recommendedMaxWorkingSetSize``, or our estimate from the RAM size."""

OS_RESERVE_BYTES = 4 * GIB
"""RAM left to macOS and the apps on a unified-memory machine (at least; a fifth of RAM on big Macs)."""


def os_reserve_bytes(ram_total_bytes: int) -> int:
    """RAM a model never gets on a Mac: at least 4 GiB, a fifth of RAM above 20 GiB."""
    return max(OS_RESERVE_BYTES, ram_total_bytes // 5)


def apple_gpu_limit(
    ram_total_bytes: int, wired_limit_bytes: int | None = None, working_set_bytes: int | None = None
) -> tuple[int, GpuLimitSource]:
    """How much of a Mac's unified memory Metal may use for the GPU, and where that figure came from.

    A raised limit wins (``sudo sysctl iogpu.wired_limit_mb=N`` on macOS 14+, ``debug.iogpu.wired_limit``
    in bytes before; it lasts until reboot), then the working set the Metal device reports
    (``recommendedMaxWorkingSetSize``), then the estimate: about 2/3 of RAM on machines with 36 GB
    or less and about 3/4 above. Zero or missing values fall through to the next.
    """
    if wired_limit_bytes and wired_limit_bytes > 0:
        return wired_limit_bytes, "raised"
    if working_set_bytes and working_set_bytes > 0:
        return working_set_bytes, "metal"
    if ram_total_bytes <= APPLE_SMALL_RAM_LIMIT:
        return ram_total_bytes * 2 // 3, "estimate"
    return ram_total_bytes * 3 // 4, "estimate"


def apple_gpu_share(
    ram_total_bytes: int, wired_limit_bytes: int | None = None, working_set_bytes: int | None = None
) -> int:
    """The bytes of :func:`apple_gpu_limit`."""
    return apple_gpu_limit(ram_total_bytes, wired_limit_bytes, working_set_bytes)[0]


# Backend names in llama.cpp's system info / ggml registry -> our device names, best first.
_LLAMA_DEVICES = (
    ("cuda", "cuda"),
    ("cublas", "cuda"),
    ("metal", "metal"),
    ("rocm", "rocm"),
    ("hip", "rocm"),
    ("hipblas", "rocm"),
    ("vulkan", "vulkan"),
    ("sycl", "sycl"),
    ("musa", "gpu"),
    ("cann", "gpu"),
    ("opencl", "gpu"),
    ("kompute", "gpu"),
)


def llama_backend_names(system_info: str) -> list[str]:
    """Backends named in ``llama_print_system_info()``, lower-cased.

    New builds list ``NAME : FEATURE = 1 | ...`` per registered backend (``CUDA : ARCHS = 890 |
    ... | CPU : AVX2 = 1 | ...``); old ones had flat flags such as ``METAL = 1`` or ``CUBLAS = 1``.
    """
    names: list[str] = []
    for segment in system_info.split("|"):
        segment = segment.strip()
        head, colon, _ = segment.partition(" : ")
        if colon:
            names.append(head.strip().lower())
            continue
        flag, eq, value = segment.partition("=")
        if eq and value.strip() == "1":
            names.append(flag.strip().lower())
    return names


def llama_device(backend_names: list[str], supports_gpu_offload: bool) -> str:
    """Pick the device a llama.cpp build offloads to (``cpu`` when it cannot offload)."""
    if not supports_gpu_offload:
        return "cpu"
    lowered = {name.lower() for name in backend_names}
    for key, device in _LLAMA_DEVICES:
        if key in lowered:
            return device
    return "gpu"


DEVICE_LABELS = {"cuda": "CUDA", "metal": "Metal", "rocm": "ROCm/HIP", "vulkan": "Vulkan", "sycl": "SYCL"}


def llama_reason(version: str | None, device: str) -> str:
    """The human sentence for an importable llama-cpp-python build."""
    label = f"llama-cpp-python {version}" if version else "llama-cpp-python"
    if device == "cpu":
        return f"{label} is a CPU-only build (no GPU offload compiled in)"
    return f"{label} offloads layers to the GPU via {DEVICE_LABELS.get(device, 'a GPU backend')}"


MLX_CHECK = """\
import json
r = {}
try:
    import mlx.core as mx
    r["mlx"] = getattr(mx, "__version__", None)
    r["metal"] = bool(mx.metal.is_available())
    cuda = getattr(mx, "cuda", None)
    r["cuda"] = bool(cuda.is_available()) if cuda is not None else False
except Exception as e:
    r["mlx_error"] = type(e).__name__ + ": " + str(e)
try:
    import importlib.metadata as md
    import mlx_lm
    r["mlx_lm"] = getattr(mlx_lm, "__version__", None) or md.version("mlx-lm")
except Exception as e:
    r["mlx_lm_error"] = type(e).__name__ + ": " + str(e)
print("DRL_MLX " + json.dumps(r))
"""
"""Python source run with ``python -c``; prints one ``DRL_MLX {json}`` line."""


def mlx_check_result(out: str | None, apple_silicon: bool) -> tuple[bool, str, str | None, str]:
    """(available, device, mlx-lm version, reason) from the output of :data:`MLX_CHECK`."""
    line = next((ln for ln in (out or "").splitlines()[::-1] if ln.startswith("DRL_MLX ")), None)
    if line is None:
        return False, "none", None, "the MLX check crashed or timed out"
    try:
        r = json.loads(line.removeprefix("DRL_MLX "))
    except ValueError:
        return False, "none", None, "the MLX check printed something unreadable"
    hint = "pip install mlx-lm" if apple_silicon else "only useful on Apple Silicon: pip install mlx-lm"
    mlx_error, lm_error = r.get("mlx_error"), r.get("mlx_lm_error")
    if mlx_error and mlx_error.startswith("ModuleNotFoundError") and lm_error:
        return False, "none", None, f"mlx-lm is not installed ({hint})"
    if mlx_error:
        return False, "none", None, f"MLX failed to load: {mlx_error}"
    if lm_error:
        return False, "none", None, f"mlx-lm is not installed ({hint}); MLX {r.get('mlx')} is"
    lm = r.get("mlx_lm")
    if r.get("metal"):
        return True, "gpu", lm, f"mlx-lm {lm} runs on the Apple GPU (Metal)"
    if r.get("cuda"):
        return True, "gpu", lm, f"mlx-lm {lm} runs on the NVIDIA GPU (MLX CUDA build)"
    return True, "cpu", lm, f"mlx-lm {lm} runs on the CPU only (no Metal or CUDA here)"
