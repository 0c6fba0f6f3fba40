"""Replacing a file: the old content or the new one, never half, and no temporary file left behind."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from deepresearch_local import atomic


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


def test_write_text_creates_then_replaces(tmp_path: Path) -> None:
    target = tmp_path / "new" / "folder" / "settings.toml"
    assert atomic.write_text(target, "a = 1\n") == target
    assert target.read_text("utf-8") == "a = 1\n"
    atomic.write_text(target, "a = 2 · é\n")
    assert target.read_bytes() == "a = 2 · é\n".encode()
    assert _leftovers(target.parent) == []


def test_new_files_get_the_usual_permissions(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        path = atomic.write_bytes(tmp_path / "report.md", b"# Report\n")
    finally:
        os.umask(old)
    if os.name == "posix":
        assert stat.S_IMODE(path.stat().st_mode) == 0o644  # not mkstemp's 0600


def test_an_error_in_the_block_keeps_the_old_file(tmp_path: Path) -> None:
    target = atomic.write_text(tmp_path / "registry.json", '{"models": []}')
    with pytest.raises(RuntimeError, match="converter failed"), atomic.atomic_path(target) as tmp:
        tmp.write_text("half a fi", "utf-8")
        raise RuntimeError("converter failed")
    assert target.read_text("utf-8") == '{"models": []}'
    assert _leftovers(tmp_path) == []


def test_a_failed_rename_removes_the_temporary_file(tmp_path: Path) -> None:
    target = tmp_path / "taken"
    target.mkdir()  # a folder where the file should go: os.replace refuses
    (target / "inside").write_text("x", "utf-8")
    with pytest.raises(OSError):
        atomic.write_text(target, "content")
    assert target.is_dir() and _leftovers(tmp_path) == []


def test_temporary_names_are_unique_and_beside_the_target(tmp_path: Path) -> None:
    target = tmp_path / "page.json"
    names = {atomic.temp_path_for(target) for _ in range(50)}
    assert len(names) == 50
    assert all(n.parent == tmp_path and n.name.startswith(".page.json.") for n in names)
