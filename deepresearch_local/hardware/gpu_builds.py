"""When a GPU is present but the installed llama.cpp build cannot use it: the commands that fix it."""

from __future__ import annotations

from deepresearch_local.hardware.probe import Hardware

LLAMA_MIN_VERSION = "0.3.16"
"""The oldest llama-cpp-python that loads Tongyi's qwen3moe GGUFs (pyproject.toml requires it too)."""

CUDA_WHEEL_INDEX = "https://abetlen.github.io/llama-cpp-python/whl/{tag}"
"""llama-cpp-python's own index of prebuilt CUDA wheels, one per CUDA 12 minor version."""

_CUDA_TAG_BY_DRIVER: dict[str, tuple[tuple[tuple[int, int], str], ...]] = {
    # The lowest driver that runs each CUDA 12 minor version (NVIDIA's release notes), newest first.
    "linux": (((550, 54), "cu124"), ((545, 23), "cu123"), ((535, 54), "cu122"), ((530, 30), "cu121")),
    "windows": (((551, 61), "cu124"), ((545, 84), "cu123"), ((536, 25), "cu122"), ((531, 14), "cu121")),
}

_REINSTALL = "pipx runpip deepresearch-local install --force-reinstall --no-cache-dir"


def cuda_wheel_tag(hw: Hardware) -> str | None:
    """The prebuilt-wheel CUDA tag (``cu124`` ...) the NVIDIA driver can run; None if unknown or too old."""
    table = _CUDA_TAG_BY_DRIVER.get(hw.os)
    drivers = [g.driver for g in hw.gpus if g.vendor == "nvidia" and g.driver]
    if table is None or not drivers:
        return None
    try:
        driver = min(tuple(int(part) for part in d.split(".")[:2]) for d in drivers)
    except ValueError:
        return None
    return next((tag for minimum, tag in table if driver >= minimum), None)


def gpu_fixes(hw: Hardware) -> tuple[str, ...]:
    """Reinstall commands when a GPU exists but the llama.cpp build cannot use it.

    For NVIDIA: first a prebuilt CUDA wheel matched to the driver (no compiler needed; with
    ``--only-binary`` pip stops at once when the index has no wheel new enough, rather than
    compiling or installing an old one), then the build from source, which always works.
    """
    llama = hw.backend("llama.cpp")
    if llama is None or not llama.available or llama.device not in ("cpu", "none"):
        return ()
    if any(g.vendor == "nvidia" for g in hw.gpus):
        build = (
            f'CMAKE_ARGS="-DGGML_CUDA=on" {_REINSTALL} --no-binary llama-cpp-python '
            f'"llama-cpp-python>={LLAMA_MIN_VERSION}"'
        )
        tag = cuda_wheel_tag(hw)
        if tag is None:
            return (build,)
        index = CUDA_WHEEL_INDEX.format(tag=tag)
        prebuilt = (
            f"{_REINSTALL} --no-deps --only-binary llama-cpp-python --extra-index-url {index} "
            f'"llama-cpp-python>={LLAMA_MIN_VERSION}"'
        )
        return (prebuilt, build)
    if hw.os == "macos" and hw.arch == "arm64":
        return (
            f'CMAKE_ARGS="-DGGML_METAL=on" {_REINSTALL} --no-binary llama-cpp-python '
            f'"llama-cpp-python>={LLAMA_MIN_VERSION}"',
        )
    return ()


def fix_label(fix: str) -> str:
    """What a command from :func:`gpu_fixes` does, in a line to print above it."""
    if "--extra-index-url" in fix:
        return (
            "A prebuilt wheel for your driver's CUDA (no compiler; pip stops with 'no matching "
            "distribution' if the index has none this new yet):"
        )
    if "-DGGML_CUDA=on" in fix:
        return "Build it with CUDA (needs the CUDA toolkit and a C++ compiler; 10 to 30 minutes):"
    return "Build it with Metal (needs the Xcode command line tools):"
