"""Deterministic SVG snapshots of the running app, compared with files under ``snapshots/``.

``UPDATE_SNAPSHOTS=1 pytest tests/tui`` rewrites them. Usage inside ``app.run_test(size=SIZE)``::

    await assert_snapshot(pilot, "research_idle")

Blinking cursors are stopped first; ``replace`` maps variable text (times, ids, temp paths)
to fixed text before comparing (prefer making the state fixed instead).
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from textual.pilot import Pilot
from textual.widgets import Input, TextArea

SNAPSHOTS = Path(__file__).parent / "snapshots"
SIZE = (120, 40)
"""The terminal size every snapshot is taken at."""


async def still(pilot: Pilot[Any]) -> None:
    """Stop every blinking cursor and let pending refreshes land."""
    for screen in pilot.app.screen_stack:
        for widget in screen.query(Input):
            widget.cursor_blink = False
        for area in screen.query(TextArea):
            area.cursor_blink = False
    await pilot.pause()
    await pilot.wait_for_scheduled_animations()
    await pilot.pause()


async def take(pilot: Pilot[Any], name: str, replace: Mapping[str, str] = {}) -> str:
    await still(pilot)
    svg = pilot.app.export_screenshot(title=name)
    for old, new in replace.items():
        svg = svg.replace(old, new)
    return svg


async def assert_snapshot(pilot: Pilot[Any], name: str, replace: Mapping[str, str] = {}) -> None:
    """Compare the current screen with ``snapshots/NAME.svg`` (rewrite it when UPDATE_SNAPSHOTS is set)."""
    svg = await take(pilot, name, replace)
    path = SNAPSHOTS / f"{name}.svg"
    if os.environ.get("UPDATE_SNAPSHOTS"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(svg, "utf-8")
        return
    if not path.exists():
        raise AssertionError(f"No snapshot {path.name} yet: run with UPDATE_SNAPSHOTS=1 and review it.")
    expected = path.read_text("utf-8")
    if svg != expected:
        diff = "".join(
            list(
                difflib.unified_diff(
                    expected.splitlines(True), svg.splitlines(True), "expected", "actual", n=1
                )
            )[:60]
        )
        (SNAPSHOTS / f"{name}.actual.svg").write_text(svg, "utf-8")
        raise AssertionError(f"{name}: the screen differs from {path.name} (actual saved next to it)\n{diff}")
