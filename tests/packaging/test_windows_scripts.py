"""The Windows launchers (not runnable here): they run `deepresearch` and install it with pipx first."""

from __future__ import annotations

import re
import sys
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[2]
WINDOWS = ROOT / "packaging" / "windows"
PACKAGE = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["project"]["name"]
SCRIPT = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["project"]["scripts"]


def test_the_console_script_they_run_is_the_one_the_package_installs() -> None:
    assert PACKAGE == "deepresearch-local" and "deepresearch" in SCRIPT


def test_cmd_launcher() -> None:
    raw = (WINDOWS / "deepresearch.cmd").read_bytes()
    assert b"\n" not in raw.replace(b"\r\n", b"")  # CRLF throughout: cmd.exe mislabels LF-only files
    text = raw.decode("ascii")
    lines = [line.strip() for line in text.splitlines()]
    assert lines[0] == "@echo off"
    assert f'set "DEFAULT_SOURCE={PACKAGE}"' in lines
    assert 'if not defined DEEPRESEARCH_SOURCE set "DEEPRESEARCH_SOURCE=%DEFAULT_SOURCE%"' in lines
    # Run from a clone, it installs that clone: the folder two levels up, if it is this project.
    checkout = (
        'if exist "%~dp0..\\..\\pyproject.toml" if exist "%~dp0..\\..\\deepresearch_local\\__init__.py" ('
    )
    assert checkout in lines and 'for %%I in ("%~dp0..\\..") do set "DEFAULT_SOURCE=%%~fI"' in lines
    assert "where deepresearch >nul 2>nul" in lines and "deepresearch %*" in lines
    assert '%PIPX% install "%DEEPRESEARCH_SOURCE%"' in lines
    assert 'set "PATH=%USERPROFILE%\\.local\\bin;%PATH%"' in lines  # where pipx puts apps on Windows
    # Every goto has its label.
    labels = {line[1:].lower() for line in lines if line.startswith(":")}
    targets = {m.lower() for m in re.findall(r"goto (\w+)", text)}
    assert targets and targets <= labels


def test_powershell_launcher() -> None:
    text = (WINDOWS / "deepresearch.ps1").read_text("utf-8")
    assert f'$default = "{PACKAGE}"' in text and "else { $default }" in text
    assert 'Join-Path $checkout "deepresearch_local\\__init__.py"' in text
    assert "$env:DEEPRESEARCH_SOURCE" in text
    assert "Get-Command deepresearch" in text and "& deepresearch @args" in text
    assert '@("install", $source)' in text and "$env:USERPROFILE\\.local\\bin" in text
    assert text.count("{") == text.count("}") and text.count("(") == text.count(")")
