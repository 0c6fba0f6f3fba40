"""build_app.sh makes a DeepResearch.app with the right layout and Info.plist; its launchers work."""

from __future__ import annotations

import plistlib
import shutil
import subprocess
from pathlib import Path

import pytest

from deepresearch_local import __version__
from tests.packaging.fakes import (
    fake_deepresearch,
    fake_pipx,
    is_executable,
    run_launcher,
    system_tools,
    write_program,
)

ROOT = Path(__file__).resolve().parents[2]
BUILD = ROOT / "packaging" / "macos" / "build_app.sh"
COMMAND = ROOT / "packaging" / "macos" / "DeepResearch.command"


def _build(tmp_path: Path, *args: str) -> Path:
    out = subprocess.run(
        ["bash", str(BUILD), "--out", str(tmp_path / "out"), *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": str(system_tools(tmp_path / ".tools")), "HOME": str(tmp_path)},
    )
    assert out.returncode == 0, out.stderr
    assert f"deepresearch-local {__version__}" in out.stdout
    return tmp_path / "out" / "DeepResearch.app"


@pytest.fixture
def wheel(tmp_path: Path) -> Path:
    path = tmp_path / f"deepresearch_local-{__version__}-py3-none-any.whl"
    path.write_bytes(b"PK\x05\x06" + b"\0" * 18)  # an empty zip stands in for the real wheel
    return path


def test_bundle_layout_and_info_plist(tmp_path: Path, wheel: Path) -> None:
    app = _build(tmp_path, "--wheel", str(wheel))
    contents = app / "Contents"
    files = sorted(p.relative_to(app).as_posix() for p in app.rglob("*") if p.is_file())
    assert files == [
        "Contents/Info.plist",
        "Contents/MacOS/DeepResearch",
        "Contents/PkgInfo",
        "Contents/Resources/DeepResearch.command",
        f"Contents/Resources/wheels/{wheel.name}",
    ]
    with (contents / "Info.plist").open("rb") as fh:
        info = plistlib.load(fh)
    assert info["CFBundleExecutable"] == "DeepResearch" and is_executable(contents / "MacOS" / "DeepResearch")
    assert info["CFBundlePackageType"] == "APPL" and (contents / "PkgInfo").read_text() == "APPL????"
    assert info["CFBundleIdentifier"] == "io.github.deepresearch-local.DeepResearch"
    assert info["CFBundleName"] == info["CFBundleDisplayName"] == "DeepResearch"
    assert info["CFBundleShortVersionString"] == info["CFBundleVersion"] == __version__
    assert info["CFBundleInfoDictionaryVersion"] == "6.0" and info["LSMinimumSystemVersion"] == "11.0"
    assert info["NSHighResolutionCapable"] is True
    launcher = contents / "Resources" / "DeepResearch.command"
    assert is_executable(launcher) and launcher.read_bytes() == COMMAND.read_bytes()
    assert (contents / "Resources" / "wheels" / wheel.name).read_bytes() == wheel.read_bytes()


def test_without_a_wheel_the_bundle_installs_from_the_source(tmp_path: Path) -> None:
    app = _build(tmp_path, "--no-wheel")
    assert not (app / "Contents" / "Resources" / "wheels").exists()
    assert is_executable(app / "Contents" / "Resources" / "DeepResearch.command")


def test_a_missing_wheel_fails_the_build(tmp_path: Path) -> None:
    out = subprocess.run(
        ["bash", str(BUILD), "--out", str(tmp_path), "--wheel", str(tmp_path / "nope.whl")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 1 and "no such wheel" in out.stderr


def test_double_click_opens_terminal_on_the_bundled_launcher(tmp_path: Path, wheel: Path) -> None:
    app = _build(tmp_path, "--wheel", str(wheel))
    fakes, log = tmp_path / "bin", tmp_path / "log"
    write_program(fakes / "open", f'echo "open $*" >> {log}\n')
    run = run_launcher([str(app / "Contents" / "MacOS" / "DeepResearch")], tmp_path, fakes, log)
    resources = (app / "Contents" / "Resources").resolve()
    assert (run.code, run.log) == (0, [f"open -a Terminal {resources}/DeepResearch.command"])


def test_first_launch_installs_the_bundled_wheel_with_pipx(tmp_path: Path, wheel: Path) -> None:
    app = _build(tmp_path, "--wheel", str(wheel))
    fakes, log = tmp_path / "bin", tmp_path / "log"
    fake_pipx(fakes, log, tmp_path / "pipx-bin")
    launcher = app / "Contents" / "Resources" / "DeepResearch.command"
    run = run_launcher([str(launcher)], tmp_path, fakes, log)
    bundled = (app / "Contents" / "Resources" / "wheels" / wheel.name).resolve()
    assert run.code == 0, run.out
    assert run.log == [f"pipx install {bundled}", "deepresearch "]
    # Once installed, later launches just run it.
    fake_deepresearch(fakes, log)
    again = run_launcher([str(launcher), "doctor"], tmp_path, fakes, log)
    assert again.log[2:] == ["deepresearch doctor"]


def test_the_standalone_command_file_installs_its_checkout_or_the_chosen_source(tmp_path: Path) -> None:
    fakes, log = tmp_path / "bin", tmp_path / "log"
    fake_pipx(fakes, log, tmp_path / "pipx-bin")
    run = run_launcher(["bash", str(COMMAND)], tmp_path, fakes, log)
    assert run.log == [f"pipx install {ROOT}", "deepresearch "]
    log.unlink()
    (tmp_path / "pipx-bin" / "deepresearch").unlink()
    run = run_launcher(["bash", str(COMMAND)], tmp_path, fakes, log, {"DEEPRESEARCH_SOURCE": "git+file:///x"})
    assert run.log == ["pipx install git+file:///x", "deepresearch "]


def test_outside_a_checkout_and_a_bundle_it_installs_from_pypi(tmp_path: Path) -> None:
    copy = tmp_path / "Downloads" / "DeepResearch.command"
    copy.parent.mkdir()
    shutil.copy(COMMAND, copy)
    fakes, log = tmp_path / "bin", tmp_path / "log"
    fake_pipx(fakes, log, tmp_path / "pipx-bin")
    run = run_launcher(["bash", str(copy)], tmp_path, fakes, log)
    assert run.log == ["pipx install deepresearch-local", "deepresearch "]


def test_without_pipx_the_command_file_explains_and_waits(tmp_path: Path) -> None:
    # The launcher also looks where Homebrew puts programs; a real pipx there would be used.
    assert not [d for d in ("/opt/homebrew/bin", "/usr/local/bin") if Path(d, "pipx").exists()]
    fakes, log = tmp_path / "bin", tmp_path / "log"
    fakes.mkdir()
    run = run_launcher(["bash", str(COMMAND)], tmp_path, fakes, log)
    assert run.code == 1 and "brew install pipx" in run.out and "Press Return" in run.out
