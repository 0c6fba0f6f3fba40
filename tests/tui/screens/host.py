"""A bare App that shows one screen, a recorded machine, and a poll helper for Pilot tests.

The screens of the models, library, settings and first-run areas are tested on their own (the
real app adds modes, the palette and the error handler around them); the data behind them is
real: the registry, the library database and the settings file under the per-test home.
"""

from __future__ import annotations

import dataclasses
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from textual.app import App
from textual.pilot import Pilot
from textual.screen import Screen
from textual.worker import WorkerFailed

from deepresearch_local.hardware.probe import Hardware
from tests.hardware.test_probe import Recorded


class Host(App[None]):
    """Pushes the screen ``make`` builds; remembers every worker error instead of exiting."""

    def __init__(self, make: Callable[[], Screen[Any]]) -> None:
        super().__init__()
        self.make = make
        self.errors: list[BaseException] = []

    def on_mount(self) -> None:
        self.theme = "textual-dark"
        self.push_screen(self.make())

    def _handle_exception(self, error: Exception) -> None:
        if isinstance(error, WorkerFailed):  # what the app's central handler would show
            self.errors.append(error.error)
        else:
            super()._handle_exception(error)


def machine(name: str = "linux_rtx4090") -> Hardware:
    """A recorded machine, with the disk figures fixed so screens look the same everywhere."""
    hw = Recorded(name).probe(Path("/models"))
    return dataclasses.replace(hw, models_dir="/models", disk_free_bytes=500 * (1 << 30))


async def until(
    pilot: Pilot[Any], check: Callable[[], object], timeout: float = 120.0, what: str = ""
) -> None:
    """Let the app run until ``check()`` is true (fail after ``timeout`` seconds: generous, so a
    loaded machine never reaches it; it only turns a hang into a failure)."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or check}")
        await pilot.pause(0.05)


def screen_text(app: App[Any]) -> str:
    """The plain text the terminal shows now, rendered the way ``export_screenshot`` renders it."""
    import io

    from rich.console import Console

    width, height = app.size
    console = Console(width=width, height=height, file=io.StringIO(), record=True, color_system=None)
    console.print(app.screen._compositor.render_update(full=True, screen_stack=app._background_screens))
    return console.export_text()


def shows(app: App[Any], *texts: str) -> bool:
    """Whether every one of ``texts`` is on the screen, whole: tables measure their columns when
    idle, so a screenshot taken too early can catch cells cut to the width of their headers."""
    shown = screen_text(app)
    return all(text in shown for text in texts)


HF_SNAPSHOT = Path("hf") / "models--acme--Tiny-GGUF" / "snapshots" / "0123abcd"
"""Where ``in_hf_cache`` puts the tiny GGUF, below the test's folder (shown as ``~/hf/...``)."""


def in_hf_cache(gguf: Path, root: Path, monkeypatch: Any) -> Path:
    """Put ``gguf`` into a Hugging Face cache under ``root`` (HF_HUB_CACHE points there) as a scan
    would find a downloaded file; HOME is ``root`` so paths show as ``~/hf/...``."""
    snapshot = root / HF_SNAPSHOT
    snapshot.mkdir(parents=True)
    target = snapshot / "tiny-Q4_K_M.gguf"
    shutil.copyfile(gguf, target)
    monkeypatch.setenv("HF_HUB_CACHE", str(root / "hf"))
    monkeypatch.setenv("HOME", str(root))
    return target
