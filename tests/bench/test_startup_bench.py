"""``deepresearch bench startup``: the help's wall time and the terminal app's first paint."""

from __future__ import annotations

import importlib.util
import json
import sys

import pytest

from deepresearch_local.bench import firstpaint
from deepresearch_local.cli.main import main


def _timing(block: dict[str, object], runs: int) -> None:
    samples = block["runs"]
    assert isinstance(samples, list) and len(samples) == runs and all(s > 0 for s in samples)
    assert block["min_seconds"] == min(samples) and block["max_seconds"] == max(samples)
    assert block["min_seconds"] <= block["median_seconds"] <= block["max_seconds"]  # type: ignore[operator]


def test_startup_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "startup", "--runs", "2", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert {"python_start", "help", "tui_first_paint", "machine"} <= result.keys()
    _timing(result["python_start"], 2)
    _timing(result["help"], 2)
    assert result["help"]["command"] in (
        "deepresearch --help",
        "python -m deepresearch_local --help",
    )
    # (Whether the help is slower than a bare interpreter start is the benchmark's to show: two
    # samples on a busy machine can say either.)
    tui = result["tui_first_paint"]
    if importlib.util.find_spec("deepresearch_local.tui.app") is None:
        assert tui["available"] is False and "ModuleNotFoundError" in tui["reason"]
        return
    assert tui["available"] is True, tui
    assert tui["screen"].endswith("Screen")
    _timing(tui, 2)
    # Process start to first paint includes importing the app, measured inside the same process:
    # each run's import is shorter than that run's paint, so their median is below the longest paint.
    assert 0 < tui["in_process_import_seconds"] < tui["max_seconds"]


def test_first_paint_reports_a_missing_app(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "deepresearch_local.tui.app", None)  # importing it now fails
    assert firstpaint.main() == 0
    report = json.loads(capsys.readouterr().out)
    assert report["available"] is False
    assert report["reason"].startswith("ModuleNotFoundError: import of deepresearch_local.tui.app halted")


def test_runs_must_be_positive(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "startup", "--runs", "0"]) == 2
    assert "--runs must be at least 1" in capsys.readouterr().err
