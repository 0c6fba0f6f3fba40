"""The Linux launcher runs `deepresearch`, installs it with pipx on first start, and adds a menu entry."""

from __future__ import annotations

import configparser
import shlex
import shutil
import subprocess
from pathlib import Path

from tests.packaging.fakes import fake_deepresearch, fake_pipx, is_executable, run_launcher

ROOT = Path(__file__).resolve().parents[2]
LAUNCHER = ROOT / "packaging" / "linux" / "deepresearch-launcher.sh"
DESKTOP = ROOT / "packaging" / "linux" / "deepresearch.desktop"


def _desktop_entry(path: Path) -> dict[str, str]:
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # keys are case-sensitive
    parser.read_string(path.read_text("utf-8"))
    assert parser.sections() == ["Desktop Entry"]
    return dict(parser["Desktop Entry"])


def _validate(path: Path) -> None:
    """desktop-file-validate where it is installed (.ci/run installs it), and our own checks always."""
    entry = _desktop_entry(path)
    assert entry["Type"] == "Application" and entry["Name"] == "DeepResearch"
    assert entry["Terminal"] == "true"  # the app is a terminal program: the desktop opens a terminal
    assert entry["Icon"] == "deepresearch" and entry["Categories"].endswith(";")
    assert shlex.split(entry["Exec"])[0].endswith("deepresearch-launcher")
    validator = shutil.which("desktop-file-validate")
    if validator:
        result = subprocess.run([validator, str(path)], capture_output=True, text=True, timeout=30)
        assert (result.returncode, result.stdout + result.stderr) == (0, "")


def test_the_desktop_entry_is_valid() -> None:
    _validate(DESKTOP)


def test_runs_the_installed_app_with_its_arguments(tmp_path: Path) -> None:
    fakes, log = tmp_path / "bin", tmp_path / "log"
    fake_deepresearch(fakes, log)
    run = run_launcher(["bash", str(LAUNCHER), "ask", "why?", "--offline"], tmp_path, fakes, log)
    assert (run.code, run.log) == (0, ["deepresearch ask why? --offline"])


def test_first_start_installs_this_checkout_with_pipx_then_runs(tmp_path: Path) -> None:
    fakes, log = tmp_path / "bin", tmp_path / "log"
    fake_pipx(fakes, log, tmp_path / "pipx-bin")
    run = run_launcher(["bash", str(LAUNCHER)], tmp_path, fakes, log)
    assert run.code == 0, run.out
    assert run.log == [f"pipx install {ROOT}", "deepresearch "]
    assert "First start: installing DeepResearch with pipx" in run.out


def test_outside_a_checkout_it_installs_the_package_from_pypi(tmp_path: Path) -> None:
    copy = tmp_path / "elsewhere" / "deepresearch-launcher.sh"
    copy.parent.mkdir()
    shutil.copy(LAUNCHER, copy)
    fakes, log = tmp_path / "bin", tmp_path / "log"
    fake_pipx(fakes, log, tmp_path / "pipx-bin")
    run = run_launcher(["bash", str(copy)], tmp_path, fakes, log)
    assert run.log == ["pipx install deepresearch-local", "deepresearch "]


def test_the_install_source_can_be_chosen(tmp_path: Path) -> None:
    fakes, log = tmp_path / "bin", tmp_path / "log"
    fake_pipx(fakes, log, tmp_path / "pipx-bin")
    env = {"DEEPRESEARCH_SOURCE": "/src/deepresearch-local"}
    run = run_launcher(["bash", str(LAUNCHER), "doctor"], tmp_path, fakes, log, env)
    assert run.log == ["pipx install /src/deepresearch-local", "deepresearch doctor"]


def test_without_pipx_it_says_what_to_install_and_waits(tmp_path: Path) -> None:
    fakes, log = tmp_path / "bin", tmp_path / "log"
    fakes.mkdir()
    run = run_launcher(["bash", str(LAUNCHER)], tmp_path, fakes, log)
    assert run.code == 1 and run.log == []
    assert "installing it needs pipx" in run.out and "Press Enter to close this window." in run.out


def test_a_failed_install_or_run_is_reported_with_its_status(tmp_path: Path) -> None:
    fakes, log = tmp_path / "bin", tmp_path / "log"
    fake_pipx(fakes, log, tmp_path / "pipx-bin", installs=False)
    run = run_launcher(["bash", str(LAUNCHER)], tmp_path, fakes, log)
    assert run.code == 1 and "The installation failed" in run.out
    other = tmp_path / "other"
    fake_deepresearch(other / "bin", other / "log", status=3)
    run = run_launcher(["bash", str(LAUNCHER), "ask", "q"], other, other / "bin", other / "log")
    assert run.code == 3 and "exit status 3" in run.out


def test_install_puts_a_working_menu_entry_under_local_share(tmp_path: Path) -> None:
    home = tmp_path / "my home & co"  # a space and a sed-special character in the paths
    fakes, log = home / "bin", home / "log"
    fake_pipx(fakes, log, home / "pipx-bin")
    run = run_launcher(["bash", str(LAUNCHER), "--install"], home, fakes, log)
    assert run.code == 0, run.out
    installed = home / ".local" / "bin" / "deepresearch-launcher"
    entry_file = home / ".local" / "share" / "applications" / "deepresearch.desktop"
    icon = home / ".local" / "share" / "icons" / "hicolor" / "scalable" / "apps" / "deepresearch.svg"
    assert icon.read_bytes() == (ROOT / "packaging" / "assets" / "deepresearch.svg").read_bytes()
    # The installed copy remembers this checkout as the source to install from.
    original = LAUNCHER.read_text().splitlines()
    copied = installed.read_text().splitlines()
    assert is_executable(installed) and len(copied) == len(original)
    changed = [(a, b) for a, b in zip(original, copied) if a != b]
    assert [b for _, b in changed] == [f'default_source="{ROOT}"']
    entry = _desktop_entry(entry_file)
    assert entry["Exec"] == f'"{installed}"'
    _validate(entry_file)
    # The menu entry's command works: the first start installs the checkout, then runs the app.
    run = run_launcher([entry["Exec"].strip('"'), "paths"], home, fakes, log)
    assert (run.code, run.log) == (0, [f"pipx install {ROOT}", "deepresearch paths"])
