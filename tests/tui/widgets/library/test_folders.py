"""How long ago a folder was indexed, in words; paths under the home folder written with ~."""

from __future__ import annotations

from pathlib import Path

import pytest

from deepresearch_local.tui.widgets.library.folders import ago
from deepresearch_local.tui.widgets.path_bar import short_path


def test_ago() -> None:
    now = 1_000_000.0
    assert [ago(now - s, now) for s in (0, 59, 60, 3599, 3600, 86399, 86400, 3 * 86400)] == [
        "just now",
        "just now",
        "1 min ago",
        "59 min ago",
        "1 h ago",
        "23 h ago",
        "1 day ago",
        "3 days ago",
    ]
    assert ago(None) == "never"
    assert ago(now + 30, now) == "just now"  # a clock that went back


def test_short_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "me"))
    assert short_path(tmp_path / "me" / "docs" / "a.md") == "~/docs/a.md"
    assert short_path(tmp_path / "me") == "~"
    assert short_path(tmp_path / "meet" / "x") == str(tmp_path / "meet" / "x")  # not a prefix match
