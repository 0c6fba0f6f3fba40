"""GPU builds of llama-cpp-python: the prebuilt CUDA wheel matched to the driver, the source builds,
and what `doctor` prints (recorded machines, real probe code)."""

from __future__ import annotations

import argparse
import dataclasses
import re
import sys
from pathlib import Path

import pytest

from deepresearch_local.cli import doctor
from deepresearch_local.hardware.gpu_builds import LLAMA_MIN_VERSION, cuda_wheel_tag, gpu_fixes
from deepresearch_local.hardware.probe import Gpu, Hardware
from tests.hardware.test_probe import Recorded
from tests.weights.test_recommend import _cpu_only_build

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[2]
INDEX = "https://abetlen.github.io/llama-cpp-python/whl/"


def _with_driver(hw: Hardware, driver: str | None, os_name: str = "linux") -> Hardware:
    gpus = tuple(dataclasses.replace(g, driver=driver) for g in hw.gpus)
    return dataclasses.replace(hw, gpus=gpus, os=os_name)


@pytest.fixture
def rtx_cpu_build(tmp_path: Path) -> Hardware:
    return _cpu_only_build(Recorded("linux_rtx4090")).probe(tmp_path)


def test_the_minimum_version_is_the_one_pyproject_requires() -> None:
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["project"]["dependencies"]
    llama = [d for d in deps if d.startswith("llama-cpp-python")]
    assert llama and all(f">={LLAMA_MIN_VERSION}" in d for d in llama)


@pytest.mark.parametrize(
    ("os_name", "driver", "tag"),
    [
        ("linux", "550.107.02", "cu124"),  # the recorded RTX 4090
        ("linux", "550.54.14", "cu124"),
        ("linux", "550.40.07", "cu123"),
        ("linux", "535.183.01", "cu122"),
        ("linux", "530.30.02", "cu121"),
        ("linux", "525.147.05", None),  # older than any CUDA 12.1+ wheel
        ("windows", "551.61", "cu124"),
        ("windows", "546.33", "cu123"),
        ("windows", "537.58", "cu122"),
        ("windows", "531.14", "cu121"),
        ("windows", "528.89", None),
        ("linux", None, None),
        ("linux", "unknown", None),
    ],
)
def test_cuda_wheel_tag_follows_the_driver(
    rtx_cpu_build: Hardware, os_name: str, driver: str | None, tag: str | None
) -> None:
    assert cuda_wheel_tag(_with_driver(rtx_cpu_build, driver, os_name)) == tag


def test_nvidia_with_a_cpu_build_gets_a_prebuilt_wheel_then_a_build(rtx_cpu_build: Hardware) -> None:
    prebuilt, build = gpu_fixes(rtx_cpu_build)
    spec = f'"llama-cpp-python>={LLAMA_MIN_VERSION}"'
    assert prebuilt == (
        "pipx runpip deepresearch-local install --force-reinstall --no-cache-dir --no-deps "
        f"--only-binary llama-cpp-python --extra-index-url {INDEX}cu124 {spec}"
    )
    assert build == (
        'CMAKE_ARGS="-DGGML_CUDA=on" pipx runpip deepresearch-local install --force-reinstall '
        f"--no-cache-dir --no-binary llama-cpp-python {spec}"
    )


def test_an_old_or_unknown_driver_gets_only_the_source_build(rtx_cpu_build: Hardware) -> None:
    fixes = gpu_fixes(_with_driver(rtx_cpu_build, "470.256.02"))
    assert len(fixes) == 1 and "-DGGML_CUDA=on" in fixes[0] and "--extra-index-url" not in fixes[0]


def test_no_fix_without_a_gpu_or_with_a_gpu_build(tmp_path: Path, rtx_cpu_build: Hardware) -> None:
    assert gpu_fixes(Recorded("linux_rtx4090").probe(tmp_path)) == ()  # CUDA build already
    assert gpu_fixes(dataclasses.replace(rtx_cpu_build, gpus=())) == ()
    amd = Gpu("amd", "Radeon", 16 << 30, None, None, None)
    assert gpu_fixes(dataclasses.replace(rtx_cpu_build, gpus=(amd,))) == ()


def test_doctor_prints_both_commands_with_what_each_needs(
    rtx_cpu_build: Hardware, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(doctor, "probe", lambda *a, **k: rtx_cpu_build)
    assert doctor.run(argparse.Namespace(json=False)) == 0
    out = capsys.readouterr().out
    tail = out[out.index("To use your GPU") :].splitlines()
    prebuilt, build = gpu_fixes(rtx_cpu_build)
    assert tail[0] == "To use your GPU, reinstall llama-cpp-python with GPU support (README: GPU builds)."
    assert tail[1].startswith("A prebuilt wheel for your driver's CUDA (no compiler;")
    assert tail[2] == f"  {prebuilt}"
    assert tail[3].startswith("If that fails, build it with CUDA (needs the CUDA toolkit")
    assert tail[4] == f"  {build}"
    assert len(tail) == 5


def test_doctor_json_lists_the_same_commands(
    rtx_cpu_build: Hardware, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    monkeypatch.setattr(doctor, "probe", lambda *a, **k: rtx_cpu_build)
    assert doctor.run(argparse.Namespace(json=True)) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["recommended"]["fixes"] == list(gpu_fixes(rtx_cpu_build))


def test_the_readme_shows_the_commands_doctor_prints(rtx_cpu_build: Hardware, tmp_path: Path) -> None:
    """The README's GPU section carries the same index, flags and minimum version."""
    readme = (ROOT / "README.md").read_text("utf-8")
    section = readme[readme.index("## GPU builds") :]
    section = section[: section.index("\n## ", 3)]
    assert f"{INDEX}cu124" in section and f'"llama-cpp-python>={LLAMA_MIN_VERSION}"' in section
    for flag in ("--only-binary llama-cpp-python", "-DGGML_CUDA=on", "-DGGML_METAL=on", "--no-binary"):
        assert flag in section, flag
    mac = gpu_fixes(_cpu_only_build(Recorded("mac_m2max")).probe(tmp_path))
    for command in (*gpu_fixes(rtx_cpu_build), *mac):
        assert re.sub(r"\s+", " ", command) in re.sub(r"\s*\\\n\s*", " ", section), command
